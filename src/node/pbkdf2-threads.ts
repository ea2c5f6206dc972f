import { Worker } from 'node:worker_threads';
import type { DeriveBits } from '../services/auth/passwords.ts';

/**
 * The threads' code (CommonJS, evaluated): `pbkdf2Sync` runs on the thread itself, not on libuv's pool. The
 * thread lowers its own priority (nice 19; on Linux a thread's own): hashing gets the CPU the event loop
 * leaves, so a login flood slows logins, never the other routes.
 */
const THREAD_CODE = `
const { parentPort } = require('node:worker_threads');
const { pbkdf2Sync } = require('node:crypto');
try {
  require('node:os').setPriority(19);
} catch {}
parentPort.on('message', ({ id, password, salt, iterations }) => {
  try {
    const bits = new Uint8Array(pbkdf2Sync(password, salt, iterations, 32, 'sha256'));
    parentPort.postMessage({ id, bits }, [bits.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});`;

interface Job {
  id: number;
  password: string;
  salt: Uint8Array;
  iterations: number;
  resolve(bits: Uint8Array): void;
  reject(err: Error): void;
}

interface Reply {
  id: number;
  bits?: Uint8Array;
  error?: string;
}

/**
 * PBKDF2-SHA256 on `threads` worker threads of their own, started on first use, at the lowest priority. A
 * thread keeps the process alive only while it has a job: an idle one never does. Node's Web Crypto and async `pbkdf2` run on libuv's thread
 * pool, which file reads share: a login flood there stalls every image file. Each thread runs one derivation at a time; jobs beyond the
 * threads wait here in order (`boundedHasher` keeps that short). Runs on Node and on Deno's Node compatibility.
 * @example const passwords = boundedHasher(pbkdf2Hasher(undefined, new Pbkdf2Threads(2).derive), bounds);
 */
export class Pbkdf2Threads {
  readonly #idle: Worker[] = [];
  readonly #busy = new Map<Worker, Job>();
  readonly #waiting: Job[] = [];
  #started = 0;
  #nextId = 1;

  constructor(readonly threads: number) {}

  /** A `DeriveBits` running on the threads. */
  readonly derive: DeriveBits = (password, salt, iterations) =>
    new Promise<Uint8Array>((resolve, reject) => {
      this.#waiting.push({ id: this.#nextId++, password, salt, iterations, resolve, reject });
      this.#dispatch();
    });

  /** Ends the threads; a derivation under way is rejected. */
  async close(): Promise<void> {
    const all = [...this.#idle, ...this.#busy.keys()];
    this.#idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  #dispatch(): void {
    while (this.#waiting.length > 0) {
      const worker = this.#idle.pop() ?? (this.#started < this.threads ? this.#start() : undefined);
      const job = worker && this.#waiting.shift();
      if (!worker || !job) {
        return;
      }
      this.#busy.set(worker, job);
      // A thread with a job keeps the process alive until it answers; an idle one never does.
      worker.ref();
      worker.postMessage({ id: job.id, password: job.password, salt: job.salt, iterations: job.iterations });
    }
  }

  #start(): Worker {
    this.#started++;
    const worker = new Worker(THREAD_CODE, { eval: true });
    worker.on('message', (reply: Reply) => {
      const job = this.#busy.get(worker);
      this.#busy.delete(worker);
      this.#idle.push(worker);
      worker.unref();
      if (job?.id === reply.id) {
        if (reply.bits) {
          job.resolve(reply.bits);
        } else {
          job.reject(new Error(`pbkdf2 failed: ${reply.error}`));
        }
      }
      this.#dispatch();
    });
    // A thread that dies fails its job; a fresh one takes its place on the next dispatch.
    worker.once('exit', () => {
      const idle = this.#idle.indexOf(worker);
      if (idle >= 0) {
        this.#idle.splice(idle, 1);
      }
      const job = this.#busy.get(worker);
      this.#busy.delete(worker);
      this.#started--;
      job?.reject(new Error('the pbkdf2 thread exited'));
      this.#dispatch();
    });
    worker.on('error', () => {});
    return worker;
  }
}
