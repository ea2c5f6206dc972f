import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getConnInfo } from '@hono/node-server/conninfo';
import { systemClock } from '../clock.ts';
import { migrate } from '../db/migrate.ts';
import { openPglite } from '../db/pglite.ts';
import type { Database } from '../db/types.ts';
import { type AppDeps, contextFromDeps } from '../deps.ts';
import type { Env } from '../env.ts';
import { noopPublisher } from '../events/noop.ts';
import { HttpMetrics } from '../http/metrics.ts';
import type { Logger } from '../logger.ts';
import { IdleProcessor } from '../scheduler/idle.ts';
import { bootstrapAdmin } from '../services/auth/bootstrap-admin.ts';
import { LoginRateLimiter } from '../services/auth/login-rate-limiter.ts';
import { pbkdf2Hasher } from '../services/auth/passwords.ts';
import { hs256Tokens } from '../services/auth/tokens.ts';
import { readMigrationsFromDir } from './migrations-fs.ts';
import { readModelCatalog } from './model-catalog.ts';
import { openPostgres } from './postgres-client.ts';
import { loadJwtSecret } from './secret.ts';

const projectRoot = new URL('../../', import.meta.url).pathname;

/**
 * Opens the database (PostgreSQL when `DATABASE_URL` is set, else PGlite under `DATA_DIR/db`), applies the
 * migrations, loads the JWT secret, bootstraps the admin from the environment, and builds the app's deps.
 */
export async function buildNodeDeps(
  env: Env,
  logger: Logger,
): Promise<{ deps: AppDeps; database: Database }> {
  await mkdir(env.DATA_DIR, { recursive: true });
  const database = env.DATABASE_URL
    ? openPostgres(env.DATABASE_URL)
    : await openPglite(join(env.DATA_DIR, 'db'));
  const applied = await migrate(database.db, await readMigrationsFromDir(join(projectRoot, 'drizzle')));
  logger.info('database ready', { driver: database.driver, migrations_applied: applied });
  const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  const secret = await loadJwtSecret(env.DATA_DIR, env.JWT_SECRET);
  const clock = systemClock;
  const deps: AppDeps = {
    config: {
      version: pkg.version,
      authMode: env.AUTH_MODE,
      corsOrigins: env.CORS_ORIGINS ?? [],
      userMaxPending: env.USER_MAX_PENDING,
      queue: { fairness: env.QUEUE_FAIRNESS, maxSize: env.QUEUE_MAX_SIZE },
    },
    db: database.db,
    clock,
    logger,
    passwords: pbkdf2Hasher(),
    tokens: hs256Tokens(new TextEncoder().encode(secret), clock),
    loginLimiter: new LoginRateLimiter(clock),
    metrics: new HttpMetrics(),
    events: noopPublisher,
    processor: new IdleProcessor(),
    models: await readModelCatalog(env.MODELS_DIR, logger),
    readiness: () => ({ ready: true, checks: { database: true } }),
    clientAddress: (c) => getConnInfo(c).remote.address,
  };
  if (env.ADMIN_EMAIL && env.ADMIN_PASSWORD) {
    const admin = await bootstrapAdmin({
      ctx: contextFromDeps(deps, 'startup', null),
      input: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD },
    });
    if (admin) {
      logger.info('admin created from ADMIN_EMAIL', { user_id: admin.user_id, email: admin.email });
    }
  }
  return { deps, database };
}
