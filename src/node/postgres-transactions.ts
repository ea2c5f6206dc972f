import type { Sql } from 'postgres';
import { isDatabaseUnavailable } from '../core/database-away.ts';

/** How long a transaction whose connection failed waits for the driver to see the connection closed. */
const CLOSE_WAIT_MS = 30_000;

interface TxState {
  /** A statement of the transaction failed because the connection went away (or the connection closed). */
  lost: boolean;
  /** Settles when the driver's `begin` does (it rejects as soon as the connection closes). */
  settled: Promise<void>;
}

/**
 * The postgres.js client with transactions that stop at a lost connection (PostgreSQL restarting, a reset
 * socket). postgres.js (3.4) rejects a transaction whose connection closes, but the transaction's own code
 * goes on: its next statements, and the `COMMIT` or `ROLLBACK` the driver sends when that code ends, are
 * written to the closed connection. That throws in a `setImmediate` (an uncaught exception) and leaves the
 * bytes in the connection's write buffer, so the reconnect sends them before its startup message and every
 * later query on that connection waits forever (tests/node/postgres-transactions.test.ts reproduces each
 * case through a TCP proxy). Here, once a statement of a transaction fails with a connection error, or the
 * connection closes, its later statements fail at once without touching the connection, and the driver is
 * never asked to end it: the server rolls back a transaction whose connection is gone by itself.
 * @example const db = drizzle({ client: guardTransactions(postgres(url)) });
 */
export function guardTransactions(client: Sql): Sql {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'begin') {
        return (...args: unknown[]) => guardedBegin(target, args);
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

type Scope = (tx: unknown) => unknown;

function guardedBegin(client: Sql, args: unknown[]): Promise<unknown> {
  const fn = args.pop() as Scope;
  let settle: () => void = () => {};
  const state: TxState = {
    lost: false,
    settled: new Promise<void>((resolve) => {
      settle = resolve;
    }),
  };
  const begin = client.begin as unknown as (...a: unknown[]) => Promise<unknown>;
  const outcome = begin(...args, (tx: unknown) => runScope(tx, fn, state));
  outcome.then(settle, () => {
    state.lost = true;
    settle();
  });
  return outcome;
}

/** Runs a transaction's (or savepoint's) code on the guarded handle; parks instead of ending a lost one. */
async function runScope(tx: unknown, fn: Scope, state: TxState): Promise<unknown> {
  let result: unknown;
  try {
    result = await fn(guardTx(tx, state));
  } catch (error) {
    if (isDatabaseUnavailable(error)) {
      state.lost = true;
    }
    if (state.lost) {
      return park(state, error);
    }
    throw error;
  }
  return state.lost ? park(state, new Error('the connection closed during the transaction')) : result;
}

/**
 * Never lets the driver write `COMMIT`/`ROLLBACK` to a lost connection: waits until the driver's `begin`
 * has rejected (the connection closed), then never settles (the driver's scope is dropped with it). If the
 * connection did not close after all, the error goes on as usual after `CLOSE_WAIT_MS`.
 */
async function park(state: TxState, error: unknown): Promise<never> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = await Promise.race([
    state.settled.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (closed) {
    return new Promise<never>(() => {});
  }
  throw error;
}

/** The transaction handle Drizzle uses (`unsafe`, `savepoint`), refusing statements once the tx is lost. */
function guardTx(tx: unknown, state: TxState): unknown {
  return new Proxy(tx as object, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') {
        const unsafe = Reflect.get(target, prop, receiver) as (...a: unknown[]) => PromiseLike<unknown> & {
          values(): PromiseLike<unknown>;
        };
        return (...args: unknown[]) => (state.lost ? refused() : watched(unsafe(...args), state));
      }
      if (prop === 'savepoint') {
        const savepoint = Reflect.get(target, prop, receiver) as (...a: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) => {
          const fn = args.pop() as Scope;
          return state.lost
            ? Promise.reject(lostError())
            : savepoint(...args, (sp: unknown) => runScope(sp, fn, state));
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** A query of the transaction whose connection error marks the transaction lost before its caller sees it. */
function watched(query: PromiseLike<unknown> & { values(): PromiseLike<unknown> }, state: TxState) {
  const watch = (p: PromiseLike<unknown>) =>
    Promise.resolve(p).catch((error: unknown) => {
      if (isDatabaseUnavailable(error)) {
        state.lost = true;
      }
      throw error;
    });
  return {
    // biome-ignore lint/suspicious/noThenProperty: a query is awaited (Drizzle awaits it or its `values()`).
    then: (ok?: (v: unknown) => unknown, fail?: (e: unknown) => unknown) => watch(query).then(ok, fail),
    values: () => watch(query.values()),
  };
}

function refused() {
  const fail = () => Promise.reject(lostError());
  return {
    // biome-ignore lint/suspicious/noThenProperty: stands for a query, which is awaited.
    then: (ok?: (v: unknown) => unknown, failed?: (e: unknown) => unknown) => fail().then(ok, failed),
    values: fail,
  };
}

function lostError(): Error {
  return Object.assign(new Error('The connection of this transaction was lost.'), {
    code: 'CONNECTION_CLOSED',
  });
}
