import { describe, expect } from 'vitest';
import { it } from '../helpers/fixtures.ts';
import { problem } from '../helpers/harness.ts';
import { asJson, expectRevoked, expectTokenWorks, login, newAdmin, USERS } from '../helpers/users.ts';

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
