import { describe, expect } from 'vitest';
import { type Fixtures, it, test } from '../helpers/fixtures.ts';
import type { TestUser } from '../helpers/harness.ts';
import { dbState, expectProblem, USERS, VALIDATION } from '../helpers/users.ts';

describe('PATCH /api/v1/users/{user_id}: bad input', () => {
  let user: TestUser;
  let before: Awaited<ReturnType<typeof dbState>>;
  // The file's admin is made first, so that no test's "nothing changed" snapshot misses it.
  test.beforeAll(async ({ h, admin: _admin }) => {
    user = await h.createUser();
  });
  test.beforeEach(async ({ h }) => {
    before = await dbState(h);
  });

  async function expectRefused(
    { h, admin }: Pick<Fixtures, 'h' | 'admin'>,
    json: unknown,
    errors: { path: string; message: string }[],
  ) {
    const res = await h.patch(`${USERS}/${user.user.user_id}`, { token: admin.token, json });
    await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, errors);
    expect(await dbState(h)).toEqual(before);
  }

  it('a reset password under 8 or over 256 characters is 422 and the old one still works', async ({
    h,
    admin,
  }) => {
    await expectRefused({ h, admin }, { password: 'short' }, [
      { path: 'password', message: 'Too small: expected string to have >=8 characters' },
    ]);
    await expectRefused({ h, admin }, { password: 'y'.repeat(257) }, [
      { path: 'password', message: 'Too big: expected string to have <=256 characters' },
    ]);
    const login = await h.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: user.password },
    });
    expect(login.status).toBe(200);
  });

  it('wrong types are 422 with one error per field', async ({ h, admin }) => {
    await expectRefused({ h, admin }, { display_name: 1, is_admin: 'true', is_active: 0, max_pending: '5' }, [
      { path: 'display_name', message: 'Invalid input: expected string, received number' },
      { path: 'is_admin', message: 'Invalid input: expected boolean, received string' },
      { path: 'is_active', message: 'Invalid input: expected boolean, received number' },
      { path: 'max_pending', message: 'Invalid input: expected number, received string' },
    ]);
    await expectRefused({ h, admin }, { is_admin: null, is_active: null, password: null }, [
      { path: 'is_admin', message: 'Invalid input: expected boolean, received null' },
      { path: 'is_active', message: 'Invalid input: expected boolean, received null' },
      { path: 'password', message: 'Invalid input: expected string, received null' },
    ]);
  });

  it('max_pending must be a whole number from 0 to 1000000', async ({ h, admin }) => {
    await expectRefused({ h, admin }, { max_pending: -1 }, [
      { path: 'max_pending', message: 'Too small: expected number to be >=0' },
    ]);
    await expectRefused({ h, admin }, { max_pending: 1.5 }, [
      { path: 'max_pending', message: 'Invalid input: expected int, received number' },
    ]);
    await expectRefused({ h, admin }, { max_pending: 1_000_001 }, [
      { path: 'max_pending', message: 'Too big: expected number to be <=1000000' },
    ]);
  });

  it('unknown fields are 422: the email and ids cannot be changed', async ({ h, admin }) => {
    await expectRefused({ h, admin }, { email: 'new@example.com' }, [
      { path: '', message: 'Unrecognized key: "email"' },
      { path: '', message: 'the request changes nothing: give at least one field' },
    ]);
    await expectRefused({ h, admin }, { user_id: 'mine', display_name: 'ok' }, [
      { path: '', message: 'Unrecognized key: "user_id"' },
    ]);
  });

  it('an oversized or blank display name is 422', async ({ h, admin }) => {
    await expectRefused({ h, admin }, { display_name: 'z'.repeat(101) }, [
      { path: 'display_name', message: 'Too big: expected string to have <=100 characters' },
    ]);
    await expectRefused({ h, admin }, { display_name: '' }, [
      { path: 'display_name', message: 'Too small: expected string to have >=1 characters' },
    ]);
  });

  it('a body that is not an object is 422', async ({ h, admin }) => {
    await expectRefused(
      { h, admin },
      [],
      [{ path: '', message: 'Invalid input: expected object, received array' }],
    );
    await expectRefused({ h, admin }, null, [
      { path: '', message: 'Invalid input: expected object, received null' },
    ]);
  });

  it('malformed JSON is 400 bad_request', async ({ h, admin }) => {
    const res = await h.patch(`${USERS}/${user.user.user_id}`, {
      token: admin.token,
      body: '{"display_name":',
      headers: { 'Content-Type': 'application/json' },
    });
    await expectProblem(res, 'bad_request', 400, 'Bad request', 'Malformed JSON in request body');
    expect(await dbState(h)).toEqual(before);
  });

  it('an over-long user id is 422', async ({ h, admin }) => {
    const res = await h.get(`${USERS}/${'x'.repeat(201)}`, { token: admin.token });
    await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
      { path: 'param.user_id', message: 'Too big: expected string to have <=200 characters' },
    ]);
  });
});

