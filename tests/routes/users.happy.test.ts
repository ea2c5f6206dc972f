import { describe, expect } from 'vitest';
import type { User } from '../../src/services/users/index.ts';
import { it } from '../helpers/fixtures.ts';
import { type Harness, problem, type TestUser } from '../helpers/harness.ts';

const USERS = '/api/v1/users';
const ME = '/api/v1/auth/me';
const LOGIN = '/api/v1/auth/login';

/** A fresh admin for one test. */
const newAdmin = (h: Harness) => h.createUser({ isAdmin: true });

/** A unique email with the given local part prefix. */
const uniqueEmail = (prefix: string, domain = 'example.com') =>
  `${prefix}-${crypto.randomUUID().slice(0, 8)}@${domain}`;

/** The `User` JSON of a fixture user as it is now in the database (with the server default quota). */
const asJson = (u: TestUser, over: Partial<User> = {}): User => ({ ...u.user, ...over });

async function expectRevoked(h: Harness, token: string, detail: string) {
  const res = await h.get(ME, { token });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  expect(await res.json()).toEqual(problem(res, 'unauthorized', 401, 'Unauthorized', detail));
}

async function expectTokenWorks(h: Harness, token: string, userId: string) {
  const res = await h.get(ME, { token });
  expect(res.status).toBe(200);
  expect((await res.json()).user_id).toBe(userId);
}

async function login(h: Harness, email: string, password: string) {
  return h.post(LOGIN, { json: { email, password } });
}

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

