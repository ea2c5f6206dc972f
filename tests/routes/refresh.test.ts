import { requestId } from 'hono/request-id';
import { describe, expect } from 'vitest';
import { auth } from '../../src/http/middleware/auth.ts';
import { refreshToken } from '../../src/http/middleware/refresh-token.ts';
import { createRouter } from '../../src/http/openapi.ts';
import { handleError } from '../../src/http/problem.ts';
import { it } from '../helpers/fixtures.ts';
import type { Harness } from '../helpers/harness.ts';
import { decodeJwt } from '../helpers/tokens.ts';

const DAY = 24 * 3600;

/** Only the middleware under test, with one route per method, on the harness's deps. */
function miniApp(h: Harness) {
  const app = createRouter();
  app.use(requestId());
  app.use(async (c, next) => {
    c.set('deps', h.deps);
    await next();
  });
  app.onError(handleError);
  app.use(auth({ mode: 'multiuser', publicPaths: ['/open'] }));
  app.use(refreshToken({ exceptPaths: ['/skip'] }));
  for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
    app[method]('/thing', (c) => c.json({ ok: true }));
  }
  app.post('/fail', (c) => c.json({ ok: false }, 409));
  app.post('/open', (c) => c.json({ ok: true }));
  app.post('/skip', (c) => c.json({ ok: true }));
  return app;
}

const call = (h: Harness, method: string, path: string, token?: string) =>
  miniApp(h).request(path, { method, headers: token ? { Authorization: `Bearer ${token}` } : {} });

describe('sliding refresh (middleware)', () => {
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    it(`${method} with a valid token answers X-Refreshed-Token`, async ({ h, admin }) => {
      const res = await call(h, method, '/thing', admin.token);
      expect(res.status).toBe(200);
      const refreshed = res.headers.get('x-refreshed-token');
      expect(refreshed).toBeTruthy();
      expect(decodeJwt(refreshed ?? '').sub).toBe(admin.user.user_id);
      expect(refreshed).not.toBe(admin.token);
    });
  }

  it('GET and HEAD never refresh', async ({ h, admin }) => {
    expect((await call(h, 'GET', '/thing', admin.token)).headers.get('x-refreshed-token')).toBeNull();
    expect((await call(h, 'HEAD', '/thing', admin.token)).headers.get('x-refreshed-token')).toBeNull();
  });

  it('a failed request (status >= 400) does not refresh', async ({ h, admin }) => {
    const res = await call(h, 'POST', '/fail', admin.token);
    expect(res.status).toBe(409);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
  });

  it('an unauthenticated request does not refresh', async ({ h }) => {
    const res = await call(h, 'POST', '/open');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
  });

  it('an excepted path does not refresh', async ({ h, admin }) => {
    const res = await call(h, 'POST', '/skip', admin.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
  });
});

describe('sliding refresh (real routes)', () => {
  it('login, setup and logout answer no refreshed token; GET /me neither', async ({ h }) => {
    const u = await h.createUser();
    const login = await h.post('/api/v1/auth/login', { json: { email: u.user.email, password: u.password } });
    expect(login.status).toBe(200);
    expect(login.headers.get('x-refreshed-token')).toBeNull();
    expect((await h.get('/api/v1/auth/me', { token: u.token })).headers.get('x-refreshed-token')).toBeNull();
    expect(
      (await h.post('/api/v1/auth/logout', { token: u.token })).headers.get('x-refreshed-token'),
    ).toBeNull();
  });

  it('PATCH /auth/me, POST and DELETE /users refresh', async ({ h, admin }) => {
    const patched = await h.patch('/api/v1/auth/me', { token: admin.token, json: { display_name: 'Boss' } });
    expect(patched.headers.get('x-refreshed-token')).toBeTruthy();
    const created = await h.post('/api/v1/users', {
      token: admin.token,
      json: { email: `r-${crypto.randomUUID()}@example.com`, password: 'password123' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-refreshed-token')).toBeTruthy();
    const { user_id } = await created.json();
    const deleted = await h.delete(`/api/v1/users/${user_id}`, { token: admin.token });
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get('x-refreshed-token')).toBeTruthy();
  });

  it('a normal token near expiry refreshes to 1 day from now', async ({ h }) => {
    const u = await h.createUser();
    h.clock.advance((DAY - 60) * 1000);
    const res = await h.patch('/api/v1/auth/me', { token: u.token, json: { display_name: 'Near expiry' } });
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.headers.get('x-refreshed-token') ?? '');
    const nowS = Math.floor(h.clock.now().getTime() / 1000);
    expect(claims.remember_me).toBe(false);
    expect(claims.iat).toBe(nowS);
    expect(claims.exp).toBe(nowS + DAY);
  });

  it('a remember-me token near expiry refreshes to 7 days, and keeps its class over several cycles', async ({
    h,
  }) => {
    let { token } = await h.createUser({ rememberMe: true });
    for (let cycle = 0; cycle < 4; cycle++) {
      h.clock.advance((7 * DAY - 60) * 1000);
      const res = await h.patch('/api/v1/auth/me', { token, json: { display_name: `Cycle ${cycle}` } });
      expect(res.status).toBe(200);
      token = res.headers.get('x-refreshed-token') ?? '';
      const claims = decodeJwt(token);
      const nowS = Math.floor(h.clock.now().getTime() / 1000);
      expect(claims.remember_me).toBe(true);
      expect(claims.exp).toBe(nowS + 7 * DAY);
    }
    expect((await h.get('/api/v1/auth/me', { token })).status).toBe(200);
  });

  it('the refreshed token carries the current rights (a promotion shows in the next token)', async ({
    h,
  }) => {
    const u = await h.createUser();
    const boss = await h.createUser({ isAdmin: true });
    // The account is kept now (the identity cache); the refresh must still read the promotion.
    expect((await h.get('/api/v1/auth/me', { token: u.token })).status).toBe(200);
    const promoted = await h.patch(`/api/v1/users/${u.user.user_id}`, {
      token: boss.token,
      json: { is_admin: true },
    });
    expect(promoted.status).toBe(200);
    const res = await h.patch('/api/v1/auth/me', { token: u.token, json: { display_name: 'Promoted' } });
    expect(decodeJwt(res.headers.get('x-refreshed-token') ?? '').is_admin).toBe(true);
  });

  it('a request that revokes its own token gets no refreshed token (self-demotion)', async ({ h }) => {
    const other = await h.createUser({ isAdmin: true });
    expect((await h.get('/api/v1/auth/me', { token: other.token })).status).toBe(200);
    const res = await h.patch(`/api/v1/users/${other.user.user_id}`, {
      token: other.token,
      json: { is_admin: false },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    expect((await h.get('/api/v1/auth/me', { token: other.token })).status).toBe(401);
  });

  it('a password change answers the replacement token, which keeps remember-me', async ({ h }) => {
    const u = await h.createUser({ rememberMe: true });
    const res = await h.patch('/api/v1/auth/me', {
      token: u.token,
      json: { current_password: u.password, new_password: 'another long password' },
    });
    expect(res.status).toBe(200);
    const replacement = res.headers.get('x-refreshed-token') ?? '';
    const claims = decodeJwt(replacement);
    expect(claims.remember_me).toBe(true);
    expect(claims.epoch).toBe(1);
    expect((await h.get('/api/v1/auth/me', { token: replacement })).status).toBe(200);
    expect((await h.get('/api/v1/auth/me', { token: u.token })).status).toBe(401);
  });
});
