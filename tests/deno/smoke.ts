// Deno smoke test (STYLE.md rule 8): boots the portable core under Deno and checks a few requests through
// `app.request`. Run from the repository root (npm packages come from the project's node_modules):
//   deno run --node-modules-dir=manual --allow-read --allow-env tests/deno/smoke.ts
// Prints `deno smoke: N checks passed`, or exits 1 naming the first failed check. tests/unit/deno.test.ts runs it.
import { createApp } from '../../src/app.ts';
import { ChannelHub } from '../../src/channels/hub.ts';
import { sharedTicketStore } from '../../src/channels/shared-tickets.ts';
import { systemClock } from '../../src/core/clock.ts';
import { createJsonLogger } from '../../src/core/logger.ts';
import { migrate, readMigrations } from '../../src/db/migrate.ts';
import { openPglite } from '../../src/db/pglite.ts';
import type { AppDeps } from '../../src/deps.ts';
import { HttpMetrics } from '../../src/http/metrics.ts';
import { readableSinks } from '../../src/http/readable-sink.ts';
import { MemoryBlobStore } from '../../src/images/memory-blob-store.ts';
import { unavailableCodec } from '../../src/images/unavailable-codec.ts';
import { createUrlSigner } from '../../src/images/url-signer.ts';
import { staticCatalog } from '../../src/models/catalog.ts';
import { LoginRateLimiter } from '../../src/services/auth/login-rate-limiter.ts';
import { pbkdf2Hasher } from '../../src/services/auth/passwords.ts';
import { hs256Tokens } from '../../src/services/auth/tokens.ts';
import { IdleWorkers } from '../../src/worker/idle.ts';

const SECRET = 'deno-smoke-secret-deno-smoke-secret-0123456789';
const EMAIL = 'admin@example.com';
const PASSWORD = 'correct horse battery';

let passed = 0;
function check(name: string, ok: boolean, detail: unknown) {
  if (!ok) {
    console.error(
      `deno smoke: FAILED ${name}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`,
    );
    Deno.exit(1);
  }
  passed++;
}

const drizzleDir = new URL('../../drizzle/', import.meta.url);
const database = await openPglite();
const applied = await migrate(
  database.db,
  await readMigrations((p) => Deno.readTextFile(new URL(p, drizzleDir))),
);
check('migrations applied', applied.length > 0, applied);

const logger = createJsonLogger({ level: 'error' });
const channels = new ChannelHub({ clock: systemClock, logger, loadQueueStatus: async () => ({}) });
const deps: AppDeps = {
  config: {
    version: '0.0.0-deno-smoke',
    authMode: 'multiuser',
    corsOrigins: [],
    userMaxPending: 1000,
    queue: { fairness: 'round_robin', maxSize: 10_000 },
  },
  db: database.db,
  clock: systemClock,
  logger,
  passwords: pbkdf2Hasher(),
  tokens: hs256Tokens(new TextEncoder().encode(SECRET), systemClock),
  loginLimiter: new LoginRateLimiter(systemClock),
  metrics: new HttpMetrics(),
  channels,
  streamSinks: readableSinks,
  tickets: sharedTicketStore(database.db, systemClock),
  images: unavailableCodec,
  blobs: new MemoryBlobStore(),
  urlSigner: createUrlSigner(new TextEncoder().encode(SECRET)),
  workers: new IdleWorkers({ db: database.db, clock: systemClock }),
  models: staticCatalog([]),
  readiness: () => ({ ready: true, checks: { database: true } }),
  clientAddress: () => 'deno-smoke',
};
const app = createApp(deps);

async function call(method: string, path: string, o: { json?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {};
  if (o.json !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (o.token) {
    headers.Authorization = `Bearer ${o.token}`;
  }
  const res = await app.request(path, {
    method,
    headers,
    body: o.json === undefined ? undefined : JSON.stringify(o.json),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.status, body: body as Record<string, unknown> };
}

const health = await call('GET', '/health');
check('GET /health status', health.status === 200, health);
check('GET /health body', health.body.status === 'ok', health.body);

const setup = await call('POST', '/api/v1/auth/setup', { json: { email: EMAIL, password: PASSWORD } });
check('POST /auth/setup status', setup.status === 201, setup);
check('POST /auth/setup token', typeof setup.body.token === 'string', setup.body);

const login = await call('POST', '/api/v1/auth/login', { json: { email: EMAIL, password: PASSWORD } });
check('POST /auth/login status', login.status === 200, login);
const token = login.body.token;
check('POST /auth/login token', typeof token === 'string', login.body);

const me = await call('GET', '/api/v1/auth/me', { token: token as string });
check('GET /auth/me status', me.status === 200, me);
check('GET /auth/me email', me.body.email === EMAIL && me.body.is_admin === true, me.body);

const anonymous = await call('GET', '/api/v1/auth/me');
check('GET /auth/me without a token', anonymous.status === 401, anonymous);

await database.close();
console.log(`deno smoke: ${passed} checks passed`);
