import { describe, expect } from 'vitest';
import { AuditAction } from '../../src/services/audit/index.ts';
import { test as fileTest } from '../helpers/fixtures.ts';
import { type Harness, problem, type TestUser } from '../helpers/harness.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

/** The file's test API with `reader`, the admin that reads the log in every test. */
const test = fileTest.extend('reader', { scope: 'file' }, ({ h }) => h.createUser({ isAdmin: true }));
const it = test;

const AUDIT = '/api/v1/audit';
const USERS = '/api/v1/users';
const VALIDATION = 'The request does not match the schema.';

interface Entry {
  id: string;
  at: string;
  actor_user_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
  request_id: string | null;
}
/** Who reads the log: the file's harness and reader. */
interface Reading {
  h: Harness;
  reader: TestUser;
}
interface Page {
  items: Entry[];
  next_cursor: string | null;
}

async function page({ h, reader }: Reading, query: Record<string, string | number> = {}): Promise<Page> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await h.get(`${AUDIT}?${qs}`, { token: reader.token });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return res.json();
}

/** Every entry matching `query`, following `next_cursor` with pages of `limit`. */
async function collect(
  { h, reader }: Reading,
  query: Record<string, string | number>,
  limit: number,
): Promise<Entry[]> {
  const all: Entry[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const p = await page({ h, reader }, { ...query, limit, ...(cursor ? { cursor } : {}) });
    expect(p.items.length).toBeLessThanOrEqual(limit);
    all.push(...p.items);
    cursor = p.next_cursor;
    if (!cursor) {
      return all;
    }
    expect(p.items).toHaveLength(limit);
  }
  throw new Error('pagination did not end');
}

/** The entries written by the request with this id. */
async function byRequest({ h, reader }: Reading, requestId: string | null): Promise<Entry[]> {
  expect(requestId).toEqual(expect.any(String));
  return (await collect({ h, reader }, {}, 200)).filter((e) => e.request_id === requestId);
}

const rid = (res: Response) => res.headers.get('x-request-id');
const now = (h: Harness) => h.clock.now().toISOString();
const userEntry = (h: Harness, o: Partial<Entry> & Pick<Entry, 'action'>): Entry => ({
  id: expect.any(String),
  at: now(h),
  actor_user_id: null,
  target_type: 'user',
  target_id: null,
  details: {},
  request_id: expect.any(String),
  ...o,
});

