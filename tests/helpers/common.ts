import { expect } from 'vitest';

/**
 * The value, or a thrown error naming what was missing: narrows `T | undefined` without a `!`.
 * @example const item = must(items.find((i) => i.item_id === id), `item ${id}`);
 */
export function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) {
    throw new Error(`missing ${what}`);
  }
  return value;
}

/** The problem+json body of a 401 for a request without a bearer token. */
export const NO_TOKEN = {
  code: 'unauthorized',
  title: 'Unauthorized',
  detail: 'A bearer token is required.',
};

/**
 * Asserts the exact 401 answer to a request without a token: the problem body and `WWW-Authenticate: Bearer`.
 * @example await expectNoToken(await h.get('/api/v1/boards'));
 */
export async function expectNoToken(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer');
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(await res.json()).toEqual({
    type: `/docs#error-${NO_TOKEN.code}`,
    title: NO_TOKEN.title,
    status: 401,
    detail: NO_TOKEN.detail,
    code: NO_TOKEN.code,
    request_id: res.headers.get('x-request-id'),
  });
}
