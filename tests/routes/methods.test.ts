import { describe, expect } from 'vitest';
import { test as fileTest } from '../helpers/fixtures.ts';
import { problem } from '../helpers/harness.ts';

const test = fileTest.extend('user', { scope: 'file' }, ({ h }) => h.createUser());
const it = test;

// API.md section 1: a known path with a method it does not have is 405 with Allow, for any valid token
// (admin or not, before any admin check); without a token it is 401; an unknown path is 404.

describe('a known path with a wrong method', () => {
  it.for([
    ['PATCH', '/api/v1/users', 'GET, HEAD, POST'],
    ['DELETE', '/api/v1/auth/me', 'GET, HEAD, PATCH'],
    ['POST', '/api/v1/queue/default/status', 'GET, HEAD'],
    ['PUT', '/api/v1/queue/default/i/1', 'DELETE, GET, HEAD'],
  ] as const)(
    '%s %s is 405 with Allow: %s, for a user and for an admin',
    async ([method, path, allow], { h, admin, user }) => {
      for (const who of [user, admin]) {
        const res = await h.request(method, path, { token: who.token });
        expect(res.status).toBe(405);
        expect(res.headers.get('allow')).toBe(allow);
        expect(await res.json()).toEqual(
          problem(res, 'method_not_allowed', 405, 'Method not allowed', `${path} does not answer ${method}.`),
        );
      }
    },
  );

  it('without a token it is 401, like every path under /api/v1', async ({ h }) => {
    const res = await h.request('PATCH', '/api/v1/users');
    expect(res.status).toBe(401);
    expect(res.headers.get('allow')).toBeNull();
  });

  it('a known path with its own method still reaches the route (403 for a non-admin on an admin route)', async ({
    h,
    admin,
    user,
  }) => {
    expect((await h.get('/api/v1/users', { token: user.token })).status).toBe(403);
    expect((await h.get('/api/v1/users', { token: admin.token })).status).toBe(200);
  });

  it('an unknown path is 404', async ({ h, user }) => {
    const res = await h.request('PATCH', '/api/v1/nowhere', { token: user.token });
    expect(res.status).toBe(404);
  });
});