describe('GET /api/v1/audit records', () => {
  it('user.created by POST /users, with the request id of that request', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    h.clock.advance(1000);
    const res = await h.post(USERS, {
      token: admin.token,
      json: { email: `Audit-${crypto.randomUUID().slice(0, 8)}@Example.com`, password: 'created-secret-pw' },
    });
    expect(res.status).toBe(201);
    const created = await res.json();
    const p = await page({ h, reader }, { user_id: admin.user.user_id });
    expect(p).toEqual({
      items: [
        userEntry(h, {
          action: 'user.created',
          actor_user_id: admin.user.user_id,
          target_id: created.user_id,
          details: { email: created.email, is_admin: false },
          request_id: rid(res),
        }),
        // The fixture that created the admin itself (no acting user: the new account is its own actor).
        userEntry(h, {
          action: 'user.created',
          at: new Date(h.clock.now().getTime() - 1000).toISOString(),
          actor_user_id: admin.user.user_id,
          target_id: admin.user.user_id,
          details: { email: admin.user.email, is_admin: true },
          request_id: expect.stringMatching(/^fixture-\d+$/),
        }),
      ],
      next_cursor: null,
    });
    expect(JSON.stringify(p)).not.toContain('created-secret-pw');
  });

  it('user.updated by PATCH /users/{id}, with what changed and whether tokens were revoked', async ({
    reader,
    h,
  }) => {
    const admin = await h.createUser({ isAdmin: true });
    const user = await h.createUser();
    const path = `${USERS}/${user.user.user_id}`;
    const send = (json: unknown) => h.patch(path, { token: admin.token, json });
    const cases: [unknown, Record<string, unknown>][] = [
      [
        { display_name: ' Renamed ', max_pending: 5 },
        { display_name: 'Renamed', max_pending: 5, tokens_revoked: false },
      ],
      [{ max_pending: null }, { max_pending: null, tokens_revoked: false }],
      [{ is_admin: true }, { is_admin: true, tokens_revoked: false }],
      [{ is_admin: false }, { is_admin: false, tokens_revoked: true }],
      [{ is_active: false }, { is_active: false, tokens_revoked: true }],
      [{ is_active: true }, { is_active: true, tokens_revoked: false }],
      [{ password: 'reset-secret-pw-1' }, { password_reset: true, tokens_revoked: true }],
    ];
    for (const [json, details] of cases) {
      const res = await send(json);
      expect(res.status).toBe(200);
      expect(await byRequest({ h, reader }, rid(res))).toEqual([
        userEntry(h, {
          action: 'user.updated',
          actor_user_id: admin.user.user_id,
          target_id: user.user.user_id,
          details,
          request_id: rid(res),
        }),
      ]);
    }
    expect(JSON.stringify(await collect({ h, reader }, {}, 200))).not.toContain('reset-secret-pw-1');
  });

  it('user.deleted by DELETE /users/{id}; the deleted user’s own entries stay', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const user = await h.createUser();
    const login = await h.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: user.password },
    });
    expect(login.status).toBe(200);
    const res = await h.delete(`${USERS}/${user.user.user_id}`, { token: admin.token });
    expect(res.status).toBe(204);
    expect(await byRequest({ h, reader }, rid(res))).toEqual([
      userEntry(h, {
        action: 'user.deleted',
        actor_user_id: admin.user.user_id,
        target_id: user.user.user_id,
        details: { email: user.user.email },
        request_id: rid(res),
      }),
    ]);
    const own = await page({ h, reader }, { user_id: user.user.user_id });
    expect(own.items.map((e) => e.action)).toEqual(['auth.login', 'user.created']);
  });

  it('auth.login by POST /auth/login, with remember_me and the client', async ({ reader, h }) => {
    const user = await h.createUser({ password: 'login-secret-pw' });
    const plain = await h.post('/api/v1/auth/login', {
      json: { email: user.user.email.toUpperCase(), password: 'login-secret-pw' },
    });
    expect(plain.status).toBe(200);
    const remembered = await h.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: 'login-secret-pw', remember_me: true },
      headers: { 'x-test-client': '10.0.0.7' },
    });
    expect(remembered.status).toBe(200);
    const base = { action: 'auth.login', actor_user_id: user.user.user_id, target_id: user.user.user_id };
    expect(await page({ h, reader }, { user_id: user.user.user_id, action: 'auth.login' })).toEqual({
      items: [
        userEntry(h, {
          ...base,
          details: { remember_me: true, client: '10.0.0.7' },
          request_id: rid(remembered),
        }),
        userEntry(h, {
          ...base,
          details: { remember_me: false, client: 'test-client' },
          request_id: rid(plain),
        }),
      ],
      next_cursor: null,
    });
    expect(JSON.stringify(await collect({ h, reader }, {}, 200))).not.toContain('login-secret-pw');
  });

  it('auth.login_failed for a wrong password and for an unknown email, never with the password', async ({
    reader,
    h,
  }) => {
    const user = await h.createUser();
    const wrong = await h.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: 'wrong-secret-pw-1' },
    });
    expect(wrong.status).toBe(401);
    expect(await byRequest({ h, reader }, rid(wrong))).toEqual([
      userEntry(h, {
        action: 'auth.login_failed',
        actor_user_id: null,
        target_id: user.user.user_id,
        details: { email: user.user.email, client: 'test-client' },
        request_id: rid(wrong),
      }),
    ]);

    const email = `Nobody-${crypto.randomUUID().slice(0, 8)}@Example.com`;
    const unknown = await h.post('/api/v1/auth/login', { json: { email, password: 'wrong-secret-pw-2' } });
    expect(unknown.status).toBe(401);
    expect(await byRequest({ h, reader }, rid(unknown))).toEqual([
      userEntry(h, {
        action: 'auth.login_failed',
        actor_user_id: null,
        target_id: null,
        details: { email: email.toLowerCase(), client: 'test-client' },
        request_id: rid(unknown),
      }),
    ]);
    const log = JSON.stringify(await collect({ h, reader }, {}, 200));
    expect(log).not.toContain('wrong-secret-pw-1');
    expect(log).not.toContain('wrong-secret-pw-2');
  });

  it('auth.logout by POST /auth/logout', async ({ reader, h }) => {
    const user = await h.createUser();
    const res = await h.post('/api/v1/auth/logout', { token: user.token });
    expect(res.status).toBe(204);
    expect(await byRequest({ h, reader }, rid(res))).toEqual([
      userEntry(h, {
        action: 'auth.logout',
        actor_user_id: user.user.user_id,
        target_id: user.user.user_id,
        request_id: rid(res),
      }),
    ]);
  });

  it('auth.password_changed by PATCH /auth/me, never with either password', async ({ reader, h }) => {
    const user = await h.createUser({ password: 'old-secret-pw-1' });
    const res = await h.patch('/api/v1/auth/me', {
      token: user.token,
      json: { current_password: 'old-secret-pw-1', new_password: 'new-secret-pw-1' },
    });
    expect(res.status).toBe(200);
    expect(await byRequest({ h, reader }, rid(res))).toEqual([
      userEntry(h, {
        action: 'auth.password_changed',
        actor_user_id: user.user.user_id,
        target_id: user.user.user_id,
        request_id: rid(res),
      }),
    ]);
    const log = JSON.stringify(await collect({ h, reader }, {}, 200));
    expect(log).not.toContain('old-secret-pw-1');
    expect(log).not.toContain('new-secret-pw-1');
  });

  it('a password and name change by PATCH /auth/me writes both entries, newest first', async ({
    reader,
    h,
  }) => {
    const user = await h.createUser({ password: 'old-secret-pw-2' });
    const res = await h.patch('/api/v1/auth/me', {
      token: user.token,
      json: { display_name: 'Both', current_password: 'old-secret-pw-2', new_password: 'new-secret-pw-2' },
    });
    expect(res.status).toBe(200);
    const base = { actor_user_id: user.user.user_id, target_id: user.user.user_id, request_id: rid(res) };
    expect(await byRequest({ h, reader }, rid(res))).toEqual([
      userEntry(h, { ...base, action: 'user.updated', details: { display_name: 'Both' } }),
      userEntry(h, { ...base, action: 'auth.password_changed' }),
    ]);
  });

  it('refused and read-only requests record nothing', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const plain = await h.createUser();
    const before = await collect({ h, reader }, {}, 200);
    const responses = [
      await h.post(USERS, { token: admin.token, json: { email: 'bad', password: 'x' } }),
      await h.post(USERS, { token: admin.token, json: { email: plain.user.email, password: 'long-enough' } }),
      await h.patch(`${USERS}/system`, { token: admin.token, json: { display_name: 'x' } }),
      await h.delete(`${USERS}/nobody`, { token: admin.token }),
      await h.post(USERS, {
        token: plain.token,
        json: { email: 'new@example.com', password: 'long-enough' },
      }),
      await h.get(USERS, { token: admin.token }),
      await h.get(`${USERS}/${plain.user.user_id}`, { token: admin.token }),
      await h.get('/api/v1/auth/me', { token: plain.token }),
      await h.get(AUDIT, { token: admin.token }),
    ];
    expect(responses.map((r) => r.status)).toEqual([422, 409, 409, 404, 403, 200, 200, 200, 200]);
    expect(await collect({ h, reader }, {}, 200)).toEqual(before);
  });
});

