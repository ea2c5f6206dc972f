import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { users } from '../../src/db/schema/index.ts';
import { type Fixtures, it, test } from '../helpers/fixtures.ts';
import { dbState, expectProblem, USERS, uniqueEmail, VALIDATION } from '../helpers/users.ts';

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
