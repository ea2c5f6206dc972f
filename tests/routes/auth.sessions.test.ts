import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { rowsOf } from '../../src/db/rows.ts';
import { test as fileTest } from '../helpers/fixtures.ts';
import { expectProblem, type Harness, type TestUser } from '../helpers/harness.ts';
import { publishSentinel, type SseFrame, SseReader } from '../helpers/sse.ts';
import { decodeJwt, forgeToken } from '../helpers/tokens.ts';

/**
 * The file's test API with `user` (a user of the test's own: a test resets the accounts) and `stream`, which opens an event stream (by token, or
 * by `?ticket=`), reads up to `connected` and puts it in the test's `streams`.
 */
const test = fileTest
  .extend('user', ({ h }) => h.createUser())
  .extend(
    'stream',
    ({ h, streams }) =>
      async (o: { token?: string; ticket?: string }): Promise<SseReader> => {
        const res = await h.get(`/api/v1/events${o.ticket ? `?ticket=${o.ticket}` : ''}`, { token: o.token });
        expect(res.status).toBe(200);
        const sse = new SseReader(res.body);
        streams.push(sse);
        await sse.untilEvent('connected');
        return sse;
      },
  );
const it = test;

// API.md section 2: a token carries `sid`, its login session (one per login or setup, kept by every sliding
// refresh); logout revokes the whole session and closes its streams; other sessions of the user stay.
const DAY = 24 * 3600;

/** A new login session of `as` (`user` by default): its first token. */
async function login(
  { h, user }: { h: Harness; user: TestUser },
  o: { rememberMe?: boolean; as?: TestUser } = {},
): Promise<string> {
  const who = o.as ?? user;
  const res = await h.post('/api/v1/auth/login', {
    json: { email: who.user.email, password: who.password, remember_me: o.rememberMe ?? false },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

/** The sliding refresh of `token`: the `X-Refreshed-Token` of a write. */
async function refresh(h: Harness, token: string): Promise<string> {
  const res = await h.patch('/api/v1/auth/me', { token, json: { display_name: 'Sessions' } });
  expect(res.status).toBe(200);
  const refreshed = res.headers.get('x-refreshed-token');
  expect(refreshed).toBeTruthy();
  return refreshed as string;
}

async function logout(h: Harness, token: string) {
  const res = await h.post('/api/v1/auth/logout', { token });
  expect(res.status).toBe(204);
  expect(await res.text()).toBe('');
}

async function expectAccepted(h: Harness, token: string) {
  const res = await h.get('/api/v1/auth/me', { token });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { user_id: string }).user_id).toBe(decodeJwt(token).sub);
}

async function expectRevoked(h: Harness, token: string) {
  const res = await h.get('/api/v1/auth/me', { token });
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'The token has been revoked.');
}

