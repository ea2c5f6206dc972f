import { describe, expect } from 'vitest';
import { test as fileTest } from '../helpers/fixtures.ts';
import { type Harness, problem } from '../helpers/harness.ts';
import { runCommonAuthTests } from '../helpers/security.ts';
import { forgeToken, unsignedToken } from '../helpers/tokens.ts';
import { dbState } from '../helpers/users.ts';

/** Tokens that were valid once, or never were. */
interface BadTokens {
  expired: string;
  wrongKey: string;
  unsigned: string;
  system: string;
  demoted: string;
  deactivated: string;
  deleted: string;
  loggedOut: string;
}

/**
 * The file's test API: `plain` (a user), `victim` (the account every refused request aims at) and `bad`, the
 * bad tokens, made after the admin, `plain` and `victim` (a hook that snapshots the users asks for `bad`).
 */
const test = fileTest
  .extend('plain', { scope: 'file' }, ({ h }) => h.createUser())
  .extend('victim', { scope: 'file' }, ({ h }) => h.createUser({ displayName: 'Victim' }))
  .extend(
    'bad',
    { scope: 'file' },
    async ({ h, admin, plain: _plain, victim: _victim }): Promise<BadTokens> => {
      const nowS = Math.floor(h.clock.now().getTime() / 1000);
      const adminClaims = { email: admin.user.email, is_admin: true };
      const expired = await forgeToken(admin.user.user_id, {
        claims: adminClaims,
        nowS: nowS - 3 * 24 * 3600,
      });
      const wrongKey = await forgeToken(admin.user.user_id, {
        claims: adminClaims,
        nowS,
        key: new TextEncoder().encode('another-secret-another-secret-another-secret'),
      });
      const unsigned = unsignedToken({
        sub: admin.user.user_id,
        ...adminClaims,
        remember_me: false,
        epoch: 0,
        jti: crypto.randomUUID(),
        iat: nowS,
        exp: nowS + 3600,
        iss: 'easel',
        aud: 'easel-api',
      });
      const system = await forgeToken('system', { claims: { email: 'system', is_admin: true }, nowS });

      const demoted = await h.createUser({ isAdmin: true });
      const deactivated = await h.createUser({ isAdmin: true });
      const deleted = await h.createUser({ isAdmin: true });
      const loggedOut = await h.createUser({ isAdmin: true });

      const ok = async (res: Promise<Response>, status: number) => expect((await res).status).toBe(status);
      await ok(
        h.patch(`/api/v1/users/${demoted.user.user_id}`, { token: admin.token, json: { is_admin: false } }),
        200,
      );
      await ok(
        h.patch(`/api/v1/users/${deactivated.user.user_id}`, {
          token: admin.token,
          json: { is_active: false },
        }),
        200,
      );
      await ok(h.delete(`/api/v1/users/${deleted.user.user_id}`, { token: admin.token }), 204);
      await ok(h.post('/api/v1/auth/logout', { token: loggedOut.token }), 204);
      return {
        expired,
        wrongKey,
        unsigned,
        system,
        demoted: demoted.token,
        deactivated: deactivated.token,
        deleted: deleted.token,
        loggedOut: loggedOut.token,
      };
    },
  );
const it = test;

interface Route {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: (targetId: string) => string;
  json?: () => unknown;
  /** The status an admin gets. */
  ok: number;
}

const ROUTES: Route[] = [
  { name: 'GET /api/v1/users', method: 'GET', path: () => '/api/v1/users', ok: 200 },
  {
    name: 'POST /api/v1/users',
    method: 'POST',
    path: () => '/api/v1/users',
    json: () => ({
      email: `intruder-${crypto.randomUUID().slice(0, 8)}@example.com`,
      password: 'intruder-password',
      is_admin: true,
    }),
    ok: 201,
  },
  { name: 'GET /api/v1/users/{user_id}', method: 'GET', path: (id) => `/api/v1/users/${id}`, ok: 200 },
  {
    name: 'PATCH /api/v1/users/{user_id}',
    method: 'PATCH',
    path: (id) => `/api/v1/users/${id}`,
    json: () => ({ is_admin: true, display_name: 'Owned', max_pending: 999_999, password: 'taken-over-1' }),
    ok: 200,
  },
  { name: 'DELETE /api/v1/users/{user_id}', method: 'DELETE', path: (id) => `/api/v1/users/${id}`, ok: 204 },
  { name: 'GET /api/v1/audit', method: 'GET', path: () => '/api/v1/audit?limit=200', ok: 200 },
];

