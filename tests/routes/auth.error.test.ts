import { describe, expect } from 'vitest';
import type { PasswordHasher } from '../../src/core/auth.ts';
import { pbkdf2Hasher } from '../../src/services/auth/passwords.ts';
import { it, test } from '../helpers/fixtures.ts';
import { createHarness, problem } from '../helpers/harness.ts';

const withoutRequestId = (body: Record<string, unknown>) => ({ ...body, request_id: undefined });

describe('login failures', () => {
  it('an unknown email is checked against a hash made by the configured hasher, made once', async ({
    onTestFinished,
  }) => {
    const inner = pbkdf2Hasher(1000);
    const checked: string[] = [];
    const made: string[] = [];
    const passwords: PasswordHasher = {
      async hash(password) {
        const stored = await inner.hash(password);
        made.push(stored);
        return stored;
      },
      verify(password, stored) {
        checked.push(stored);
        return inner.verify(password, stored);
      },
    };
    const h = await createHarness({ onTestFinished }, { deps: { passwords } });
    for (const email of ['nobody@example.com', 'noone@example.com']) {
      const res = await h.post('/api/v1/auth/login', { json: { email, password: 'whatever123' } });
      expect(res.status).toBe(401);
    }
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^pbkdf2-sha256\$1000\$/);
    expect(checked).toEqual([made[0], made[0]]);
  });

  it('unknown email, wrong password and inactive account get the same 401 body', async ({ h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const u = await h.createUser();
    const inactive = await h.createUser();
    await h.patch(`/api/v1/users/${inactive.user.user_id}`, {
      token: admin.token,
      json: { is_active: false },
    });

    const attempts = [
      { email: 'nobody@example.com', password: 'whatever123' },
      { email: u.user.email, password: 'wrong password' },
      { email: inactive.user.email, password: inactive.password },
    ];
    const bodies = [];
    for (const json of attempts) {
      const res = await h.post('/api/v1/auth/login', { json });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBeNull();
      const body = await res.json();
      expect(body).toEqual(
        problem(
          res,
          'invalid_credentials',
          401,
          'Invalid credentials',
          'The email or password is incorrect.',
        ),
      );
      bodies.push(withoutRequestId(body));
    }
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
  });

  it('the system user cannot log in', async ({ h }) => {
    const res = await h.post('/api/v1/auth/login', { json: { email: 'system', password: '!' } });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('invalid_credentials');
  });

  it('after 5 failures per email and client: 429 with Retry-After, even with the right password, until the window passes', async ({
    h,
  }) => {
    const u = await h.createUser();
    const client = { 'x-test-client': '10.0.0.5' };
    for (let i = 0; i < 5; i++) {
      const res = await h.post('/api/v1/auth/login', {
        json: { email: u.user.email, password: `bad-${i}-pass` },
        headers: client,
      });
      expect(res.status).toBe(401);
      h.clock.advance(1000);
    }
    const blocked = await h.post('/api/v1/auth/login', {
      json: { email: u.user.email.toUpperCase(), password: u.password },
      headers: client,
    });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('895');
    expect(await blocked.json()).toEqual(
      problem(
        blocked,
        'rate_limited',
        429,
        'Too many requests',
        'Too many failed logins; try again in 895 seconds.',
      ),
    );

    const otherClient = await h.post('/api/v1/auth/login', {
      json: { email: u.user.email, password: u.password },
      headers: { 'x-test-client': '10.0.0.6' },
    });
    expect(otherClient.status).toBe(200);

    h.clock.advance(895 * 1000);
    const after = await h.post('/api/v1/auth/login', {
      json: { email: u.user.email, password: u.password },
      headers: client,
    });
    expect(after.status).toBe(200);
  });
});

describe('PATCH /auth/me password rules', () => {
  it('a new password without the current one is 400 bad_request, never 401', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.patch('/api/v1/auth/me', { token: u.token, json: { new_password: 'something new' } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(
      problem(res, 'bad_request', 400, 'Bad request', 'current_password is required to change the password.'),
    );
    expect((await h.get('/api/v1/auth/me', { token: u.token })).status).toBe(200);
  });

  it('a wrong current password is 400 and changes nothing', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.patch('/api/v1/auth/me', {
      token: u.token,
      json: { current_password: 'not my password', new_password: 'something new' },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(
      problem(res, 'bad_request', 400, 'Bad request', 'current_password is incorrect.'),
    );
    expect((await h.get('/api/v1/auth/me', { token: u.token })).status).toBe(200);
  });

  it('a too-short new password is 422', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.patch('/api/v1/auth/me', {
      token: u.token,
      json: { current_password: u.password, new_password: 'short' },
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', 'The request does not match the schema.', [
        { path: 'new_password', message: 'Too small: expected string to have >=8 characters' },
      ]),
    );
  });
});

