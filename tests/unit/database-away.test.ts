import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, whileDatabaseAway } from '../../src/core/database-away.ts';

const coded = (code: string) => Object.assign(new Error(code), { code });
/** How Drizzle hands a failed statement's driver error over. */
const wrapped = (cause: Error) => new DrizzleQueryError('SELECT 1', [], cause);

describe('isDatabaseUnavailable', () => {
  it('is true for the driver’s connection failures, socket errors and the SQLSTATEs of a restart, wrapped or not', () => {
    for (const code of [
      'CONNECTION_CLOSED',
      'CONNECTION_ENDED',
      'CONNECTION_DESTROYED',
      'CONNECT_TIMEOUT',
      'ECONNREFUSED',
      'ECONNRESET',
      'EPIPE',
      '08006',
      '08001',
      '57P01',
      '57P02',
      '57P03',
      '53300',
    ]) {
      expect([code, isDatabaseUnavailable(coded(code))]).toEqual([code, true]);
      expect([code, isDatabaseUnavailable(wrapped(coded(code)))]).toEqual([code, true]);
    }
  });

  it('is false for a statement PostgreSQL refused, a plain error and what is not an error', () => {
    for (const err of [
      coded('23505'),
      wrapped(coded('22P05')),
      coded('57014'),
      new Error('boom'),
      'ECONNRESET',
      null,
      undefined,
    ]) {
      expect(isDatabaseUnavailable(err)).toBe(false);
    }
  });
});

describe('whileDatabaseAway', () => {
  it('tries again while the database is away, with a growing wait, and returns the first success', async () => {
    const waits: number[] = [];
    let calls = 0;
    const value = await whileDatabaseAway(
      async () => {
        calls++;
        if (calls < 3) {
          throw wrapped(coded('ECONNREFUSED'));
        }
        return 'done';
      },
      { signal: new AbortController().signal, onWait: (_err, attempt) => waits.push(attempt) },
    );
    expect([value, calls, waits]).toEqual(['done', 3, [1, 2]]);
  });

  it('throws any other failure at once', async () => {
    const refused = coded('23505');
    let calls = 0;
    const run = whileDatabaseAway(
      async () => {
        calls++;
        throw refused;
      },
      { signal: new AbortController().signal, onWait: () => {} },
    );
    await expect(run).rejects.toBe(refused);
    expect(calls).toBe(1);
  });

  it('gives up, throwing the last failure, once its signal is aborted (the server stops)', async () => {
    const stop = new AbortController();
    const away = coded('CONNECTION_CLOSED');
    let calls = 0;
    const run = whileDatabaseAway(
      async () => {
        calls++;
        throw away;
      },
      { signal: stop.signal, onWait: () => stop.abort() },
    );
    await expect(run).rejects.toBe(away);
    expect(calls).toBe(2);
  });
});
