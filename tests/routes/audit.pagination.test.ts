import { describe, expect } from 'vitest';
import { AUDIT, collect, it, page, rid, USERS, VALIDATION } from '../helpers/audit.ts';
import { type Harness, problem } from '../helpers/harness.ts';

describe('GET /api/v1/audit pagination', () => {
  /** An admin with exactly `n` entries as actor: its own creation and `n - 1` users it created. */
  async function actorWith(h: Harness, n: number) {
    const admin = await h.createUser({ isAdmin: true });
    for (let i = 1; i < n; i++) {
      const res = await h.post(USERS, {
        token: admin.token,
        json: { email: `page-${i}-${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'password-1' },
      });
      expect(res.status).toBe(201);
    }
    return admin;
  }

  it('pages with a limit cover every entry once, in order', async ({ h, reader }) => {
    const admin = await actorWith(h, 8);
    const query = { user_id: admin.user.user_id };
    const all = await page({ h, reader }, { ...query, limit: 200 });
    expect(all.items).toHaveLength(8);
    expect(all.next_cursor).toBeNull();

    const p1 = await page({ h, reader }, { ...query, limit: 3 });
    expect(p1.items).toEqual(all.items.slice(0, 3));
    expect(p1.next_cursor).toEqual(expect.any(String));
    const p2 = await page({ h, reader }, { ...query, limit: 3, cursor: p1.next_cursor as string });
    expect(p2.items).toEqual(all.items.slice(3, 6));
    expect(p2.next_cursor).toEqual(expect.any(String));
    const p3 = await page({ h, reader }, { ...query, limit: 3, cursor: p2.next_cursor as string });
    expect(p3).toEqual({ items: all.items.slice(6), next_cursor: null });
  });

  it('a last page that is exactly full has no next cursor', async ({ h, reader }) => {
    const admin = await actorWith(h, 4);
    const query = { user_id: admin.user.user_id };
    const p1 = await page({ h, reader }, { ...query, limit: 2 });
    expect(p1.items).toHaveLength(2);
    const p2 = await page({ h, reader }, { ...query, limit: 2, cursor: p1.next_cursor as string });
    expect(p2.items).toHaveLength(2);
    expect(p2.next_cursor).toBeNull();
    expect(await page({ h, reader }, { ...query, limit: 4 })).toEqual({
      items: [...p1.items, ...p2.items],
      next_cursor: null,
    });
    const short = await page({ h, reader }, { ...query, limit: 3 });
    expect(short.next_cursor).toEqual(expect.any(String));
    expect(await page({ h, reader }, { ...query, limit: 3, cursor: short.next_cursor as string })).toEqual({
      items: p2.items.slice(1),
      next_cursor: null,
    });
  });

  it('entries written between pages cause no skips or repeats', async ({ reader, h }) => {
    const admin = await actorWith(h, 6);
    const query = { user_id: admin.user.user_id };
    const before = (await page({ h, reader }, { ...query, limit: 200 })).items;
    const p1 = await page({ h, reader }, { ...query, limit: 2 });
    expect(p1.items).toEqual(before.slice(0, 2));
    const late = await h.patch(`${USERS}/${admin.user.user_id}`, {
      token: admin.token,
      json: { display_name: 'L' },
    });
    expect(late.status).toBe(200);
    const rest = await collect({ h, reader }, { ...query, cursor: p1.next_cursor as string }, 2);
    expect(rest).toEqual(before.slice(2));
    const fresh = await page({ h, reader }, { ...query, limit: 1 });
    expect(fresh.items.map((e) => e.request_id)).toEqual([rid(late)]);
  });

  it('paging the whole log with a small limit equals reading it in large pages', async ({ h, reader }) => {
    const small = await collect({ h, reader }, {}, 7);
    const large = await collect({ h, reader }, {}, 200);
    expect(small).toEqual(large);
    expect(new Set(small.map((e) => e.id)).size).toBe(small.length);
  });

  it('paging a filtered log keeps the filter', async ({ h, reader }) => {
    const small = await collect({ h, reader }, { action: 'user.created' }, 3);
    expect(small.length).toBeGreaterThan(3);
    expect(small.every((e) => e.action === 'user.created')).toBe(true);
    expect(small).toEqual(await collect({ h, reader }, { action: 'user.created' }, 200));
  });

  it('the default limit is 50', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    for (let i = 0; i < 51; i++) {
      const res = await h.patch(`${USERS}/${admin.user.user_id}`, {
        token: admin.token,
        json: { display_name: `Step ${i}` },
      });
      expect(res.status).toBe(200);
    }
    const first = await page({ h, reader }, { user_id: admin.user.user_id });
    expect(first.items).toHaveLength(50);
    expect(first.items[0]?.details).toEqual({ display_name: 'Step 50', tokens_revoked: false });
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await page(
      { h, reader },
      { user_id: admin.user.user_id, cursor: first.next_cursor as string },
    );
    expect(second.items.map((e) => e.action)).toEqual(['user.updated', 'user.created']);
    expect(second.items[0]?.details).toEqual({ display_name: 'Step 0', tokens_revoked: false });
    expect(second.next_cursor).toBeNull();
  });

  it('limit 1 and 200 are accepted', async ({ h, reader }) => {
    expect((await page({ h, reader }, { limit: 1 })).items).toHaveLength(1);
    expect((await page({ h, reader }, { limit: 200 })).items.length).toBeGreaterThan(1);
  });

  it.for(['abc', '0', '-1', '1.5', '1e3', '12abc', ''])(
    'cursor %j is 400 bad_request',
    async (cursor, { h, reader }) => {
      const res = await h.get(`${AUDIT}?cursor=${encodeURIComponent(cursor)}`, { token: reader.token });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toEqual(
        problem(res, 'bad_request', 400, 'Bad request', 'The cursor was not issued by this server.'),
      );
    },
  );

  it.for([
    ['0', 'Too small: expected number to be >=1'],
    ['-3', 'Too small: expected number to be >=1'],
    ['201', 'Too big: expected number to be <=200'],
    ['500', 'Too big: expected number to be <=200'],
    ['2.5', 'Invalid input: expected int, received number'],
    ['abc', 'Invalid input: expected number, received NaN'],
  ] as const)('limit=%s is 422', async ([limit, message], { h, reader }) => {
    const res = await h.get(`${AUDIT}?limit=${limit}`, { token: reader.token });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
        { path: 'query.limit', message },
      ]),
    );
  });
});
