import { asc, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditLog, users } from '../../src/db/schema/index.ts';
import { createHarness, type Harness, problem, type TestUser } from '../helpers/harness.ts';
import { forgeToken, unsignedToken } from '../helpers/tokens.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

/** Every user row (hashes and epochs included) and the audit log size: what "nothing changed" compares. */
async function dbState() {
  const rows = await h.db.select().from(users).orderBy(asc(users.userId));
  const [audit] = await h.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { rows, audit: audit?.n };
}

let admin: TestUser;
let plain: TestUser;
let victim: TestUser;
/** Tokens that were valid once, or never were. */
const bad = {
  expired: '',
  wrongKey: '',
  unsigned: '',
  system: '',
  demoted: '',
  deactivated: '',
  deleted: '',
  loggedOut: '',
};

beforeAll(async () => {
  admin = await h.createUser({ isAdmin: true });
  plain = await h.createUser();
  victim = await h.createUser({ displayName: 'Victim' });

  const nowS = Math.floor(h.clock.now().getTime() / 1000);
  const adminClaims = { email: admin.user.email, is_admin: true };
  bad.expired = await forgeToken(admin.user.user_id, { claims: adminClaims, nowS: nowS - 3 * 24 * 3600 });
  bad.wrongKey = await forgeToken(admin.user.user_id, {
    claims: adminClaims,
    nowS,
    key: new TextEncoder().encode('another-secret-another-secret-another-secret'),
  });
  bad.unsigned = unsignedToken({
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
  bad.system = await forgeToken('system', { claims: { email: 'system', is_admin: true }, nowS });

  const demoted = await h.createUser({ isAdmin: true });
  bad.demoted = demoted.token;
  const deactivated = await h.createUser({ isAdmin: true });
  bad.deactivated = deactivated.token;
  const deleted = await h.createUser({ isAdmin: true });
  bad.deleted = deleted.token;
  const loggedOut = await h.createUser({ isAdmin: true });
  bad.loggedOut = loggedOut.token;

  const ok = async (res: Promise<Response>, status: number) => expect((await res).status).toBe(status);
  await ok(
    h.patch(`/api/v1/users/${demoted.user.user_id}`, { token: admin.token, json: { is_admin: false } }),
    200,
  );
  await ok(
    h.patch(`/api/v1/users/${deactivated.user.user_id}`, { token: admin.token, json: { is_active: false } }),
    200,
  );
  await ok(h.delete(`/api/v1/users/${deleted.user.user_id}`, { token: admin.token }), 204);
  await ok(h.post('/api/v1/auth/logout', { token: loggedOut.token }), 204);
});

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
  headers: () => Record<string, string>;
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
    headers: () => ({ Authorization: `Bearer ${bad.wrongKey}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token is invalid.',
  },
  {
    name: 'an unsigned (alg none) admin token',
    headers: () => ({ Authorization: `Bearer ${bad.unsigned}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token is invalid.',
  },
  {
    name: 'an expired admin token',
    headers: () => ({ Authorization: `Bearer ${bad.expired}` }),
    code: 'token_expired',
    title: 'Token expired',
    detail: 'The token has expired.',
  },
  {
    name: 'a token for the system user',
    headers: () => ({ Authorization: `Bearer ${bad.system}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The account is deleted or inactive.',
  },
  {
    name: 'the old token of a demoted admin',
    headers: () => ({ Authorization: `Bearer ${bad.demoted}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token has been revoked.',
  },
  {
    name: 'the token of a deactivated admin',
    headers: () => ({ Authorization: `Bearer ${bad.deactivated}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The account is deleted or inactive.',
  },
  {
    name: 'the token of a deleted admin',
    headers: () => ({ Authorization: `Bearer ${bad.deleted}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The account is deleted or inactive.',
  },
  {
    name: 'a logged-out admin token',
    headers: () => ({ Authorization: `Bearer ${bad.loggedOut}` }),
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'The token has been revoked.',
  },
];

function send(route: Route, targetId: string, o: { token?: string; headers?: Record<string, string> }) {
  return h.request(route.method, route.path(targetId), { ...o, json: route.json?.() });
}

describe.each(ROUTES)('$name', (route) => {
  let before: Awaited<ReturnType<typeof dbState>>;
  beforeEach(async () => {
    before = await dbState();
  });

  it.each(BAD_CREDENTIALS)('$name → 401 and nothing changes', async (cred) => {
    const res = await send(route, victim.user.user_id, { headers: cred.headers() });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    expect(await res.json()).toEqual(problem(res, cred.code, 401, cred.title, cred.detail));
    expect(await dbState()).toEqual(before);
  });

  it('a non-admin token → 403 and nothing changes', async () => {
    const res = await send(route, victim.user.user_id, { token: plain.token });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    expect(await res.json()).toEqual(
      problem(res, 'forbidden', 403, 'Forbidden', 'This action needs an admin.'),
    );
    expect(await dbState()).toEqual(before);
  });

  it('a non-admin aiming at their own account → 403 and nothing changes', async () => {
    const res = await send(route, plain.user.user_id, { token: plain.token });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(
      problem(res, 'forbidden', 403, 'Forbidden', 'This action needs an admin.'),
    );
    expect(await dbState()).toEqual(before);
  });
});

describe.each(ROUTES.filter((r) => r.json))('$name', (route) => {
  let before: Awaited<ReturnType<typeof dbState>>;
  beforeEach(async () => {
    before = await dbState();
  });

  it('a non-admin with a malformed body → 403, not 400, and nothing changes', async () => {
    const res = await h.request(route.method, route.path(victim.user.user_id), {
      token: plain.token,
      body: '{not json',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(
      problem(res, 'forbidden', 403, 'Forbidden', 'This action needs an admin.'),
    );
    expect(await dbState()).toEqual(before);
  });
});

describe('after all refused attempts', () => {
  it('the victim, the plain user and the admin are as they were', async () => {
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

  it('the admin can still use every route', async () => {
    const id = victim.user.user_id;
    for (const route of ROUTES) {
      const res = await send(route, id, { token: admin.token });
      expect(res.status).toBe(route.ok);
    }
  });
});
