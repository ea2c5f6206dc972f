import postgres from 'postgres';

/** The PostgreSQL the benchmarks create their databases on: `BENCH_PG_URL`, `EASEL_TEST_PG_URL` or the tests'. */
export const PG_ADMIN_URL =
  process.env.BENCH_PG_URL ?? process.env.EASEL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A new empty database `easel_bench_<uuid>` on `adminUrl`: its URL, and `drop` (forced) for the end.
 * @example const scratch = await scratchDatabase(); try { … scratch.url … } finally { await scratch.drop(); }
 */
export async function scratchDatabase(
  adminUrl = PG_ADMIN_URL,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `easel_bench_${crypto.randomUUID().replaceAll('-', '')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
