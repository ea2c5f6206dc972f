import { describe, expect } from 'vitest';
import { expectNoToken, must } from './common.ts';
import { type Harness, problem, type RequestOptions, type TestUser } from './harness.ts';
import { forgeToken } from './tokens.ts';

/** One request of a route under test, on a resource its owner made. */
export interface PreparedRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  json?: unknown;
  /** `otherUser: 'notFound'`: checks the exact 404 another (non-admin) user gets. */
  expectNotFound?: (res: Response) => Promise<void>;
  /** `otherUser: 'forbidden'`: the `detail` of the exact 403 another (non-admin) user gets. */
  forbiddenDetail?: string;
  /** The status an admin gets on the owner's resource; omitted with `otherUser: 'none'`. */
  adminStatus?: number;
}

/**
 * What another, non-admin user gets on the owner's resource, and so what the suite's fourth test checks:
 * - `'notFound'` (the default): the route's exact 404 (`expectNotFound`), as for images and boards, whose
 *   existence is hidden from others; an admin gets `adminStatus`.
 * - `'forbidden'`: 403 `forbidden` with the exact problem body (`forbiddenDetail`): admin-only routes (users,
 *   audit, workers, queue owner transfer; `owner` is then just a plain user) and mutations of another user's
 *   queue item; an admin gets `adminStatus`.
 * - `'none'`: the route has no owner (GET /auth/me, POST /events/ticket, enqueue) or shows others' resources
 *   to every user (GET of a queue item, redacted): the fourth test is not added, the file checks what others
 *   see.
 */
export type OtherUser = 'notFound' | 'forbidden' | 'none';

export interface CommonAuthOptions {
  /** Makes a resource of `owner` and returns the request that reaches it. Called once per test. */
  prepareRequest: (h: Harness, owner: TestUser) => Promise<PreparedRequest>;
  /** What another non-admin user gets (see `OtherUser`); `'notFound'` when omitted. */
  otherUser?: OtherUser;
}

/** A hook or test body of the suite: it uses only the file's harness. */
type SuiteFn = (context: { h: Harness }) => Promise<void>;

/**
 * What the suite needs of a file's test API: `test` of tests/helpers/fixtures.ts, or a `harnessTest(…)`,
 * extended with fixtures of the file's own or not (extended test APIs are not assignable to each other).
 */
export interface SuiteTest {
  (name: string, fn: SuiteFn): void;
  beforeAll(fn: SuiteFn): void;
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
 * expired token are 401 with the exact problem body; another user's resource is the route's exact 404 (or 403,
 * `otherUser`) and an admin reaches it. The suite makes its own three users (owner, another user, an admin),
 * so the file's `alice`, `bob` and `admin` see none of its resources; it runs after the file's other tests.
 * `test` is the file's test API (tests/helpers/fixtures.ts).
 * @example runCommonAuthTests(test, 'PATCH /api/v1/boards/{id}', { prepareRequest: async (h, owner) => … });
 * @example runCommonAuthTests(test, 'GET /api/v1/users', { otherUser: 'forbidden', prepareRequest: … });
 */
export function runCommonAuthTests(test: SuiteTest, name: string, options: CommonAuthOptions): void {
  const otherUser = options.otherUser ?? 'notFound';
  describe(`${name}: common security`, () => {
    /** The suite's users, made by its `beforeAll` (one set per call, whatever the file's fixtures). */
    const users = {} as Record<'owner' | 'other' | 'admin', TestUser>;
    test.beforeAll(async ({ h }) => {
      users.owner = await h.createUser();
      users.other = await h.createUser();
      users.admin = await h.createUser({ isAdmin: true });
    });

    async function send(
      h: Harness,
      token?: string,
      headers?: Record<string, string>,
    ): Promise<[Response, PreparedRequest]> {
      const req = await options.prepareRequest(h, users.owner);
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
      const token = await forgeToken(users.owner.user.user_id, { nowS: nowS - 7200, lifetimeS: 3600 });
      const [res] = await send(h, token);
      await expectInvalidToken(res, 'token_expired', 'The token has expired.');
    });

    if (otherUser === 'notFound') {
      test("another user's resource is 404, and an admin reaches it", async ({ h }) => {
        const [res, req] = await send(h, users.other.token);
        await must(req.expectNotFound, 'expectNotFound')(res);
        const [asAdmin] = await send(h, users.admin.token);
        expect(asAdmin.status).toBe(must(req.adminStatus, 'adminStatus'));
      });
    } else if (otherUser === 'forbidden') {
      test('another user is 403 forbidden, and an admin reaches it', async ({ h }) => {
        const [res, req] = await send(h, users.other.token);
        expect(res.status).toBe(403);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        const detail = must(req.forbiddenDetail, 'forbiddenDetail');
        expect(await res.json()).toEqual(problem(res, 'forbidden', 403, 'Forbidden', detail));
        const [asAdmin] = await send(h, users.admin.token);
        expect(asAdmin.status).toBe(must(req.adminStatus, 'adminStatus'));
      });
    }
  });
}
