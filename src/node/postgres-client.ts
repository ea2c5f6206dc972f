import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Database } from '../db/types.ts';
import { postgresNotifier } from './pg-notify.ts';
import { guardTransactions } from './postgres-transactions.ts';

/**
 * Connects to PostgreSQL through the `postgres` driver.
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
