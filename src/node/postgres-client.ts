import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Database } from '../db/types.ts';
import { postgresNotifier } from './pg-notify.ts';
import { guardTransactions } from './postgres-transactions.ts';

/**
 * Connects to PostgreSQL through the `postgres` driver, with JIT off and `application_name` `easel` unless
 * the URL says otherwise.
 * @example const database = openPostgres('postgres://127.0.0.1:5432/easel');
 */
export function openPostgres(
  url: string,
  options: {
    max?: number;
    /** Sees every statement sent, with its connection's id (benchmarks count them). */
    onQuery?: (connection: number, text: string) => void;
  } = {},
): Database {
  const onQuery = options.onQuery;
  const client = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // Every statement of Easel is a short OLTP one. JIT compiles whenever a plan's estimated cost passes
    // `jit_above_cost`, which an estimate off by orders of magnitude reaches with tiny tables (the channel
    // log's append over `jsonb_to_recordset`, estimated at 100 rows per call, once cost 71 ms of JIT for a
    // 3 ms statement). The URL's own parameters (`?jit=on`) still win: postgres.js applies them after these.
    connection: { jit: 'off', application_name: 'easel' },
    ...(onQuery ? { debug: (connection: number, text: string) => onQuery(connection, text) } : {}),
  });
  // Transactions stop at a lost connection instead of poisoning it (see guardTransactions).
  const db = drizzle({ client: guardTransactions(client) });
  return {
    db,
    driver: 'postgres',
    notifier: postgresNotifier(client),
    close: () => client.end({ timeout: 5 }),
  };
}