/** Every route that takes a JSON body, with a valid body and one that has a wrong type. */
const bodyRoutes = [
  {
    method: 'POST',
    path: '/api/v1/auth/setup',
    valid: { email: 'a@b.co', password: 'password1' },
    wrong: { email: 5, password: 'password1' },
    field: 'email',
  },
  {
    method: 'POST',
    path: '/api/v1/auth/login',
    valid: { email: 'a@b.co', password: 'password1' },
    wrong: { email: 'a@b.co', password: 'password1', remember_me: 'yes' },
    field: 'remember_me',
  },
  {
    method: 'PATCH',
    path: '/api/v1/auth/me',
    valid: { display_name: 'x' },
    wrong: { display_name: 42 },
    field: 'display_name',
  },
  {
    method: 'POST',
    path: '/api/v1/users',
    valid: { email: 'a@b.co', password: 'password1' },
    wrong: { email: 'a@b.co', password: 'password1', is_admin: 'no' },
    field: 'is_admin',
  },
  {
    method: 'PATCH',
    path: '/api/v1/users/some-id',
    valid: { display_name: 'x' },
    wrong: { max_pending: 'lots' },
    field: 'max_pending',
  },
] as const;

describe('bad input on every body route', () => {
  let token: string;
  test.beforeAll(async ({ h }) => {
    token = (await h.createUser({ isAdmin: true })).token;
  });

  for (const r of bodyRoutes) {
    describe(`${r.method} ${r.path}`, () => {
      it('malformed JSON is 400 bad_request', async ({ h }) => {
        const res = await h.request(r.method, r.path, {
          token,
          body: '{"email": ',
          headers: { 'Content-Type': 'application/json' },
        });
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual(
          problem(res, 'bad_request', 400, 'Bad request', 'Malformed JSON in request body'),
        );
      });

      it('a body that is not JSON is 415', async ({ h }) => {
        const res = await h.request(r.method, r.path, {
          token,
          body: 'email=a',
          headers: { 'Content-Type': 'text/plain' },
        });
        expect(res.status).toBe(415);
        expect(await res.json()).toEqual(
          problem(res, 'unsupported_media_type', 415, 'Unsupported media type', 'Unsupported Media Type'),
        );
      });

      it('a wrong type is 422 naming the field', async ({ h }) => {
        const res = await h.request(r.method, r.path, { token, json: r.wrong });
        expect(res.status).toBe(422);
        const body = await res.json();
        expect(body.code).toBe('validation_failed');
        expect(body.errors.map((e: { path: string }) => e.path)).toEqual([r.field]);
      });

      it('an unknown field is 422', async ({ h }) => {
        const res = await h.request(r.method, r.path, { token, json: { ...r.valid, surprise: true } });
        expect(res.status).toBe(422);
        expect((await res.json()).errors).toEqual([{ path: '', message: 'Unrecognized key: "surprise"' }]);
      });

      it('a JSON array instead of an object is 422', async ({ h }) => {
        const res = await h.request(r.method, r.path, { token, json: [r.valid] });
        expect(res.status).toBe(422);
        expect((await res.json()).code).toBe('validation_failed');
      });

      it('a body over 1 MiB is 413', async ({ h }) => {
        const res = await h.request(r.method, r.path, {
          token,
          json: { ...r.valid, display_name: 'x'.repeat(1024 * 1024) },
        });
        expect(res.status).toBe(413);
        expect(await res.json()).toEqual(
          problem(
            res,
            'payload_too_large',
            413,
            'Payload too large',
            'The request body is larger than 1048576 bytes.',
          ),
        );
      });
    });
  }

  it('missing fields are 422 with every path', async ({ h }) => {
    const res = await h.post('/api/v1/auth/login', { json: {} });
    expect(res.status).toBe(422);
    expect((await res.json()).errors).toEqual([
      { path: 'email', message: 'Invalid input: expected string, received undefined' },
      { path: 'password', message: 'Invalid input: expected string, received undefined' },
    ]);
  });

  it('no body at all is 422, not 500', async ({ h }) => {
    const res = await h.post('/api/v1/auth/login');
    expect(res.status).toBe(422);
  });

  it('oversized strings are 422', async ({ h }) => {
    const res = await h.post('/api/v1/auth/setup', {
      json: { email: `${'a'.repeat(250)}@b.co`, password: 'p'.repeat(257), display_name: 'd'.repeat(101) },
    });
    expect(res.status).toBe(422);
    expect((await res.json()).errors.map((e: { path: string }) => e.path)).toEqual([
      'email',
      'password',
      'display_name',
    ]);
  });
});
