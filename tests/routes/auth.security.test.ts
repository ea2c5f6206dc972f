import { describe, expect } from 'vitest';
import { it, test } from '../helpers/fixtures.ts';
import { type Harness, problem } from '../helpers/harness.ts';
import { runCommonAuthTests } from '../helpers/security.ts';
import { decodeJwt, forgeToken, tamper, unsignedToken } from '../helpers/tokens.ts';

const ME = '/api/v1/auth/me';

async function expectRejected(
  h: Harness,
  token: string,
  code: 'unauthorized' | 'token_expired',
  detail: string,
) {
  const res = await h.get(ME, { token });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const title = code === 'token_expired' ? 'Token expired' : 'Unauthorized';
  expect(await res.json()).toEqual(problem(res, code, 401, title, detail));
}

describe('token verification: every rejection rule is a 401', () => {
  it('accepts a valid token', async ({ h }) => {
    const { user, token } = await h.createUser();
    const res = await h.get(ME, { token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(user);
  });

  it('refuses a header that is not a bearer token', async ({ h }) => {
    const { token } = await h.createUser();
    const res = await h.get(ME, { headers: { Authorization: `Basic ${token}` } });
    expect(res.status).toBe(401);
    expect((await res.json()).detail).toBe('A bearer token is required.');
  });

  it('refuses alg: none', async ({ h }) => {
    const { token } = await h.createUser();
    await expectRejected(h, unsignedToken(decodeJwt(token)), 'unauthorized', 'The token is invalid.');
  });

  it('refuses a token signed with another HMAC algorithm and the same key', async ({ h }) => {
    const { user } = await h.createUser();
    await expectRejected(
      h,
      await forgeToken(user.user_id, { alg: 'HS512' }),
      'unauthorized',
      'The token is invalid.',
    );
  });

  it('refuses a token signed with another key', async ({ h }) => {
    const { user } = await h.createUser();
    const other = new TextEncoder().encode('another-secret-another-secret-another-secret');
    await expectRejected(
      h,
      await forgeToken(user.user_id, { key: other }),
      'unauthorized',
      'The token is invalid.',
    );
  });

  it('refuses a tampered payload', async ({ h }) => {
    const { token } = await h.createUser();
    await expectRejected(h, tamper(token, { is_admin: true }), 'unauthorized', 'The token is invalid.');
  });

  it('refuses a token issued more than 60 s in the future, accepts one 60 s ahead (clock skew)', async ({
    h,
  }) => {
    const { user } = await h.createUser();
    const nowS = Math.floor(h.clock.now().getTime() / 1000);
    await expectRejected(
      h,
      await forgeToken(user.user_id, { nowS: nowS + 86_400, lifetimeS: 3600 }),
      'unauthorized',
      'The token is invalid.',
    );
    await expectRejected(
      h,
      await forgeToken(user.user_id, { nowS: nowS + 61, lifetimeS: 3600 }),
      'unauthorized',
      'The token is invalid.',
    );
    const skewed = await h.get(ME, {
      token: await forgeToken(user.user_id, { nowS: nowS + 60, lifetimeS: 3600 }),
    });
    expect(skewed.status).toBe(200);
  });

  it('refuses a wrong issuer', async ({ h }) => {
    const { user } = await h.createUser();
    await expectRejected(
      h,
      await forgeToken(user.user_id, { iss: 'other' }),
      'unauthorized',
      'The token is invalid.',
    );
  });

  it('refuses a wrong audience', async ({ h }) => {
    const { user } = await h.createUser();
    await expectRejected(
      h,
      await forgeToken(user.user_id, { aud: 'other' }),
      'unauthorized',
      'The token is invalid.',
    );
  });

  it('refuses a token whose claims are not Easel claims', async ({ h }) => {
    const { user } = await h.createUser();
    const token = await forgeToken(user.user_id, { claims: { epoch: 'zero' } });
    await expectRejected(h, token, 'unauthorized', 'The token is invalid.');
  });

  it('refuses a logged-out token, and only that one', async ({ h }) => {
    const { user, token } = await h.createUser();
    const other = (
      await h.deps.tokens.issue({ userId: user.user_id, email: user.email, isAdmin: false, epoch: 0 }, false)
    ).token;
    const out = await h.post('/api/v1/auth/logout', { token });
    expect(out.status).toBe(204);
    expect(out.headers.get('x-refreshed-token')).toBeNull();
    await expectRejected(h, token, 'unauthorized', 'The token has been revoked.');
    expect((await h.get(ME, { token: other })).status).toBe(200);
  });

  it('refuses a token from before a password change', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.patch(ME, {
      token: u.token,
      json: { current_password: u.password, new_password: 'a brand new password' },
    });
    expect(res.status).toBe(200);
    await expectRejected(h, u.token, 'unauthorized', 'The token has been revoked.');
    const replacement = res.headers.get('x-refreshed-token') ?? '';
    expect((await h.get(ME, { token: replacement })).status).toBe(200);
  });

  it('refuses a token from before a demotion', async ({ h, admin }) => {
    const u = await h.createUser({ isAdmin: true });
    const res = await h.patch(`/api/v1/users/${u.user.user_id}`, {
      token: admin.token,
      json: { is_admin: false },
    });
    expect(res.status).toBe(200);
    await expectRejected(h, u.token, 'unauthorized', 'The token has been revoked.');
  });

  it('refuses a token of a deleted user', async ({ h, admin }) => {
    const u = await h.createUser();
    expect((await h.delete(`/api/v1/users/${u.user.user_id}`, { token: admin.token })).status).toBe(204);
    await expectRejected(h, u.token, 'unauthorized', 'The account is deleted or inactive.');
  });

  it('refuses a token of an inactive user', async ({ h, admin }) => {
    const u = await h.createUser();
    const res = await h.patch(`/api/v1/users/${u.user.user_id}`, {
      token: admin.token,
      json: { is_active: false },
    });
    expect(res.status).toBe(200);
    await expectRejected(h, u.token, 'unauthorized', 'The account is deleted or inactive.');
  });

  it('refuses a token for the system user', async ({ h }) => {
    await expectRejected(
      h,
      await forgeToken('system'),
      'unauthorized',
      'The account is deleted or inactive.',
    );
  });
});

describe('authentication runs before routing under /api/v1', () => {
  it('an unknown path without a token is 401', async ({ h }) => {
    const res = await h.get('/api/v1/no-such-thing');
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('unauthorized');
  });

  it('an unknown path with a valid token is 404', async ({ h, admin }) => {
    const res = await h.get('/api/v1/no-such-thing', { token: admin.token });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(
      problem(res, 'not_found', 404, 'Not found', 'No route for GET /api/v1/no-such-thing.'),
    );
  });

  it('an unknown path with an invalid token is 401', async ({ h }) => {
    const res = await h.get('/api/v1/no-such-thing', { token: 'bad' });
    expect(res.status).toBe(401);
  });
});

// No token, a malformed and an expired token on GET /auth/me (the rules above cover the rest); every user
// reaches it, so there is no other user's resource.
runCommonAuthTests(test, 'GET /api/v1/auth/me', {
  otherUser: 'none',
  prepareRequest: async () => ({ method: 'GET', path: ME }),
});
