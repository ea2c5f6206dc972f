import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, freePort, type RunningServer, runToExit, startServer } from './spawn.ts';

// The real Node entry as `npm start` runs it, on a temp DATA_DIR (embedded PGlite, generated JWT secret).
const NODE_ENTRY = ['--import', 'tsx', 'src/main.node.ts'];
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };

describe('src/main.node.ts', () => {
  let root: string;
  let dataDir: string;
  let port: number;
  let server: RunningServer;
  const started: RunningServer[] = [];

  async function start(): Promise<RunningServer> {
    const env = childEnv({
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      MODELS_DIR: join(root, 'models'),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
    });
    const s = await startServer(process.execPath, NODE_ENTRY, env);
    started.push(s);
    return s;
  }

  async function login(): Promise<string> {
    const res = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; user: { email: string; is_admin: boolean } };
    expect(body.user).toMatchObject({ email: ADMIN.email, is_admin: true });
    return body.token;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'easel-start-'));
    dataDir = join(root, 'data');
    port = await freePort();
    server = await start();
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    if (root) {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('prints the listening line with HOST and PORT', () => {
    expect(server.url).toBe(`http://127.0.0.1:${port}`);
  });

  it('serves /health and the /docs page', async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });

    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await docs.text()).toContain('<html');
  });

  it('is not ready while no model could be loaded (MODELS_DIR is empty here)', async () => {
    const res = await fetch(`${server.url}/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'unavailable', detail: 'Not ready: model.' });
  });

  it('creates the admin from ADMIN_EMAIL and ADMIN_PASSWORD', async () => {
    const status = await fetch(`${server.url}/api/v1/auth/status`);
    expect(await status.json()).toEqual({ setup_required: false, multiuser_enabled: true });
    await login();
  });

  it('keeps the generated JWT secret in DATA_DIR (mode 0600), so tokens survive a restart', async () => {
    const secretFile = join(dataDir, 'jwt-secret');
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const secret = await readFile(secretFile, 'utf8');
    const token = await login();

    expect(await server.stop()).toBe(0);
    server = await start();

    expect(await readFile(secretFile, 'utf8')).toBe(secret);
    const me = await fetch(`${server.url}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: ADMIN.email, is_admin: true });
  });

  // Each exits while reading its environment; they run at once (four node starts, a few s each).
  it.concurrent.for([
    ['PORT', 'abc'],
    ['JWT_SECRET', 'short'],
    // PGlite serves one process: api and worker need DATABASE_URL.
    ['ROLE', 'worker'],
    ['DEVICES', 'tpu:0'],
  ] as const)('exits non-zero naming the variable when %s=%s', async ([name, value], { expect }) => {
    const env = childEnv({ DATA_DIR: join(root, 'bad-env'), [name]: value });
    const result = await runToExit(process.execPath, NODE_ENTRY, env);
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^\\s*${name}: `, 'm'));
    expect(result.stdout).not.toContain('listening on');
  });

  it('exits with 2 naming the file when the kept JWT secret is shorter than 32 bytes', async () => {
    const dataDir = join(root, 'short-secret');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'jwt-secret'), 'abcde\n');
    const result = await runToExit(process.execPath, NODE_ENTRY, childEnv({ DATA_DIR: dataDir }));
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(
      `${dataDir}/jwt-secret holds a JWT secret shorter than 32 bytes; delete the file to generate a new one (every token becomes invalid) or set JWT_SECRET`,
    );
    expect(result.stdout).not.toContain('listening on');
  });
});
