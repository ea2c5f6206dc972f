import { asc, sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { auditLog, users } from '../../src/db/schema/index.ts';
import type { User } from '../../src/services/users/index.ts';
import { expectProblem as expectWholeProblem, type Harness, problem, type TestUser } from './harness.ts';

/** What the users route tests (users.*.test.ts) share. */

export const USERS = '/api/v1/users';
export const ME = '/api/v1/auth/me';
export const LOGIN = '/api/v1/auth/login';
export const VALIDATION = 'The request does not match the schema.';

/** A fresh admin for one test. */
export const newAdmin = (h: Harness) => h.createUser({ isAdmin: true });

/** A unique email with the given local part prefix. */
export const uniqueEmail = (prefix: string, domain = 'example.com') =>
  `${prefix}-${crypto.randomUUID().slice(0, 8)}@${domain}`;

/** The `User` JSON of a fixture user as it is now in the database (with the server default quota). */
export const asJson = (u: TestUser, over: Partial<User> = {}): User => ({ ...u.user, ...over });

export async function expectRevoked(h: Harness, token: string, detail: string) {
  const res = await h.get(ME, { token });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  expect(await res.json()).toEqual(problem(res, 'unauthorized', 401, 'Unauthorized', detail));
}

export async function expectTokenWorks(h: Harness, token: string, userId: string) {
  const res = await h.get(ME, { token });
  expect(res.status).toBe(200);
  expect((await res.json()).user_id).toBe(userId);
}

export async function login(h: Harness, email: string, password: string) {
  return h.post(LOGIN, { json: { email, password } });
}

/** Every user row (hashes and epochs included) and the audit log size: what "nothing changed" compares. */
export async function dbState(h: Harness) {
  const rows = await h.db.select().from(users).orderBy(asc(users.userId));
  const [audit] = await h.db.select({ n: sql<number>`count(*)::int` }).from(auditLog);
  return { rows, audit: audit?.n };
}

/** The harness's `expectProblem`, and a refused request gets no `X-Refreshed-Token`. */
export async function expectProblem(
  res: Response,
  code: string,
  status: number,
  title: string,
  detail: string,
  errors?: { path: string; message: string }[],
) {
  expect(res.headers.get('x-refreshed-token')).toBeNull();
  await expectWholeProblem(res, code, status, title, detail, errors);
}
