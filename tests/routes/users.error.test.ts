import { asc, sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { auditLog, users } from '../../src/db/schema/index.ts';
import { type Fixtures, it, test } from '../helpers/fixtures.ts';
import { type Harness, problem, type TestUser } from '../helpers/harness.ts';

const USERS = '/api/v1/users';
const ME = '/api/v1/auth/me';
const VALIDATION = 'The request does not match the schema.';

const uniqueEmail = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.com`;

/** Every user row (hashes and epochs included) and the audit log size: what "nothing changed" compares. */
async function dbState(h: Harness) {
  const rows = await h.db.select().from(users).orderBy(asc(users.userId));
  const [audit] = await h.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { rows, audit: audit?.n };
}

async function expectProblem(
  res: Response,
  code: string,
  status: number,
  title: string,
  detail: string,
  errors?: { path: string; message: string }[],
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.headers.get('x-refreshed-token')).toBeNull();
  expect(await res.json()).toEqual(problem(res, code, status, title, detail, errors));
}

describe('POST /api/v1/users: conflicts', () => {
  it('a duplicate email is 409, whatever its case, and creates nothing', async ({ h, admin }) => {
    const email = uniqueEmail('dup');
    const first = await h.post(USERS, { token: admin.token, json: { email, password: 'password-1' } });
    expect(first.status).toBe(201);
    const before = await dbState(h);

    const res = await h.post(USERS, {
      token: admin.token,
      json: { email: email.toUpperCase(), password: 'password-2', display_name: 'Copy' },
    });
    await expectProblem(res, 'conflict', 409, 'Conflict', `A user with email ${email} already exists.`);
    expect(await dbState(h)).toEqual(before);

    const exact = await h.post(USERS, { token: admin.token, json: { email, password: 'password-3' } });
    await expectProblem(exact, 'conflict', 409, 'Conflict', `A user with email ${email} already exists.`);
    expect(await dbState(h)).toEqual(before);
  });

  it('two concurrent creations of one email give one 201 and one 409', async ({ h, admin }) => {
    const email = uniqueEmail('race');
    const results = await Promise.all(
      [email, email.toUpperCase()].map((e) =>
        h.post(USERS, { token: admin.token, json: { email: e, password: 'password-1' } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const rows = await h.db.select().from(users).where(sql`lower(${users.email}) = ${email}`);
    expect(rows).toHaveLength(1);
  });
});

describe('POST /api/v1/users: bad input', () => {
  let before: Awaited<ReturnType<typeof dbState>>;
  test.beforeEach(async ({ h }) => {
    before = await dbState(h);
  });

  async function expectRefused(
    { h, admin }: Pick<Fixtures, 'h' | 'admin'>,
    json: unknown,
    errors: { path: string; message: string }[],
  ) {
    const res = await h.post(USERS, { token: admin.token, json });
    await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, errors);
    expect(await dbState(h)).toEqual(before);
  }

  it('a password under 8 characters is 422', async ({ h, admin }) => {
    await expectRefused({ h, admin }, { email: uniqueEmail('short'), password: '1234567' }, [
      { path: 'password', message: 'Too small: expected string to have >=8 characters' },
    ]);
  });

  it('a password over 256 characters is 422', async ({ h, admin }) => {
    await expectRefused({ h, admin }, { email: uniqueEmail('long'), password: 'x'.repeat(257) }, [
      { path: 'password', message: 'Too big: expected string to have <=256 characters' },
    ]);
  });

  it('missing fields are 422, one error each', async ({ h, admin }) => {
    await expectRefused({ h, admin }, {}, [
      { path: 'email', message: 'Invalid input: expected string, received undefined' },
      { path: 'password', message: 'Invalid input: expected string, received undefined' },
    ]);
    await expectRefused({ h, admin }, { email: uniqueEmail('nopw') }, [
      { path: 'password', message: 'Invalid input: expected string, received undefined' },
    ]);
  });

  it('wrong types are 422, one error per field', async ({ h, admin }) => {
    await expectRefused({ h, admin }, { email: 5, password: true, display_name: 3, is_admin: 'yes' }, [
      { path: 'email', message: 'Invalid input: expected string, received number' },
      { path: 'password', message: 'Invalid input: expected string, received boolean' },
      { path: 'display_name', message: 'Invalid input: expected string, received number' },
      { path: 'is_admin', message: 'Invalid input: expected boolean, received string' },
    ]);
    await expectRefused(
      { h, admin },
      { email: uniqueEmail('nulls'), password: 'password-1', display_name: null },
      [{ path: 'display_name', message: 'Invalid input: expected string, received null' }],
    );
  });

  it('unknown fields are 422 (the body is a strict object)', async ({ h, admin }) => {
    await expectRefused(
      { h, admin },
      { email: uniqueEmail('extra'), password: 'password-1', role: 'admin', max_pending: 5 },
      [{ path: '', message: 'Unrecognized keys: "role", "max_pending"' }],
    );
    await expectRefused(
      { h, admin },
      { email: uniqueEmail('extra'), password: 'password-1', is_active: false },
      [{ path: '', message: 'Unrecognized key: "is_active"' }],
    );
  });

  it('an invalid email is 422', async ({ h, admin }) => {
    await expectRefused({ h, admin }, { email: 'not-an-email', password: 'password-1' }, [
      { path: 'email', message: 'Invalid email address' },
    ]);
    await expectRefused({ h, admin }, { email: '', password: 'password-1' }, [
      { path: 'email', message: 'Invalid email address' },
    ]);
  });

  it('an oversized email or display name is 422', async ({ h, admin }) => {
    await expectRefused(
      { h, admin },
      { email: `${'a'.repeat(243)}@example.com`, password: 'password-1', display_name: 'x'.repeat(101) },
      [
        { path: 'email', message: 'Too big: expected string to have <=254 characters' },
        { path: 'display_name', message: 'Too big: expected string to have <=100 characters' },
      ],
    );
  });

  it('a blank display name is 422', async ({ h, admin }) => {
    await expectRefused(
      { h, admin },
      { email: uniqueEmail('blank'), password: 'password-1', display_name: '   ' },
      [{ path: 'display_name', message: 'Too small: expected string to have >=1 characters' }],
    );
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
    await expectRefused({ h, admin }, 'text', [
      { path: '', message: 'Invalid input: expected object, received string' },
    ]);
  });

  it('the longest allowed email and display name are accepted', async ({ h, admin }) => {
    const email = `${crypto.randomUUID().slice(0, 8)}${'a'.repeat(234)}@example.com`;
    expect(email).toHaveLength(254);
    const res = await h.post(USERS, {
      token: admin.token,
      json: { email, password: 'password-1', display_name: 'd'.repeat(100) },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ email, display_name: 'd'.repeat(100) });
  });

  it('malformed JSON is 400 bad_request', async ({ h, admin }) => {
    const res = await h.post(USERS, {
      token: admin.token,
      body: '{"email": "a@b.com", "password": ',
      headers: { 'Content-Type': 'application/json' },
    });
    await expectProblem(res, 'bad_request', 400, 'Bad request', 'Malformed JSON in request body');
    expect(await dbState(h)).toEqual(before);
  });

  it('a body that is not JSON is 415', async ({ h, admin }) => {
    const res = await h.post(USERS, {
      token: admin.token,
      body: 'email=a@b.com&password=password-1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    await expectProblem(
      res,
      'unsupported_media_type',
      415,
      'Unsupported media type',
      'Unsupported Media Type',
    );
    expect(await dbState(h)).toEqual(before);
  });

  it('a body over 1 MiB is 413', async ({ h, admin }) => {
    const res = await h.post(USERS, {
      token: admin.token,
      json: { email: uniqueEmail('huge'), password: 'x'.repeat(2 * 1024 * 1024) },
    });
    await expectProblem(
      res,
      'payload_too_large',
      413,
      'Payload too large',
      'The request body is larger than 1048576 bytes.',
    );
    expect(await dbState(h)).toEqual(before);
  });
});

describe('PATCH /api/v1/users/{user_id}: bad input', () => {
  let user: TestUser;
  let before: Awaited<ReturnType<typeof dbState>>;
  test.beforeAll(async ({ h }) => {
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

// Keep this block last: its `h.reset()` removes the file's shared `admin`.
describe('the last active admin', () => {
  let last: TestUser;
  let plain: TestUser;
  test.beforeEach(async ({ h }) => {
    await h.reset();
    last = await h.createUser({ isAdmin: true });
    plain = await h.createUser();
  });

  async function expectKept(res: Response, what: string) {
    await expectProblem(res, 'conflict', 409, 'Conflict', `The last active admin cannot be ${what}.`);
  }

  async function expectStillAdmin(h: Harness, before: Awaited<ReturnType<typeof dbState>>) {
    expect(await dbState(h)).toEqual(before);
    const me = await h.get(ME, { token: last.token });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual(last.user);
  }

  it('cannot be demoted', async ({ h }) => {
    const before = await dbState(h);
    await expectKept(
      await h.patch(`${USERS}/${last.user.user_id}`, { token: last.token, json: { is_admin: false } }),
      'demoted',
    );
    await expectStillAdmin(h, before);
  });

  it('cannot be deactivated', async ({ h }) => {
    const before = await dbState(h);
    await expectKept(
      await h.patch(`${USERS}/${last.user.user_id}`, { token: last.token, json: { is_active: false } }),
      'deactivated',
    );
    await expectStillAdmin(h, before);
  });

  it('cannot be deleted', async ({ h }) => {
    const before = await dbState(h);
    await expectKept(await h.delete(`${USERS}/${last.user.user_id}`, { token: last.token }), 'deleted');
    await expectStillAdmin(h, before);
  });

  it('a combined patch that demotes is refused whole', async ({ h }) => {
    const before = await dbState(h);
    await expectKept(
      await h.patch(`${USERS}/${last.user.user_id}`, {
        token: last.token,
        json: { display_name: 'Renamed', max_pending: 3, is_admin: false },
      }),
      'demoted',
    );
    await expectStillAdmin(h, before);
  });

  it('an inactive admin does not count: the last active one is still protected', async ({ h }) => {
    const inactive = await h.createUser({ isAdmin: true });
    const off = await h.patch(`${USERS}/${inactive.user.user_id}`, {
      token: last.token,
      json: { is_active: false },
    });
    expect(off.status).toBe(200);
    const before = await dbState(h);
    await expectKept(
      await h.patch(`${USERS}/${last.user.user_id}`, { token: last.token, json: { is_admin: false } }),
      'demoted',
    );
    await expectKept(await h.delete(`${USERS}/${last.user.user_id}`, { token: last.token }), 'deleted');
    await expectStillAdmin(h, before);
    // The inactive admin itself may be demoted and deleted.
    const demote = await h.patch(`${USERS}/${inactive.user.user_id}`, {
      token: last.token,
      json: { is_admin: false },
    });
    expect(demote.status).toBe(200);
    expect((await h.delete(`${USERS}/${inactive.user.user_id}`, { token: last.token })).status).toBe(204);
  });

  it('a plain user is not guarded, and a second admin lifts the guard', async ({ h }) => {
    const res = await h.patch(`${USERS}/${plain.user.user_id}`, {
      token: last.token,
      json: { is_active: false },
    });
    expect(res.status).toBe(200);
    const second = await h.createUser({ isAdmin: true });
    const demote = await h.patch(`${USERS}/${last.user.user_id}`, {
      token: second.token,
      json: { is_admin: false },
    });
    expect(demote.status).toBe(200);
    // Now `second` is the last active admin.
    await expectKept(await h.delete(`${USERS}/${second.user.user_id}`, { token: second.token }), 'deleted');
  });

  it('two admins demoting each other at once leave exactly one admin', async ({ h }) => {
    const other = await h.createUser({ isAdmin: true });
    const results = await Promise.all([
      h.patch(`${USERS}/${other.user.user_id}`, { token: last.token, json: { is_admin: false } }),
      h.patch(`${USERS}/${last.user.user_id}`, { token: other.token, json: { is_admin: false } }),
    ]);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    // The loser is refused by the guard (409), or its token was already revoked by the winner (401).
    expect(statuses.filter((s) => s === 409 || s === 401)).toHaveLength(1);
    const admins = await h.db.select().from(users).where(sql`${users.isAdmin} and ${users.isActive}`);
    expect(admins).toHaveLength(1);
  });

  it('two admins deleting each other at once leave exactly one admin', async ({ h }) => {
    const other = await h.createUser({ isAdmin: true });
    const results = await Promise.all([
      h.delete(`${USERS}/${other.user.user_id}`, { token: last.token }),
      h.delete(`${USERS}/${last.user.user_id}`, { token: other.token }),
    ]);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 204)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409 || s === 401)).toHaveLength(1);
    const admins = await h.db.select().from(users).where(sql`${users.isAdmin} and ${users.isActive}`);
    expect(admins).toHaveLength(1);
  });
});
