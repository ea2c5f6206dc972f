import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  childEnv,
  freePort,
  projectRoot,
  type RunningServer,
  runToExit,
  startServer,
} from '../node/spawn.ts';

// STYLE.md rule 8: the portable core must boot under Deno. Deno comes from the `deno` devDependency and loads
// npm packages from the project's node_modules (no network).
const deno = join(projectRoot, 'node_modules', '.bin', 'deno');
const nodeModules = '--node-modules-dir=manual';
const TIMEOUT = 120_000;

describe('Deno', () => {
  const started: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });

  it(
    'typechecks the Deno entry and smoke script (tsc excludes them: it has no Deno types)',
    async () => {
      const result = await runToExit(
        deno,
        ['check', nodeModules, 'src/main.deno.ts', 'tests/deno/smoke.ts'],
        childEnv({ NO_COLOR: '1' }),
        TIMEOUT,
      );
      expect(result.code, result.stderr).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'runs createApp in the smoke script (in-memory PGlite, setup, login, me)',
    async () => {
      const result = await runToExit(
        deno,
        ['run', '--no-prompt', nodeModules, `--allow-read=${projectRoot}`, 'tests/deno/smoke.ts'],
        childEnv({ NO_COLOR: '1' }),
        TIMEOUT,
      );
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(/^deno smoke: \d+ checks passed$/m);
    },
    TIMEOUT,
  );

  it(
    'serves with src/main.deno.ts (EASEL_DENO_MEMORY=1)',
    async () => {
      const port = await freePort();
      const env = childEnv({ NO_COLOR: '1', EASEL_DENO_MEMORY: '1', PORT: String(port), LOG_LEVEL: 'warn' });
      const args = ['run', '--no-prompt', nodeModules, '--allow-env', `--allow-read=${projectRoot}`];
      const server = await startServer(
        deno,
        [...args, `--allow-net=127.0.0.1:${port}`, 'src/main.deno.ts'],
        env,
        TIMEOUT,
      );
      started.push(server);
      expect(server.url).toBe(`http://127.0.0.1:${port}`);
      const health = await fetch(`${server.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      expect(await server.stop()).toBe(0);
    },
    TIMEOUT,
  );

  it('refuses DATABASE_URL on Deno, naming the variable', async () => {
    const env = childEnv({
      NO_COLOR: '1',
      EASEL_DENO_MEMORY: '1',
      DATABASE_URL: 'postgres://127.0.0.1/easel',
    });
    const result = await runToExit(
      deno,
      ['run', '--no-prompt', nodeModules, '--allow-env', `--allow-read=${projectRoot}`, 'src/main.deno.ts'],
      env,
      TIMEOUT,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^\s*DATABASE_URL: /m);
  });
});