describe('unknown user ids', () => {
  const missing = 'no-such-user';

  it('GET is 404', async ({ h, admin }) => {
    const res = await h.get(`${USERS}/${missing}`, { token: admin.token });
    await expectProblem(res, 'not_found', 404, 'Not found', `User ${missing} was not found`);
  });

  it('PATCH is 404 and changes nothing', async ({ h, admin }) => {
    const before = await dbState(h);
    const res = await h.patch(`${USERS}/${missing}`, { token: admin.token, json: { display_name: 'Ghost' } });
    await expectProblem(res, 'not_found', 404, 'Not found', `User ${missing} was not found`);
    expect(await dbState(h)).toEqual(before);
  });

  it('DELETE is 404 and changes nothing', async ({ h, admin }) => {
    const before = await dbState(h);
    const res = await h.delete(`${USERS}/${missing}`, { token: admin.token });
    await expectProblem(res, 'not_found', 404, 'Not found', `User ${missing} was not found`);
    expect(await dbState(h)).toEqual(before);
  });

  it('a user deleted twice is 404 the second time', async ({ h, admin }) => {
    const user = await h.createUser();
    expect((await h.delete(`${USERS}/${user.user.user_id}`, { token: admin.token })).status).toBe(204);
    const res = await h.delete(`${USERS}/${user.user.user_id}`, { token: admin.token });
    await expectProblem(res, 'not_found', 404, 'Not found', `User ${user.user.user_id} was not found`);
  });
});

describe('the system user', () => {
  it('GET /users/system is 404', async ({ h, admin }) => {
    const res = await h.get(`${USERS}/system`, { token: admin.token });
    await expectProblem(res, 'not_found', 404, 'Not found', 'User system was not found');
  });

  it.for([
    { display_name: 'Hacked' },
    { is_admin: true },
    { is_active: false },
    { password: 'a-new-password' },
    { max_pending: 1 },
  ])('PATCH /users/system %j is 409 and changes nothing', async (json, { h, admin }) => {
    const before = await dbState(h);
    const res = await h.patch(`${USERS}/system`, { token: admin.token, json });
    await expectProblem(res, 'conflict', 409, 'Conflict', 'The system user cannot be changed or deleted.');
    expect(await dbState(h)).toEqual(before);
  });

  it('DELETE /users/system is 409 and changes nothing', async ({ h, admin }) => {
    const before = await dbState(h);
    const res = await h.delete(`${USERS}/system`, { token: admin.token });
    await expectProblem(res, 'conflict', 409, 'Conflict', 'The system user cannot be changed or deleted.');
    expect(await dbState(h)).toEqual(before);
  });

  it('cannot log in', async ({ h }) => {
    const res = await h.post('/api/v1/auth/login', { json: { email: 'system', password: '!' } });
    await expectProblem(
      res,
      'invalid_credentials',
      401,
      'Invalid credentials',
      'The email or password is incorrect.',
    );
  });
});
