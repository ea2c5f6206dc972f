import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { expect } from 'vitest';
import type { TokenService } from '../../src/core/auth.ts';
import { systemClock } from '../../src/core/clock.ts';
import { hs256Tokens } from '../../src/services/auth/tokens.ts';
import { PG_ADMIN_URL, pgUrlFor } from '../helpers/database.ts';
import type { textToImageGraph } from '../helpers/graphs.ts';
import { type SseFrame, SseReader, withIds } from '../helpers/sse.ts';
import type { RunningServer } from './spawn.ts';

// What the tests that run real server processes do with them: requests, streams, enqueues, kills.

export const Q = '/api/v1/queue/default';

/** A request to a running server, with a bearer token and a JSON body when given. */
export function api(proc: { url: string }, method: string, path: string, token?: string, json?: unknown) {
  return fetch(`${proc.url}${path}`, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(json === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
}

/** The body of a response that must have `status` (its text shown when it has not). */
export async function ok<T>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** An event stream of the user of `token`, once `connected` came. */
export async function connect(
  proc: { url: string },
  token: string,
  lastEventId?: string,
): Promise<SseReader> {
  const res = await fetch(`${proc.url}/api/v1/events?queue_id=default`, {
    headers: {
      Authorization: `Bearer ${token}`,
      ...(lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }),
    },
  });
  expect(res.status).toBe(200);
  const sse = new SseReader(res.body);
  await sse.untilEvent('connected');
  return sse;
}

export async function enqueue(
  proc: { url: string },
  token: string,
  graph: ReturnType<typeof textToImageGraph>,
  runs = 1,
) {
  return ok<{ item_ids: number[]; batch: { batch_id: string } }>(
    api(proc, 'POST', `${Q}/enqueue_batch`, token, { batch: { graph, runs } }),
    201,
  );
}

/** Ends a process at once (SIGKILL) and resolves once it is gone. */
export async function kill(proc: RunningServer): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    const closed = once(proc.child, 'close');
    proc.child.kill('SIGKILL');
    await closed;
  }
}

export const dataOf = (f: SseFrame) => f.data as Record<string, unknown>;

/** Whether the frames hold a status change of the item to `status` (for `SseReader.until`). */
export const statusIs = (itemId: number, status: string) => (frames: SseFrame[]) =>
  withIds(frames).some(
    (f) =>
      f.event === 'queue_item_status_changed' && dataOf(f).item_id === itemId && dataOf(f).status === status,
  );

/** Resolves once the process has printed a line matching `pattern` (on stdout); rejects after `timeoutMs`. */
export function untilOutput(proc: RunningServer, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stdout = proc.child.stdout;
    const check = () => {
      if (pattern.test(proc.output.stdout)) {
        done();
        resolve();
      }
    };
    const guard = setTimeout(() => {
      done();
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${proc.output.stdout}`));
    }, timeoutMs);
    function done() {
      clearTimeout(guard);
      stdout?.off('data', check);
    }
    stdout?.on('data', check);
    check();
  });
}

/**
 * A PostgreSQL database and a data folder of their own for one file's server processes, with tokens as the
 * installation's login would issue them (signed with the shared `JWT_SECRET`: a login costs a 600,000-round
 * password hash, seconds of CPU on a busy 2-core machine). `drop()` removes both.
 * @example const scratch = await Scratch.create(JWT_SECRET); …DATABASE_URL: scratch.url…; await scratch.drop();
 */
export class Scratch {
  private constructor(
    readonly root: string,
    readonly name: string,
    /** The database, straight (not through any proxy of the test). */
    readonly db: postgres.Sql,
    private readonly admin: postgres.Sql,
    private readonly tokens: TokenService,
  ) {}

  static async create(jwtSecret: string, prefix: string): Promise<Scratch> {
    const root = await mkdtemp(join(tmpdir(), `easel-${prefix}-`));
    const name = `easel_${prefix}_${crypto.randomUUID().replaceAll('-', '')}`;
    const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const db = postgres(pgUrlFor(name), { max: 1, onnotice: () => {} });
    return new Scratch(root, name, db, admin, hs256Tokens(new TextEncoder().encode(jwtSecret), systemClock));
  }

  get url(): string {
    return pgUrlFor(this.name);
  }

  async tokenFor(email: string): Promise<{ userId: string; token: string }> {
    const [user] = await this.db`SELECT user_id, is_admin, epoch FROM users WHERE email = ${email}`;
    if (!user) {
      throw new Error(`no user ${email}`);
    }
    const { token } = await this.tokens.issue(
      { userId: user.user_id, email, isAdmin: user.is_admin, epoch: user.epoch },
      false,
    );
    return { userId: user.user_id, token };
  }

  async drop(): Promise<void> {
    await this.db.end();
    await this.admin.unsafe(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
    await this.admin.end();
    await rm(this.root, { recursive: true, force: true });
  }
}