describe('GET /api/v1/audit order and filters', () => {
  it('lists entries newest first', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const steps: Response[] = [];
    h.clock.advance(1000);
    const made = await h.post(USERS, {
      token: admin.token,
      json: { email: `order-${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'password-1' },
    });
    steps.push(made);
    const id = (await made.json()).user_id;
    h.clock.advance(1000);
    steps.push(await h.patch(`${USERS}/${id}`, { token: admin.token, json: { display_name: 'Order' } }));
    h.clock.advance(1000);
    steps.push(await h.delete(`${USERS}/${id}`, { token: admin.token }));

    const { items, next_cursor } = await page({ h, reader }, { user_id: admin.user.user_id });
    expect(next_cursor).toBeNull();
    expect(items.map((e) => [e.action, e.request_id])).toEqual([
      ['user.deleted', rid(steps[2] as Response)],
      ['user.updated', rid(steps[1] as Response)],
      ['user.created', rid(steps[0] as Response)],
      ['user.created', expect.stringMatching(/^fixture-/)],
    ]);
    const t = h.clock.now().getTime();
    expect(items.map((e) => e.at)).toEqual([0, 1000, 2000, 3000].map((ms) => new Date(t - ms).toISOString()));
    const ids = items.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('the whole log is newest first by id', async ({ h, reader }) => {
    const ids = (await collect({ h, reader }, {}, 200)).map((e) => BigInt(e.id));
    expect(ids.length).toBeGreaterThan(0);
    for (let i = 1; i < ids.length; i++) {
      expect((ids[i - 1] as bigint) > (ids[i] as bigint)).toBe(true);
    }
  });

  it('user_id filters by actor, not by target', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const user = await h.createUser();
    const res = await h.patch(`${USERS}/${user.user.user_id}`, {
      token: admin.token,
      json: { display_name: 'T' },
    });
    expect(res.status).toBe(200);
    const own = await page({ h, reader }, { user_id: user.user.user_id });
    expect(own.items.map((e) => [e.actor_user_id, e.action])).toEqual([[user.user.user_id, 'user.created']]);
    const byAdmin = await page({ h, reader }, { user_id: admin.user.user_id });
    expect(byAdmin.items.map((e) => [e.action, e.target_id])).toEqual([
      ['user.updated', user.user.user_id],
      ['user.created', admin.user.user_id],
    ]);
  });

  it('action filters by action, and combines with user_id', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const user = await h.createUser();
    await h.patch(`${USERS}/${user.user.user_id}`, { token: admin.token, json: { max_pending: 3 } });
    const del = await h.delete(`${USERS}/${user.user.user_id}`, { token: admin.token });
    expect(del.status).toBe(204);

    const deletions = await collect({ h, reader }, { action: 'user.deleted' }, 200);
    expect(deletions.length).toBeGreaterThan(0);
    expect(deletions.every((e) => e.action === 'user.deleted')).toBe(true);
    expect(deletions.map((e) => e.request_id)).toContain(rid(del));

    expect(await page({ h, reader }, { user_id: admin.user.user_id, action: 'user.updated' })).toEqual({
      items: [
        userEntry(h, {
          action: 'user.updated',
          actor_user_id: admin.user.user_id,
          target_id: user.user.user_id,
          details: { max_pending: 3, tokens_revoked: false },
        }),
      ],
      next_cursor: null,
    });
    expect(await page({ h, reader }, { user_id: admin.user.user_id, action: 'auth.logout' })).toEqual({
      items: [],
      next_cursor: null,
    });
  });

  it('an unknown user_id gives an empty page', async ({ h, reader }) => {
    expect(await page({ h, reader }, { user_id: 'nobody-at-all' })).toEqual({ items: [], next_cursor: null });
  });

  it('an unknown action is 422', async ({ h, reader }) => {
    const res = await h.get(`${AUDIT}?action=user.exploded`, { token: reader.token });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
        {
          path: 'query.action',
          message: `Invalid option: expected one of ${AuditAction.options.map((o) => `"${o}"`).join('|')}`,
        },
      ]),
    );
  });
});

describe('GET /api/v1/audit pagination', () => {
  /** An admin with exactly `n` entries as actor: its own creation and `n - 1` users it created. */
  async function actorWith(h: Harness, n: number) {
    const admin = await h.createUser({ isAdmin: true });
    for (let i = 1; i < n; i++) {
      const res = await h.post(USERS, {
        token: admin.token,
        json: { email: `page-${i}-${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'password-1' },
      });
      expect(res.status).toBe(201);
    }
    return admin;
  }

  it('pages with a limit cover every entry once, in order', async ({ h, reader }) => {
    const admin = await actorWith(h, 8);
    const query = { user_id: admin.user.user_id };
    const all = await page({ h, reader }, { ...query, limit: 200 });
    expect(all.items).toHaveLength(8);
    expect(all.next_cursor).toBeNull();

    const p1 = await page({ h, reader }, { ...query, limit: 3 });
    expect(p1.items).toEqual(all.items.slice(0, 3));
    expect(p1.next_cursor).toEqual(expect.any(String));
    const p2 = await page({ h, reader }, { ...query, limit: 3, cursor: p1.next_cursor as string });
    expect(p2.items).toEqual(all.items.slice(3, 6));
    expect(p2.next_cursor).toEqual(expect.any(String));
    const p3 = await page({ h, reader }, { ...query, limit: 3, cursor: p2.next_cursor as string });
    expect(p3).toEqual({ items: all.items.slice(6), next_cursor: null });
  });

  it('a last page that is exactly full has no next cursor', async ({ h, reader }) => {
    const admin = await actorWith(h, 4);
    const query = { user_id: admin.user.user_id };
    const p1 = await page({ h, reader }, { ...query, limit: 2 });
    expect(p1.items).toHaveLength(2);
    const p2 = await page({ h, reader }, { ...query, limit: 2, cursor: p1.next_cursor as string });
    expect(p2.items).toHaveLength(2);
    expect(p2.next_cursor).toBeNull();
    expect(await page({ h, reader }, { ...query, limit: 4 })).toEqual({
      items: [...p1.items, ...p2.items],
      next_cursor: null,
    });
    const short = await page({ h, reader }, { ...query, limit: 3 });
    expect(short.next_cursor).toEqual(expect.any(String));
    expect(await page({ h, reader }, { ...query, limit: 3, cursor: short.next_cursor as string })).toEqual({
      items: p2.items.slice(1),
      next_cursor: null,
    });
  });

  it('entries written between pages cause no skips or repeats', async ({ reader, h }) => {
    const admin = await actorWith(h, 6);
    const query = { user_id: admin.user.user_id };
    const before = (await page({ h, reader }, { ...query, limit: 200 })).items;
    const p1 = await page({ h, reader }, { ...query, limit: 2 });
    expect(p1.items).toEqual(before.slice(0, 2));
    const late = await h.patch(`${USERS}/${admin.user.user_id}`, {
      token: admin.token,
      json: { display_name: 'L' },
    });
    expect(late.status).toBe(200);
    const rest = await collect({ h, reader }, { ...query, cursor: p1.next_cursor as string }, 2);
    expect(rest).toEqual(before.slice(2));
    const fresh = await page({ h, reader }, { ...query, limit: 1 });
    expect(fresh.items.map((e) => e.request_id)).toEqual([rid(late)]);
  });

  it('paging the whole log with a small limit equals reading it in large pages', async ({ h, reader }) => {
    const small = await collect({ h, reader }, {}, 7);
    const large = await collect({ h, reader }, {}, 200);
    expect(small).toEqual(large);
    expect(new Set(small.map((e) => e.id)).size).toBe(small.length);
  });

  it('paging a filtered log keeps the filter', async ({ h, reader }) => {
    const small = await collect({ h, reader }, { action: 'user.created' }, 3);
    expect(small.length).toBeGreaterThan(3);
    expect(small.every((e) => e.action === 'user.created')).toBe(true);
    expect(small).toEqual(await collect({ h, reader }, { action: 'user.created' }, 200));
  });

  it('the default limit is 50', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    for (let i = 0; i < 51; i++) {
      const res = await h.patch(`${USERS}/${admin.user.user_id}`, {
        token: admin.token,
        json: { display_name: `Step ${i}` },
      });
      expect(res.status).toBe(200);
    }
    const first = await page({ h, reader }, { user_id: admin.user.user_id });
    expect(first.items).toHaveLength(50);
    expect(first.items[0]?.details).toEqual({ display_name: 'Step 50', tokens_revoked: false });
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await page(
      { h, reader },
      { user_id: admin.user.user_id, cursor: first.next_cursor as string },
    );
    expect(second.items.map((e) => e.action)).toEqual(['user.updated', 'user.created']);
    expect(second.items[0]?.details).toEqual({ display_name: 'Step 0', tokens_revoked: false });
    expect(second.next_cursor).toBeNull();
  });

  it('limit 1 and 200 are accepted', async ({ h, reader }) => {
    expect((await page({ h, reader }, { limit: 1 })).items).toHaveLength(1);
    expect((await page({ h, reader }, { limit: 200 })).items.length).toBeGreaterThan(1);
  });

  it.for(['abc', '0', '-1', '1.5', '1e3', '12abc', ''])(
    'cursor %j is 400 bad_request',
    async (cursor, { h, reader }) => {
      const res = await h.get(`${AUDIT}?cursor=${encodeURIComponent(cursor)}`, { token: reader.token });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toEqual(
        problem(res, 'bad_request', 400, 'Bad request', 'The cursor was not issued by this server.'),
      );
    },
  );

  it.for([
    ['0', 'Too small: expected number to be >=1'],
    ['-3', 'Too small: expected number to be >=1'],
    ['201', 'Too big: expected number to be <=200'],
    ['500', 'Too big: expected number to be <=200'],
    ['2.5', 'Invalid input: expected int, received number'],
    ['abc', 'Invalid input: expected number, received NaN'],
  ] as const)('limit=%s is 422', async ([limit, message], { h, reader }) => {
    const res = await h.get(`${AUDIT}?limit=${limit}`, { token: reader.token });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
        { path: 'query.limit', message },
      ]),
    );
  });
});

runCommonAuthTests(test, 'GET /api/v1/audit', {
  otherUser: 'forbidden',
  prepareRequest: async () => ({
    method: 'GET',
    path: AUDIT,
    forbiddenDetail: 'This action needs an admin.',
    adminStatus: 200,
  }),
});