async function ticketFor(h: Harness, token: string): Promise<string> {
  const res = await h.post('/api/v1/events/ticket', { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { ticket: string }).ticket;
}

const CONNECTED: SseFrame = {
  event: 'connected',
  data: {
    connection_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    user_id: expect.any(String),
    is_admin: false,
  },
};
const REVOKED: SseFrame = { event: 'auth_expired', data: { reason: 'token_revoked' } };
const noStatus = (frames: SseFrame[]) => frames.filter((f) => f.event !== 'queue_status');

describe('the sid claim', () => {
  it('a login’s token has a sid; its refresh keeps it (new jti); another login gets another', async ({
    h,
    user,
  }) => {
    const t1 = await login({ h, user });
    const t2 = await refresh(h, t1);
    const t3 = await refresh(h, t2);
    const other = await login({ h, user });
    const [c1, c2, c3, c4] = [t1, t2, t3, other].map(decodeJwt);
    expect(c1?.sid).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    expect(c2?.sid).toBe(c1?.sid);
    expect(c3?.sid).toBe(c1?.sid);
    expect(new Set([c1?.jti, c2?.jti, c3?.jti]).size).toBe(3);
    expect(c4?.sid).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    expect(c4?.sid).not.toBe(c1?.sid);
  });

  it('setup starts a session of its own', async ({ h }) => {
    await h.reset();
    const res = await h.post('/api/v1/auth/setup', {
      json: { email: `setup-${crypto.randomUUID()}@example.com`, password: 'password123' },
    });
    expect(res.status).toBe(201);
    const { token } = (await res.json()) as { token: string };
    expect(decodeJwt(token).sid).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
  });

  it('a password change’s replacement token stays in the session: logging it out ends the session', async ({
    user,
    h,
  }) => {
    const changer = await h.createUser();
    const t1 = await login({ h, user }, { as: changer });
    const res = await h.patch('/api/v1/auth/me', {
      token: t1,
      json: { current_password: changer.password, new_password: 'another long password' },
    });
    expect(res.status).toBe(200);
    const replacement = res.headers.get('x-refreshed-token') as string;
    expect(decodeJwt(replacement).sid).toBe(decodeJwt(t1).sid);
    const other = await login({ h, user }, { as: { ...changer, password: 'another long password' } });
    await logout(h, replacement);
    await expectRevoked(h, replacement);
    await expectAccepted(h, other);
  });
});

describe('logout revokes the login session', () => {
  it('logout with the refreshed token revokes the token it came from; another session stays', async ({
    h,
    user,
  }) => {
    const t1 = await login({ h, user });
    const t2 = await refresh(h, t1);
    const other = await login({ h, user });
    await logout(h, t2);
    await expectRevoked(h, t1);
    await expectRevoked(h, t2);
    await expectAccepted(h, other);
  });

  it('logout with the first token revokes the ones refreshed from it', async ({ h, user }) => {
    const t1 = await login({ h, user });
    const t2 = await refresh(h, t1);
    const t3 = await refresh(h, t2);
    await logout(h, t1);
    await expectRevoked(h, t2);
    await expectRevoked(h, t3);
    await expectRevoked(h, t1);
  });

  it('a token of the session issued after the logout (a refresh racing it) is refused too', async ({
    h,
    user,
  }) => {
    const t1 = await login({ h, user });
    const { sid } = decodeJwt(t1) as { sid: string };
    await logout(h, t1);
    const late = await h.deps.tokens.issue(
      { userId: user.user.user_id, email: user.user.email, isAdmin: false, epoch: 0 },
      false,
      sid,
    );
    await expectRevoked(h, late.token);
  });

  it('the session is kept revoked for a whole lifetime of its class after the logout', async ({
    user,
    h,
  }) => {
    const t1 = await login({ h, user }, { rememberMe: true });
    h.clock.advance(3 * DAY * 1000);
    const t2 = await refresh(h, t1);
    await logout(h, t1);
    const [row] = rowsOf<{ expires_at: string | Date }>(
      await h.db.execute(
        sql`SELECT expires_at FROM revoked_sessions WHERE sid = ${decodeJwt(t1).sid as string}`,
      ),
    );
    expect(new Date(row?.expires_at as string).getTime()).toBe(
      h.clock.now().getTime() + (7 * DAY + 60) * 1000,
    );
    h.clock.advance((7 * DAY - 60) * 1000);
    await expectRevoked(h, t2);
  });

  it('a token without sid (issued before sessions) is a session of its own, joined by its refreshes', async ({
    h,
    user,
  }) => {
    const nowS = Math.floor(h.clock.now().getTime() / 1000);
    const claims = { email: user.user.email };
    const legacy = await forgeToken(user.user.user_id, { claims, nowS });
    const alone = await forgeToken(user.user.user_id, { claims, nowS });
    expect(decodeJwt(legacy).sid).toBeUndefined();
    await expectAccepted(h, legacy);
    const refreshed = await refresh(h, legacy);
    expect(decodeJwt(refreshed).sid).toBe(decodeJwt(legacy).jti);
    await logout(h, refreshed);
    await expectRevoked(h, legacy);
    await expectRevoked(h, refreshed);
    await expectAccepted(h, alone);
    await logout(h, alone);
    await expectRevoked(h, alone);
  });
});

describe('logout closes the session’s streams', () => {
  it('streams of the session (by token and by ticket) end with token_revoked; another session’s stays', async ({
    user,
    stream,
    h,
  }) => {
    const t1 = await login({ h, user });
    const byToken = await stream({ token: t1 });
    const byTicket = await stream({ ticket: await ticketFor(h, t1) });
    const t2 = await refresh(h, t1);
    const otherSession = await stream({ token: await login({ h, user }) });
    await logout(h, t2);
    for (const sse of [byToken, byTicket]) {
      expect(noStatus(await sse.untilEnd())).toEqual([{ retry: 3000 }, CONNECTED, REVOKED]);
    }
    publishSentinel(h.channels);
    expect(noStatus(await otherSession.untilEvent('queue_cleared')).map((f) => f.event)).toEqual([
      undefined,
      'connected',
      'queue_cleared',
    ]);
    expect(otherSession.done).toBe(false);
  });

  it('a ticket asked for before the logout opens no stream after it', async ({ user, h }) => {
    const t1 = await login({ h, user });
    const ticket = await ticketFor(h, t1);
    await logout(h, await refresh(h, t1));
    const res = await h.get(`/api/v1/events?ticket=${ticket}`);
    await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'The token has been revoked.');
  });
});
