import { readFile } from 'node:fs/promises';
import type postgres from 'postgres';

/**
 * CPU time (ms) of one database's PostgreSQL backends by pid, from /proc/<pid>/stat (utime + stime, in
 * clock ticks of 10 ms): the server runs on this machine. A backend gone or unreadable is not counted.
 * @example const before = await backendCpu(admin, name); …; const ms = cpuSince(before, await backendCpu(admin, name));
 */
export async function backendCpu(admin: postgres.Sql, database: string): Promise<Map<number, number>> {
  const rows = await admin<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = ${database}`;
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // Gone meanwhile, or not readable: not counted.
    }
  }
  return out;
}

/** The backends' CPU (ms) between two `backendCpu` readings. */
export function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, now] of after) {
    ms += now - (before.get(pid) ?? 0);
  }
  return ms;
}
