import { describe, expect } from 'vitest';
import { expectNoToken } from './common.ts';
import type { HarnessTest } from './fixtures.ts';
import { type Harness, problem, type RequestOptions, type TestUser } from './harness.ts';
import { forgeToken } from './tokens.ts';

/** One request of a route under test, on a resource its owner made. */
export interface PreparedRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  json?: unknown;
  /** Checks the exact 404 another (non-admin) user gets; omitted for routes without an owner. */
  expectNotFound?: (res: Response) => Promise<void>;
  /** The status an admin gets on the owner's resource; omitted when the route has no owner. */
  adminStatus?: number;
}

export interface CommonAuthOptions {
  /** Makes a resource of `owner` and returns the request that reaches it. Called once per test. */
  prepareRequest: (h: Harness, owner: TestUser) => Promise<PreparedRequest>;
}

async function expectInvalidToken(res: Response, code: 'unauthorized' | 'token_expired', detail: string) {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const title = code === 'token_expired' ? 'Token expired' : 'Unauthorized';
  expect(await res.json()).toEqual(problem(res, code, 401, title, detail));
}

/**
 * The security tests every authenticated route shares (STYLE.md rule 22): no token, a malformed token and an
 * expired token are 401 with the exact problem body; another user's resource is 404 and an admin reaches it.
 * The tests run on the file's harness: `test` is the file's test API (tests/helpers/fixtures.ts).
 * @example runCommonAuthTests(test, 'PATCH /api/v1/boards/{id}', { prepareRequest: async (h, owner) => … });
 */
export function runCommonAuthTests(test: HarnessTest, name: string, options: CommonAuthOptions): void {
  describe(`${name}: common security`, () => {
    let owner: TestUser;
    let other: TestUser;
    let admin: TestUser;
    test.beforeAll(async ({ h }) => {
      owner = await h.createUser();
      other = await h.createUser();
      admin = await h.createUser({ isAdmin: true });
    });

    async function send(
      h: Harness,
      token?: string,
      headers?: Record<string, string>,
    ): Promise<[Response, PreparedRequest]> {
      const req = await options.prepareRequest(h, owner);
      const o: RequestOptions = { token, headers, json: req.json };
      return [await h.request(req.method, req.path, o), req];
    }

    test('without a token is 401', async ({ h }) => {
      const [res] = await send(h);
      await expectNoToken(res);
    });

    test('with a malformed token is 401 invalid_token', async ({ h }) => {
      const [res] = await send(h, 'not.a.jwt');
      await expectInvalidToken(res, 'unauthorized', 'The token is invalid.');
    });

    test('with an expired token is 401 token_expired', async ({ h }) => {
      const nowS = Math.floor(h.clock.now().getTime() / 1000);
      const token = await forgeToken(owner.user.user_id, { nowS: nowS - 7200, lifetimeS: 3600 });
      const [res] = await send(h, token);
      await expectInvalidToken(res, 'token_expired', 'The token has expired.');
    });

    test("another user's resource is 404, and an admin reaches it", async ({ h }) => {
      const [res, req] = await send(h, other.token);
      if (req.expectNotFound === undefined || req.adminStatus === undefined) {
        expect(req.expectNotFound).toBeUndefined();
        expect(req.adminStatus).toBeUndefined();
        return;
      }
      await req.expectNotFound(res);
      const [asAdmin] = await send(h, admin.token);
      expect(asAdmin.status).toBe(req.adminStatus);
    });
  });
}
