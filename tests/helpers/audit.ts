import { expect } from 'vitest';
import { test as fileTest } from './fixtures.ts';
import type { Harness, TestUser } from './harness.ts';

/**
 * The test API of the audit.*.test.ts files (each file its own harness), with `reader`, the admin that reads
 * the log in every test.
 */
export const test = fileTest.extend('reader', { scope: 'file' }, ({ h }) => h.createUser({ isAdmin: true }));
export const it = test;

export const AUDIT = '/api/v1/audit';
export const USERS = '/api/v1/users';
export const VALIDATION = 'The request does not match the schema.';

export interface Entry {
  id: string;
  at: string;
  actor_user_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: Record<string, unknown>;
  request_id: string | null;
}
/** Who reads the log: the test file's harness and reader. */
export interface Reading {
  h: Harness;
  reader: TestUser;
}
export interface Page {
  items: Entry[];
  next_cursor: string | null;
}

export async function page(
  { h, reader }: Reading,
  query: Record<string, string | number> = {},
): Promise<Page> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await h.get(`${AUDIT}?${qs}`, { token: reader.token });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return res.json();
}

/** Every entry matching `query`, following `next_cursor` with pages of `limit`. */
export async function collect(
  { h, reader }: Reading,
  query: Record<string, string | number>,
  limit: number,
): Promise<Entry[]> {
  const all: Entry[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const p = await page({ h, reader }, { ...query, limit, ...(cursor ? { cursor } : {}) });
    expect(p.items.length).toBeLessThanOrEqual(limit);
    all.push(...p.items);
    cursor = p.next_cursor;
    if (!cursor) {
      return all;
    }
    expect(p.items).toHaveLength(limit);
  }
  throw new Error('pagination did not end');
}

/** The entries written by the request with this id. */
export async function byRequest({ h, reader }: Reading, requestId: string | null): Promise<Entry[]> {
  expect(requestId).toEqual(expect.any(String));
  return (await collect({ h, reader }, {}, 200)).filter((e) => e.request_id === requestId);
}

export const rid = (res: Response) => res.headers.get('x-request-id');
export const now = (h: Harness) => h.clock.now().toISOString();
export const userEntry = (h: Harness, o: Partial<Entry> & Pick<Entry, 'action'>): Entry => ({
  id: expect.any(String),
  at: now(h),
  actor_user_id: null,
  target_type: 'user',
  target_id: null,
  details: {},
  request_id: expect.any(String),
  ...o,
});
