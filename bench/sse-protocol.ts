/**
 * What the three processes of the SSE benchmark (bench/sse.ts: the conductor; bench/sse-server.ts: one
 * server kind; bench/sse-clients.ts: the connections) say to each other over their IPC channel, and the
 * little they share. See bench/README.md.
 */
import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export type Kind = 'easel' | 'socketio' | 'bare';
export type SioClient = 'wire' | 'library';
export const KINDS: readonly Kind[] = ['easel', 'socketio', 'bare'];
export const KIND_NAMES: Record<Kind, string> = {
  easel: 'Easel',
  socketio: 'Socket.IO',
  bare: 'bare node:http',
};

/** The one event the run publishes (an owned event: the owner's tabs and every admin get it). */
export const EVENT_NAME = 'invocation_progress';
export const EVENT_PATH = '/api/v1/events?queue_id=default';

/** The machine's wall clock with sub-millisecond resolution, comparable between processes. */
export const clock = (): number => performance.timeOrigin + performance.now();

/** Who connects: admins first (user indexes 0..admins-1), then the users. */
export interface ServerConfig {
  users: number;
  admins: number;
}

export interface Memory {
  rss: number;
  heapUsed: number;
}

export interface LevelRequest {
  /** Events published per second (each fans out to the owner's tabs and the admins' tabs). */
  eventsPerSec: number;
  warmMs: number;
  measureMs: number;
}

export interface LevelResult {
  /** Events whose scheduled send time lies in [t0, t1) are the measured ones. */
  t0: number;
  t1: number;
  /** Deliveries the measured events owe (their fan-out, summed). */
  expected: number;
  published: number;
  /** Server CPU over the whole level, ms. */
  cpuMs: number;
  /** Event-loop utilisation over the whole level, 0..1. */
  elu: number;
  /** How far behind schedule the publisher got at worst, ms. */
  maxLagMs: number;
  /** Event-loop delay over the level (perf_hooks.monitorEventLoopDelay, 1 ms resolution), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  wallMs: number;
}

export interface ClientStats {
  received: number;
  p50: number;
  p99: number;
  max: number;
  open: number;
  cpuMs: number;
  /** Deliveries of the measured window still missing when the client gave up waiting. */
  missing: number;
}

export interface ConnectResult {
  open: number;
  failed: number;
  ms: number;
  errors: string[];
}

/** A request to a child and its answer share an `id`. */
export type Request =
  | { type: 'plan'; tabs: number[] }
  | { type: 'memory' }
  | { type: 'clock' }
  | { type: 'count' }
  | { type: 'level'; level: LevelRequest }
  | {
      type: 'connect';
      kind: Kind;
      port: number;
      tokens: string[];
      userOf: number[];
      /** How Socket.IO is read: a minimal client on the wire (default) or socket.io-client. */
      sioClient: SioClient;
    }
  | { type: 'reset' }
  | { type: 'collect'; t0: number; t1: number; expected: number; waitMs: number }
  | { type: 'exit' };

export interface Envelope {
  id: number;
  req: Request;
}

export interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/** The first message a server sends, unasked. */
export interface ServerReady {
  ready: true;
  port: number;
  /** One bearer token per user index (admins first). */
  tokens: string[];
  setupMs: number;
}

/** Answers the requests a child gets, one at a time, with what `handle` returns. */
export function serve(handle: (req: Request) => Promise<unknown>): void {
  process.on('message', (msg: Envelope) => {
    handle(msg.req).then(
      (value) => process.send?.({ id: msg.id, ok: true, value } satisfies Reply),
      (err: unknown) =>
        process.send?.({
          id: msg.id,
          ok: false,
          error: String((err as Error)?.stack ?? err),
        } satisfies Reply),
    );
  });
  // The conductor went away (Ctrl-C, crash): never outlive it.
  process.on('disconnect', () => process.exit(0));
}

/** Sends a request to a child and waits for its answer (at most `timeoutMs`). */
export function makeCaller(child: ChildProcess) {
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (msg: Reply | ServerReady) => {
    if ('id' in msg) {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.ok) {
        w?.resolve(msg.value);
      } else {
        w?.reject(new Error(msg.error));
      }
    }
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.values()) {
      w.reject(new Error(`child exited (${code ?? signal}) while a request was open`));
    }
    waiting.clear();
  });
  return function call<T>(req: Request, timeoutMs = 60_000): Promise<T> {
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`${req.type}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send({ id, req } satisfies Envelope);
    });
  };
}

/** Nearest-rank percentile of the first `n` values of a sorted array. */
export function percentileSorted(sorted: Float64Array, n: number, p: number): number {
  if (n === 0) {
    return Number.NaN;
  }
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[rank - 1] ?? Number.NaN;
}
