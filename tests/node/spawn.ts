import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { EnvSchema } from '../../src/env.ts';

/** The repository root, where the entries run from. */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * This process's environment without any Easel variable (a developer's `DATABASE_URL` or `JWT_SECRET` must not
 * leak into a child), plus `vars`.
 * @example spawn(cmd, args, { env: childEnv({ PORT: '9091' }) });
 */
export function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(EnvSchema.shape)) {
    delete env[name];
  }
  return { ...env, ...vars };
}

/**
 * A port that was free a moment ago (the entries refuse `PORT=0`).
 * @example const port = await freePort();
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') {
    throw new Error('no port from the OS');
  }
  return address.port;
}

export interface Output {
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcess): Output {
  const out: Output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out.stdout += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    out.stderr += s;
  });
  return out;
}

/**
 * Runs a command to its end and returns its exit code and output; kills it after `timeoutMs`.
 * @example const { code, stderr } = await runToExit('node', ['--import', 'tsx', 'src/main.node.ts'], env);
 */
export async function runToExit(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<Output & { code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(command, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = collect(child);
  const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { ...out, code, signal };
  } finally {
    clearTimeout(guard);
  }
}

export interface RunningServer {
  /** `http://HOST:PORT` from the `listening on` line. */
  url: string;
  child: ChildProcess;
  output: Output;
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>;
}

/**
 * Starts a server entry and resolves once it prints `listening on http://HOST:PORT` (waiting on stdout, not a
 * timer); rejects with its output if it exits first or prints nothing within `timeoutMs`.
 * @example const server = await startServer(process.execPath, ['--import', 'tsx', 'src/main.node.ts'], env);
 */
export async function startServer(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<RunningServer> {
  const child = spawn(command, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  async function stop(): Promise<number | null> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited.finally(() => clearTimeout(guard));
    }
    return child.exitCode;
  }
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const describe = (why: string) =>
        new Error(`${why}\n--- stdout ---\n${output.stdout}\n--- stderr ---\n${output.stderr}`);
      const guard = setTimeout(
        () => reject(describe(`no "listening on" line after ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.stdout?.on('data', () => {
        const match = /^listening on (http:\/\/\S+)$/m.exec(output.stdout);
        if (match?.[1]) {
          clearTimeout(guard);
          resolve(match[1]);
        }
      });
      void exited.then((code) => {
        clearTimeout(guard);
        reject(describe(`exited with ${code} before listening`));
      });
      child.once('error', (err) => {
        clearTimeout(guard);
        reject(err);
      });
    });
    return { url, child, output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
