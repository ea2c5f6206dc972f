import { describe, expect } from 'vitest';
import { harnessTest } from '../helpers/fixtures.ts';
import { problem } from '../helpers/harness.ts';

const it = harnessTest({ config: { authMode: 'single' } });

describe('single-user mode', () => {
  it('auth/status says multiuser is off and no set-up is needed', async ({ h }) => {
    const res = await h.get('/api/v1/auth/status');
    expect(await res.json()).toEqual({ setup_required: false, multiuser_enabled: false });
  });

  it('every request is the admin user system, without a token', async ({ h }) => {
    const me = await h.get('/api/v1/auth/me');
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({
      user_id: 'system',
      email: 'system',
      display_name: 'System',
      is_admin: true,
      is_active: true,
      max_pending: 1000,
      created_at: expect.any(String),
      last_login_at: null,
    });
    const users = await h.get('/api/v1/users');
    expect(users.status).toBe(200);
    expect(await users.json()).toEqual([]);
    expect((await h.get('/metrics')).status).toBe(200);
  });

  it('admin actions work and answer no refreshed token', async ({ h }) => {
    const res = await h.post('/api/v1/users', { json: { email: 'solo@example.com', password: 'password1' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
  });

  it('there is no login or set-up (409)', async ({ h }) => {
    const res = await h.post('/api/v1/auth/login', {
      json: { email: 'solo@example.com', password: 'password1' },
    });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual(
      problem(res, 'conflict', 409, 'Conflict', 'Easel runs in single-user mode: there is no login.'),
    );
    const setup = await h.post('/api/v1/auth/setup', {
      json: { email: 'x@example.com', password: 'password1' },
    });
    expect(setup.status).toBe(409);
  });

  it('the system user cannot be changed', async ({ h }) => {
    const res = await h.patch('/api/v1/auth/me', { json: { display_name: 'Root' } });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual(
      problem(res, 'conflict', 409, 'Conflict', 'The system user cannot be changed.'),
    );
  });
});
