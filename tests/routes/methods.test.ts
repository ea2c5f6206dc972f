import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, problem, type TestUser } from '../helpers/harness.ts';

// API.md section 1: a known path with a method it does not have is 405 with Allow, for any valid token
// (admin or not, before any admin check); without a token it is 401; an unknown path is 404.
let h: Harness;
let admin: TestUser;
let user: TestUser;
beforeAll(async () => {
  h = await createHarness();
  admin = await h.createUser({ isAdmin: true });
  user = await h.createUser();
});
afterAll(() => h.close());

describe('a known path with a wrong method', () => {
  it.each([
    ['PATCH', '/api/v1/users', 'GET, HEAD, POST'],
    ['DELETE', '/api/v1/auth/me', 'GET, HEAD, PATCH'],
    ['POST', '/api/v1/queue/default/status', 'GET, HEAD'],
    ['PUT', '/api/v1/queue/default/i/1', 'DELETE, GET, HEAD'],
  ])('%s %s is 405 with Allow: %s, for a user and for an admin', async (method, path, allow) => {
    for (const who of [user, admin]) {
      const res = await h.request(method, path, { token: who.token });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(await res.json()).toEqual(
        problem(res, 'method_not_allowed', 405, 'Method not allowed', `${path} does not answer ${method}.`),
      );
    }
  });

  it('without a token it is 401, like every path under /api/v1', async () => {
    const res = await h.request('PATCH', '/api/v1/users');
    expect(res.status).toBe(401);
    expect(res.headers.get('allow')).toBeNull();
  });

  it('a known path with its own method still reaches the route (403 for a non-admin on an admin route)', async () => {
    expect((await h.get('/api/v1/users', { token: user.token })).status).toBe(403);
    expect((await h.get('/api/v1/users', { token: admin.token })).status).toBe(200);
  });

  it('an unknown path is 404', async () => {
    const res = await h.request('PATCH', '/api/v1/nowhere', { token: user.token });
    expect(res.status).toBe(404);
  });
});
