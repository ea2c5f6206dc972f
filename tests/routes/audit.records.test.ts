import { describe, expect } from 'vitest';
import { AUDIT, byRequest, collect, it, page, rid, USERS, userEntry } from '../helpers/audit.ts';

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