const BAD_CREDENTIALS: {
  name: string;
  headers: (bad: BadTokens) => Record<string, string>;
  code: string;
  title: string;
  detail: string;
}[] = [
  {
    name: 'no token',
    headers: () => ({}),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'A bearer token is required.',
  },
  {
    name: 'a Basic header',
    headers: () => ({ Authorization: 'Basic YWRtaW46YWRtaW4=' }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'A bearer token is required.',
  },
  {
    name: 'a malformed token',
    headers: () => ({ Authorization: 'Bearer not.a.jwt' }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token is invalid.',
  },
  {
    name: 'a token signed with another key',
    headers: (bad) => ({ Authorization: `Bearer ${bad.wrongKey}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token is invalid.',
  },
  {
    name: 'an unsigned (alg none) admin token',
    headers: (bad) => ({ Authorization: `Bearer ${bad.unsigned}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token is invalid.',
  },
  {
    name: 'an expired admin token',
    headers: (bad) => ({ Authorization: `Bearer ${bad.expired}` }),
    code: 'token_expired',
    title: 'Token expired',
    detail: 'The token has expired.',
  },
  {
    name: 'a token for the system user',
    headers: (bad) => ({ Authorization: `Bearer ${bad.system}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The account is deleted or inactive.',
  },
  {
    name: 'the old token of a demoted admin',
    headers: (bad) => ({ Authorization: `Bearer ${bad.demoted}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token has been revoked.',
  },
  {
    name: 'the token of a deactivated admin',
    headers: (bad) => ({ Authorization: `Bearer ${bad.deactivated}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The account is deleted or inactive.',
  },
  {
    name: 'the token of a deleted admin',
    headers: (bad) => ({ Authorization: `Bearer ${bad.deleted}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The account is deleted or inactive.',
  },
  {
    name: 'a logged-out admin token',
    headers: (bad) => ({ Authorization: `Bearer ${bad.loggedOut}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token has been revoked.',
  },
];

function send(
  h: Harness,
  route: Route,
  targetId: string,
  o: { token?: string; headers?: Record<string, string> },
) {
  return h.request(route.method, route.path(targetId), { ...o, json: route.json?.() });
}

describe.each(ROUTES)('$name', (route) => {
  let before: Awaited<ReturnType<typeof dbState>>;
  test.beforeEach(async ({ h, bad: _bad }) => {
    before = await dbState(h);
  });

  it.for(BAD_CREDENTIALS)('$name → 401 and nothing changes', async (cred, { h, victim, bad }) => {
    const res = await send(h, route, victim.user.user_id, { headers: cred.headers(bad) });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    expect(await res.json()).toEqual(problem(res, cred.code, 401, cred.title, cred.detail));
    expect(await dbState(h)).toEqual(before);
  });

  it('a non-admin token → 403 and nothing changes', async ({ h, plain, victim }) => {
    const res = await send(h, route, victim.user.user_id, { token: plain.token });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    expect(await res.json()).toEqual(
      problem(res, 'forbidden', 403, 'Forbidden', 'This action needs an admin.'),
    );
    expect(await dbState(h)).toEqual(before);
  });

  it('a non-admin aiming at their own account → 403 and nothing changes', async ({ h, plain }) => {
    const res = await send(h, route, plain.user.user_id, { token: plain.token });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(
      problem(res, 'forbidden', 403, 'Forbidden', 'This action needs an admin.'),
    );
    expect(await dbState(h)).toEqual(before);
  });
});

describe.each(ROUTES.filter((r) => r.json))('$name', (route) => {
  let before: Awaited<ReturnType<typeof dbState>>;
  test.beforeEach(async ({ h, bad: _bad }) => {
    before = await dbState(h);
  });

  it('a non-admin with a malformed body → 403, not 400, and nothing changes', async ({
    h,
    plain,
    victim,
  }) => {
    const res = await h.request(route.method, route.path(victim.user.user_id), {
      token: plain.token,
      body: '{not json',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(
      problem(res, 'forbidden', 403, 'Forbidden', 'This action needs an admin.'),
    );
    expect(await dbState(h)).toEqual(before);
  });
});

describe('after all refused attempts', () => {
  it('the victim, the plain user and the admin are as they were', async ({ h, admin, plain, victim }) => {
    const res = await h.get('/api/v1/users', { token: admin.token });
    expect(res.status).toBe(200);
    const listed = await res.json();
    expect(listed).toContainEqual(victim.user);
    expect(listed).toContainEqual(plain.user);
    expect(listed).toContainEqual(admin.user);
    expect(listed.filter((u: { email: string }) => u.email.startsWith('intruder-'))).toEqual([]);
    const me = await h.get('/api/v1/auth/me', { token: plain.token });
    expect(await me.json()).toEqual(plain.user);
    const login = await h.post('/api/v1/auth/login', {
      json: { email: victim.user.email, password: victim.password },
    });
    expect(login.status).toBe(200);
  });

  it('the admin can still use every route', async ({ h, admin, victim }) => {
    const id = victim.user.user_id;
    for (const route of ROUTES) {
      const res = await send(h, route, id, { token: admin.token });
      expect(res.status).toBe(route.ok);
    }
  });
});

// The shared suite on each admin-only route: a plain user is 403, an admin reaches it (the audit route's is in
// audit.*.test.ts). Each request aims at a user made for it.
for (const route of ROUTES.filter((r) => r.path('').startsWith('/api/v1/users'))) {
  runCommonAuthTests(test, route.name, {
    otherUser: 'forbidden',
    prepareRequest: async (h) => {
      const target = await h.createUser();
      return {
        method: route.method,
        path: route.path(target.user.user_id),
        json: route.json?.(),
        forbiddenDetail: 'This action needs an admin.',
        adminStatus: route.ok,
      };
    },
  });
}