describe('PATCH /api/v1/users/{user_id}', () => {
  it('changes the display name without revoking tokens', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    const res = await h.patch(`${USERS}/${user.user.user_id}`, {
      token: admin.token,
      json: { display_name: '  Renamed  ' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-refreshed-token')).toEqual(expect.any(String));
    expect(await res.json()).toEqual(asJson(user, { display_name: 'Renamed' }));
    await expectTokenWorks(h, user.token, user.user.user_id);
    const got = await h.get(`${USERS}/${user.user.user_id}`, { token: admin.token });
    expect(await got.json()).toEqual(asJson(user, { display_name: 'Renamed' }));
  });

  it('an empty patch is 422 (API.md section 1) and changes nothing', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    const res = await h.patch(`${USERS}/${user.user.user_id}`, { token: admin.token, json: {} });
    expect(res.status).toBe(422);
    expect((await res.json()).errors).toEqual([
      { path: '', message: 'the request changes nothing: give at least one field' },
    ]);
    await expectTokenWorks(h, user.token, user.user.user_id);
    const got = await h.get(`${USERS}/${user.user.user_id}`, { token: admin.token });
    expect(await got.json()).toEqual(asJson(user));
  });

  it('sets max_pending, including 0, and resets it to the server default with null', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    const path = `${USERS}/${user.user.user_id}`;

    const set = await h.patch(path, { token: admin.token, json: { max_pending: 5 } });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual(asJson(user, { max_pending: 5 }));
    expect(await (await h.get(path, { token: admin.token })).json()).toEqual(
      asJson(user, { max_pending: 5 }),
    );

    const zero = await h.patch(path, { token: admin.token, json: { max_pending: 0 } });
    expect(zero.status).toBe(200);
    expect(await zero.json()).toEqual(asJson(user, { max_pending: 0 }));

    const top = await h.patch(path, { token: admin.token, json: { max_pending: 1_000_000 } });
    expect(top.status).toBe(200);
    expect(await top.json()).toEqual(asJson(user, { max_pending: 1_000_000 }));

    // A display-name change leaves the quota alone.
    const other = await h.patch(path, { token: admin.token, json: { display_name: 'Quota Kept' } });
    expect(await other.json()).toEqual(asJson(user, { max_pending: 1_000_000, display_name: 'Quota Kept' }));

    const reset = await h.patch(path, { token: admin.token, json: { max_pending: null } });
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual(asJson(user, { max_pending: 1000, display_name: 'Quota Kept' }));
    expect(await (await h.get(path, { token: admin.token })).json()).toEqual(
      asJson(user, { max_pending: 1000, display_name: 'Quota Kept' }),
    );
    // A quota change does not revoke the user's tokens.
    await expectTokenWorks(h, user.token, user.user.user_id);
  });

  it('promotion keeps the token working and gives admin rights at once', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    expect((await h.get(USERS, { token: user.token })).status).toBe(403);
    const res = await h.patch(`${USERS}/${user.user.user_id}`, {
      token: admin.token,
      json: { is_admin: true },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(asJson(user, { is_admin: true }));
    await expectTokenWorks(h, user.token, user.user.user_id);
    expect((await h.get(USERS, { token: user.token })).status).toBe(200);
  });

  it('demotion revokes the user’s tokens; they log in again as a plain user', async ({ h }) => {
    const admin = await newAdmin(h);
    const other = await newAdmin(h);
    // A second session of the same user, from a login.
    const second = await (await login(h, other.user.email, other.password)).json();
    const res = await h.patch(`${USERS}/${other.user.user_id}`, {
      token: admin.token,
      json: { is_admin: false },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(
      asJson(other, { is_admin: false, last_login_at: h.clock.now().toISOString() }),
    );

    await expectRevoked(h, other.token, 'The token has been revoked.');
    await expectRevoked(h, second.token, 'The token has been revoked.');
    // The acting admin is untouched.
    await expectTokenWorks(h, admin.token, admin.user.user_id);

    const again = await login(h, other.user.email, other.password);
    expect(again.status).toBe(200);
    const { token, user } = await again.json();
    expect(user.is_admin).toBe(false);
    await expectTokenWorks(h, token, other.user.user_id);
    const forbidden = await h.get(USERS, { token });
    expect(forbidden.status).toBe(403);
  });

  it('deactivation revokes the user’s tokens and refuses their login; reactivation allows it again', async ({
    h,
  }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    const path = `${USERS}/${user.user.user_id}`;
    const res = await h.patch(path, { token: admin.token, json: { is_active: false } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(asJson(user, { is_active: false }));

    await expectRevoked(h, user.token, 'The account is deleted or inactive.');
    const refused = await login(h, user.user.email, user.password);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual(
      problem(
        refused,
        'invalid_credentials',
        401,
        'Invalid credentials',
        'The email or password is incorrect.',
      ),
    );

    const back = await h.patch(path, { token: admin.token, json: { is_active: true } });
    expect(back.status).toBe(200);
    expect(await back.json()).toEqual(asJson(user));
    // The old token stays revoked even though the account is active again.
    await expectRevoked(h, user.token, 'The token has been revoked.');
    const again = await login(h, user.user.email, user.password);
    expect(again.status).toBe(200);
    await expectTokenWorks(h, (await again.json()).token, user.user.user_id);
  });

  it('a deactivated admin can be deactivated while another admin is active', async ({ h }) => {
    const admin = await newAdmin(h);
    const other = await newAdmin(h);
    const res = await h.patch(`${USERS}/${other.user.user_id}`, {
      token: admin.token,
      json: { is_active: false },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(asJson(other, { is_active: false }));
    await expectRevoked(h, other.token, 'The account is deleted or inactive.');
  });

  it('a password reset revokes the user’s tokens and the new password logs in', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    const res = await h.patch(`${USERS}/${user.user.user_id}`, {
      token: admin.token,
      json: { password: 'a brand new password' },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual(asJson(user));
    expect(JSON.stringify(body)).not.toContain('a brand new password');

    await expectRevoked(h, user.token, 'The token has been revoked.');

    const old = await login(h, user.user.email, user.password);
    expect(old.status).toBe(401);
    expect(await old.json()).toEqual(
      problem(old, 'invalid_credentials', 401, 'Invalid credentials', 'The email or password is incorrect.'),
    );

    h.clock.advance(1000);
    const fresh = await login(h, user.user.email, 'a brand new password');
    expect(fresh.status).toBe(200);
    const { token, expires_in, user: loggedIn } = await fresh.json();
    expect(expires_in).toBe(86400);
    expect(loggedIn).toEqual(asJson(user, { last_login_at: h.clock.now().toISOString() }));
    await expectTokenWorks(h, token, user.user.user_id);
  });

  it('changes several fields at once', async ({ h }) => {
    const admin = await newAdmin(h);
    const user = await h.createUser();
    const res = await h.patch(`${USERS}/${user.user.user_id}`, {
      token: admin.token,
      json: { display_name: 'Many', is_admin: true, max_pending: 7, password: 'changed-password' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(asJson(user, { display_name: 'Many', is_admin: true, max_pending: 7 }));
    await expectRevoked(h, user.token, 'The token has been revoked.');
    expect((await login(h, user.user.email, 'changed-password')).status).toBe(200);
  });

  it('an admin who demotes themselves loses their session and gets no refreshed token', async ({ h }) => {
    const admin = await newAdmin(h);
    await newAdmin(h);
    const res = await h.patch(`${USERS}/${admin.user.user_id}`, {
      token: admin.token,
      json: { is_admin: false },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(asJson(admin, { is_admin: false }));
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    await expectRevoked(h, admin.token, 'The token has been revoked.');
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
