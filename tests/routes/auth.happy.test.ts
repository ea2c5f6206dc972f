import { describe, expect } from 'vitest';
import { it } from '../helpers/fixtures.ts';
import { problem } from '../helpers/harness.ts';
import { decodeJwt } from '../helpers/tokens.ts';

const userShape = (email: string, displayName: string, isAdmin: boolean) => ({
  user_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
  email,
  display_name: displayName,
  is_admin: isAdmin,
  is_active: true,
  max_pending: 1000,
  created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  last_login_at: null,
});

describe('first set-up', () => {
  it('status says set-up is required, set-up creates the admin once, then 409', async ({ h }) => {
    await h.reset();
    const before = await h.get('/api/v1/auth/status');
    expect(await before.json()).toEqual({ setup_required: true, multiuser_enabled: true });

    const res = await h.post('/api/v1/auth/setup', {
      json: { email: 'Root@Example.com', password: 'first admin pw' },
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toEqual({
      token: expect.any(String),
      expires_in: 86400,
      user: userShape('root@example.com', 'root', true),
    });
    const claims = decodeJwt(body.token);
    expect(claims).toMatchObject({
      sub: body.user.user_id,
      email: 'root@example.com',
      is_admin: true,
      remember_me: false,
      epoch: 0,
      iss: 'easel',
      aud: 'easel-api',
    });
    expect(claims.exp).toBe((claims.iat ?? 0) + 86400);
    expect((await h.get('/api/v1/auth/me', { token: body.token })).status).toBe(200);

    const after = await h.get('/api/v1/auth/status');
    expect(await after.json()).toEqual({ setup_required: false, multiuser_enabled: true });

    const again = await h.post('/api/v1/auth/setup', {
      json: { email: 'x@example.com', password: 'another pw1' },
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual(
      problem(again, 'already_set_up', 409, 'Already set up', 'Easel is already set up.'),
    );
  });

  it('two concurrent set-ups make exactly one admin', async ({ h }) => {
    await h.reset();
    const results = await Promise.all(
      ['a', 'b', 'c'].map((n) =>
        h.post('/api/v1/auth/setup', { json: { email: `${n}@example.com`, password: 'password1' } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it('set-up takes a display name', async ({ h }) => {
    await h.reset();
    const res = await h.post('/api/v1/auth/setup', {
      json: { email: 'named@example.com', password: 'password1', display_name: '  Ada  ' },
    });
    expect((await res.json()).user.display_name).toBe('Ada');
  });
});

describe('login', () => {
  it('exchanges credentials for a 1-day token and records last_login_at', async ({ h }) => {
    const u = await h.createUser({ email: 'Login.Case@Example.com' });
    const res = await h.post('/api/v1/auth/login', {
      json: { email: 'LOGIN.case@example.com', password: u.password },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      token: expect.any(String),
      expires_in: 86400,
      user: { ...u.user, last_login_at: h.clock.now().toISOString() },
    });
    expect(decodeJwt(body.token).remember_me).toBe(false);
  });

  it('remember_me gives a 7-day token', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.post('/api/v1/auth/login', {
      json: { email: u.user.email, password: u.password, remember_me: true },
    });
    const body = await res.json();
    expect(body.expires_in).toBe(604800);
    const claims = decodeJwt(body.token);
    expect(claims.remember_me).toBe(true);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(604800);
  });
});

describe('me', () => {
  it('GET /auth/me returns the caller', async ({ h }) => {
    const u = await h.createUser({ displayName: 'Me Myself' });
    const res = await h.get('/api/v1/auth/me', { token: u.token });
    expect(await res.json()).toEqual({ ...u.user, display_name: 'Me Myself' });
  });

  it('PATCH /auth/me changes the display name without revoking the token', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.patch('/api/v1/auth/me', { token: u.token, json: { display_name: 'Renamed' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...u.user, display_name: 'Renamed' });
    expect((await h.get('/api/v1/auth/me', { token: u.token })).status).toBe(200);
  });

  it('a password change makes the new password the only one that logs in', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.patch('/api/v1/auth/me', {
      token: u.token,
      json: { current_password: u.password, new_password: 'the new password' },
    });
    expect(res.status).toBe(200);
    const client = { 'x-test-client': `pw-change-${u.user.user_id}` };
    const oldLogin = await h.post('/api/v1/auth/login', {
      json: { email: u.user.email, password: u.password },
      headers: client,
    });
    expect(oldLogin.status).toBe(401);
    const newLogin = await h.post('/api/v1/auth/login', {
      json: { email: u.user.email, password: 'the new password' },
      headers: client,
    });
    expect(newLogin.status).toBe(200);
  });

  it('logout answers 204 and the token stops working', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.post('/api/v1/auth/logout', { token: u.token });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await h.get('/api/v1/auth/me', { token: u.token })).status).toBe(401);
  });
});

describe('passwords stay secret', () => {
  it('no log line carries a password', async ({ h }) => {
    const u = await h.createUser({ password: 'very-secret-pass-123' });
    await h.post('/api/v1/auth/login', { json: { email: u.user.email, password: 'very-secret-pass-123' } });
    await h.post('/api/v1/auth/login', { json: { email: u.user.email, password: 'wrong-secret-pass-456' } });
    await h.patch('/api/v1/auth/me', {
      token: u.token,
      json: { current_password: 'very-secret-pass-123', new_password: 'next-secret-pass-789' },
    });
    const text = JSON.stringify(h.logs);
    expect(h.logs.length).toBeGreaterThan(2);
    for (const pw of ['very-secret-pass-123', 'wrong-secret-pass-456', 'next-secret-pass-789']) {
      expect(text).not.toContain(pw);
    }
  });
});
