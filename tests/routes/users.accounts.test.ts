import { describe, expect } from 'vitest';
import type { User } from '../../src/services/users/index.ts';
import { it } from '../helpers/fixtures.ts';
import { problem } from '../helpers/harness.ts';
import {
  asJson,
  expectRevoked,
  expectTokenWorks,
  login,
  newAdmin,
  USERS,
  uniqueEmail,
} from '../helpers/users.ts';

describe('POST /api/v1/users', () => {
  it('creates a user with a lower-cased email, a default display name and the default quota', async ({
    h,
  }) => {
    const admin = await newAdmin(h);
    const local = `Mixed.Case-${crypto.randomUUID().slice(0, 8)}`;
    const res = await h.post(USERS, {
      token: admin.token,
      json: { email: `${local}@Example.COM`, password: 'a-good-password' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toEqual({
      user_id: expect.any(String),
      email: `${local.toLowerCase()}@example.com`,
      display_name: local.toLowerCase(),
      is_admin: false,
      is_active: true,
      max_pending: 1000,
      created_at: h.clock.now().toISOString(),
      last_login_at: null,
    });
    expect(body).not.toHaveProperty('password');
    expect(body).not.toHaveProperty('password_hash');
    // A successful mutating request slides the admin's session.
    expect(res.headers.get('x-refreshed-token')).toEqual(expect.any(String));

    const got = await h.get(`${USERS}/${body.user_id}`, { token: admin.token });
    expect(got.status).toBe(200);
    expect(got.headers.get('x-refreshed-token')).toBeNull();
    expect(await got.json()).toEqual(body);
  });

  it('keeps a given display name (trimmed) and can create an admin who then acts as one', async ({ h }) => {
    const admin = await newAdmin(h);
    const email = uniqueEmail('second-admin');
    const res = await h.post(USERS, {
      token: admin.token,
      json: { email, password: 'p'.repeat(256), display_name: '  Second Admin  ', is_admin: true },
    });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created).toEqual({
      user_id: expect.any(String),
      email,
      display_name: 'Second Admin',
      is_admin: true,
      is_active: true,
      max_pending: 1000,
      created_at: h.clock.now().toISOString(),
      last_login_at: null,
    });

    const loggedIn = await login(h, email, 'p'.repeat(256));
    expect(loggedIn.status).toBe(200);
    const { token, expires_in, user } = await loggedIn.json();
    expect(expires_in).toBe(86400);
    expect(user).toEqual({ ...created, last_login_at: h.clock.now().toISOString() });
    const list = await h.get(USERS, { token });
    expect(list.status).toBe(200);
  });

  it('accepts a password of exactly 8 characters', async ({ h }) => {
    const admin = await newAdmin(h);
    const email = uniqueEmail('eight');
    const res = await h.post(USERS, { token: admin.token, json: { email, password: '12345678' } });
    expect(res.status).toBe(201);
    expect((await login(h, email, '12345678')).status).toBe(200);
  });

  it('lets the email of a deleted user be used again', async ({ h }) => {
    const admin = await newAdmin(h);
    const gone = await h.createUser();
    expect((await h.delete(`${USERS}/${gone.user.user_id}`, { token: admin.token })).status).toBe(204);
    const res = await h.post(USERS, {
      token: admin.token,
      json: { email: gone.user.email, password: 'another-password' },
    });
    expect(res.status).toBe(201);
    const again = await res.json();
    expect(again.email).toBe(gone.user.email);
    expect(again.user_id).not.toBe(gone.user.user_id);
  });
});

describe('GET /api/v1/users', () => {
  it('lists every account oldest first, without the system user', async ({ h }) => {
    await h.reset();
    const admin = await newAdmin(h);
    h.clock.advance(1000);
    const alice = await h.createUser({ displayName: 'Alice' });
    h.clock.advance(1000);
    const bob = await h.createUser({ isAdmin: true });

    const res = await h.get(USERS, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    const body = await res.json();
    expect(body).toEqual([asJson(admin), asJson(alice), asJson(bob)]);
    expect(body.map((u: User) => u.user_id)).not.toContain('system');
    expect(body[1]).toEqual({
      user_id: alice.user.user_id,
      email: alice.user.email,
      display_name: 'Alice',
      is_admin: false,
      is_active: true,
      max_pending: 1000,
      created_at: new Date(h.clock.now().getTime() - 1000).toISOString(),
      last_login_at: null,
    });
  });

  it('shows the last login time after a login', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    h.clock.advance(5000);
    expect((await login(h, user.user.email, user.password)).status).toBe(200);
    const res = await h.get(USERS, { token: admin.token });
    const listed = (await res.json()).find((u: User) => u.user_id === user.user.user_id);
    expect(listed).toEqual(asJson(user, { last_login_at: h.clock.now().toISOString() }));
  });
});

describe('GET /api/v1/users/{user_id}', () => {
  it('returns one user exactly', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser({ displayName: 'Carol' });
    const res = await h.get(`${USERS}/${user.user.user_id}`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      user_id: user.user.user_id,
      email: user.user.email,
      display_name: 'Carol',
      is_admin: false,
      is_active: true,
      max_pending: 1000,
      created_at: expect.any(String),
      last_login_at: null,
    });
  });

  it('an admin can read their own account', async ({ h }) => {
    const admin = await newAdmin(h);
    const res = await h.get(`${USERS}/${admin.user.user_id}`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(asJson(admin));
  });
});

describe('DELETE /api/v1/users/{user_id}', () => {
  it('deletes the account; its token stops working and it is gone from the list', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    await expectTokenWorks(h, user.token, user.user.user_id);

    const res = await h.delete(`${USERS}/${user.user.user_id}`, { token: admin.token });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('x-refreshed-token')).toEqual(expect.any(String));

    await expectRevoked(h, user.token, 'The account is deleted or inactive.');
    const got = await h.get(`${USERS}/${user.user.user_id}`, { token: admin.token });
    expect(got.status).toBe(404);
    expect(await got.json()).toEqual(
      problem(got, 'not_found', 404, 'Not found', `User ${user.user.user_id} was not found`),
    );
    const list = await (await h.get(USERS, { token: admin.token })).json();
    expect(list.map((u: User) => u.user_id)).not.toContain(user.user.user_id);
    const loginRes = await login(h, user.user.email, user.password);
    expect(loginRes.status).toBe(401);
  });

  it('deletes another admin while one remains', async ({ h }) => {
    const admin = await newAdmin(h);
    const other = await newAdmin(h);
    const res = await h.delete(`${USERS}/${other.user.user_id}`, { token: admin.token });
    expect(res.status).toBe(204);
    await expectRevoked(h, other.token, 'The account is deleted or inactive.');
    await expectTokenWorks(h, admin.token, admin.user.user_id);
  });

  it('an admin may delete themselves while another admin remains', async ({ h }) => {
    const admin = await newAdmin(h);
    const other = await newAdmin(h);
    const res = await h.delete(`${USERS}/${admin.user.user_id}`, { token: admin.token });
    expect(res.status).toBe(204);
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    await expectRevoked(h, admin.token, 'The account is deleted or inactive.');
    await expectTokenWorks(h, other.token, other.user.user_id);
  });
});
