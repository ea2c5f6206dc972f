import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import type { PasswordHasher } from '../../src/core/auth.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { boundedHasher } from '../../src/services/auth/bounded-hasher.ts';
import { pbkdf2Hasher } from '../../src/services/auth/passwords.ts';
import { it } from '../helpers/fixtures.ts';
import { createHarness, type Harness, problem } from '../helpers/harness.ts';

const fresh = () => `nobody-${crypto.randomUUID().slice(0, 8)}@example.com`;
const login = (h: Harness, client: string, email: string, password = 'wrong password') =>
  h.post('/api/v1/auth/login', { json: { email, password }, headers: { 'x-test-client': client } });

async function expectLimited(res: Response, seconds: number) {
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe(String(seconds));
  expect(await res.json()).toEqual(
    problem(
      res,
      'rate_limited',
      429,
      'Too many requests',
      `Too many failed logins; try again in ${seconds} seconds.`,
    ),
  );
}

describe('at most 30 failed logins a minute per client address', () => {
  it('30 failures with 30 emails are 401; the 31st, any email, even the right password, is 429 until the minute passes', async ({
    h,
  }) => {
    const u = await h.createUser();
    for (let i = 0; i < 30; i++) {
      expect((await login(h, '10.1.0.1', fresh())).status).toBe(401);
    }
    await expectLimited(await login(h, '10.1.0.1', fresh()), 60);
    await expectLimited(await login(h, '10.1.0.1', u.user.email, u.password), 60);
    // Another address is not limited; the limited one's 429s were not counted.
    expect((await login(h, '10.1.0.2', fresh())).status).toBe(401);
    expect((await login(h, '10.1.0.2', u.user.email, u.password)).status).toBe(200);

    h.clock.advance(59_000);
    await expectLimited(await login(h, '10.1.0.1', fresh()), 1);
    h.clock.advance(1000);
    expect((await login(h, '10.1.0.1', u.user.email, u.password)).status).toBe(200);
    expect((await login(h, '10.1.0.1', fresh())).status).toBe(401);
  });

  it('successful logins never count, and do not clear the failures of the address', async ({ h }) => {
    const u = await h.createUser();
    for (let i = 0; i < 29; i++) {
      expect((await login(h, '10.2.0.1', fresh())).status).toBe(401);
    }
    for (let i = 0; i < 5; i++) {
      expect((await login(h, '10.2.0.1', u.user.email, u.password)).status).toBe(200);
    }
    expect((await login(h, '10.2.0.1', fresh())).status).toBe(401);
    await expectLimited(await login(h, '10.2.0.1', fresh()), 60);
  });

  it('audits the first 5 failures of an address in the window and the one that reaches the limit, no 429', async ({
    h,
  }) => {
    const client = '10.3.0.1';
    const emails = Array.from({ length: 30 }, fresh);
    for (const email of emails) {
      expect((await login(h, client, email)).status).toBe(401);
    }
    expect((await login(h, client, fresh())).status).toBe(429);
    const rows = rowsOf<{ action: string; target_id: string | null; details: unknown }>(
      await h.db.execute(sql`SELECT action, target_id, details FROM audit_log
        WHERE details->>'client' = ${client} ORDER BY id`),
    );
    const details = (d: unknown) => (typeof d === 'string' ? JSON.parse(d) : d);
    expect(rows.map((r) => ({ ...r, details: details(r.details) }))).toEqual([
      ...emails.slice(0, 5).map((email) => ({
        action: 'auth.login_failed',
        target_id: null,
        details: { email, client },
      })),
      {
        action: 'auth.login_failed',
        target_id: null,
        details: { email: emails[29], client, address_failures: 30 },
      },
    ]);
  });
});

describe('bounded password hashing', () => {
  it('a login while every derivation is busy and the queue is full is 503 unavailable with Retry-After, held for the refusal delay', async ({
    onTestFinished,
  }) => {
    const inner = pbkdf2Hasher(1000);
    let enter: () => void = () => {};
    let release: () => void = () => {};
    const entered = new Promise<void>((resolve) => {
      enter = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let gated = false;
    const slow: PasswordHasher = {
      hash: (password) => inner.hash(password),
      async verify(password, stored) {
        if (gated) {
          enter();
          await released;
        }
        return inner.verify(password, stored);
      },
    };
    const busy = await createHarness(
      { onTestFinished },
      {
        config: { loginRefusalDelayMs: 40 },
        deps: { passwords: boundedHasher(slow, { concurrency: 1, queue: 0 }) },
      },
    );
    const u = await busy.createUser();
    gated = true;
    const first = busy.post('/api/v1/auth/login', { json: { email: u.user.email, password: u.password } });
    await entered;
    const sent = performance.now();
    const refused = await busy.post('/api/v1/auth/login', {
      json: { email: u.user.email, password: u.password },
    });
    expect(refused.status).toBe(503);
    // Held for `loginRefusalDelayMs` before the answer (a timer may fire a millisecond early).
    expect(performance.now() - sent).toBeGreaterThanOrEqual(38);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual(
      problem(
        refused,
        'unavailable',
        503,
        'Service unavailable',
        'Too many logins at once; try again in 1 second.',
      ),
    );
    release();
    expect((await first).status).toBe(200);
    gated = false;
    // Nothing was counted against the account or the address: it logs in at once.
    expect(
      (await busy.post('/api/v1/auth/login', { json: { email: u.user.email, password: u.password } })).status,
    ).toBe(200);
  });
});
