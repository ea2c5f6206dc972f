import { describe, expect } from 'vitest';
import { AuditAction } from '../../src/services/audit/index.ts';
import { AUDIT, collect, it, page, rid, test, USERS, userEntry, VALIDATION } from '../helpers/audit.ts';
import { problem } from '../helpers/harness.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

describe('GET /api/v1/audit order and filters', () => {
  it('lists entries newest first', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const steps: Response[] = [];
    h.clock.advance(1000);
    const made = await h.post(USERS, {
      token: admin.token,
      json: { email: `order-${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'password-1' },
    });
    steps.push(made);
    const id = (await made.json()).user_id;
    h.clock.advance(1000);
    steps.push(await h.patch(`${USERS}/${id}`, { token: admin.token, json: { display_name: 'Order' } }));
    h.clock.advance(1000);
    steps.push(await h.delete(`${USERS}/${id}`, { token: admin.token }));

    const { items, next_cursor } = await page({ h, reader }, { user_id: admin.user.user_id });
    expect(next_cursor).toBeNull();
    expect(items.map((e) => [e.action, e.request_id])).toEqual([
      ['user.deleted', rid(steps[2] as Response)],
      ['user.updated', rid(steps[1] as Response)],
      ['user.created', rid(steps[0] as Response)],
      ['user.created', expect.stringMatching(/^fixture-/)],
    ]);
    const t = h.clock.now().getTime();
    expect(items.map((e) => e.at)).toEqual([0, 1000, 2000, 3000].map((ms) => new Date(t - ms).toISOString()));
    const ids = items.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('the whole log is newest first by id', async ({ h, reader }) => {
    const ids = (await collect({ h, reader }, {}, 200)).map((e) => BigInt(e.id));
    expect(ids.length).toBeGreaterThan(0);
    for (let i = 1; i < ids.length; i++) {
      expect((ids[i - 1] as bigint) > (ids[i] as bigint)).toBe(true);
    }
  });

  it('user_id filters by actor, not by target', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const user = await h.createUser();
    const res = await h.patch(`${USERS}/${user.user.user_id}`, {
      token: admin.token,
      json: { display_name: 'T' },
    });
    expect(res.status).toBe(200);
    const own = await page({ h, reader }, { user_id: user.user.user_id });
    expect(own.items.map((e) => [e.actor_user_id, e.action])).toEqual([[user.user.user_id, 'user.created']]);
    const byAdmin = await page({ h, reader }, { user_id: admin.user.user_id });
    expect(byAdmin.items.map((e) => [e.action, e.target_id])).toEqual([
      ['user.updated', user.user.user_id],
      ['user.created', admin.user.user_id],
    ]);
  });

  it('action filters by action, and combines with user_id', async ({ reader, h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const user = await h.createUser();
    await h.patch(`${USERS}/${user.user.user_id}`, { token: admin.token, json: { max_pending: 3 } });
    const del = await h.delete(`${USERS}/${user.user.user_id}`, { token: admin.token });
    expect(del.status).toBe(204);

    const deletions = await collect({ h, reader }, { action: 'user.deleted' }, 200);
    expect(deletions.length).toBeGreaterThan(0);
    expect(deletions.every((e) => e.action === 'user.deleted')).toBe(true);
    expect(deletions.map((e) => e.request_id)).toContain(rid(del));

    expect(await page({ h, reader }, { user_id: admin.user.user_id, action: 'user.updated' })).toEqual({
      items: [
        userEntry(h, {
          action: 'user.updated',
          actor_user_id: admin.user.user_id,
          target_id: user.user.user_id,
          details: { max_pending: 3, tokens_revoked: false },
        }),
      ],
      next_cursor: null,
    });
    expect(await page({ h, reader }, { user_id: admin.user.user_id, action: 'auth.logout' })).toEqual({
      items: [],
      next_cursor: null,
    });
  });

  it('an unknown user_id gives an empty page', async ({ h, reader }) => {
    expect(await page({ h, reader }, { user_id: 'nobody-at-all' })).toEqual({ items: [], next_cursor: null });
  });

  it('an unknown action is 422', async ({ h, reader }) => {
    const res = await h.get(`${AUDIT}?action=user.exploded`, { token: reader.token });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
        {
          path: 'query.action',
          message: `Invalid option: expected one of ${AuditAction.options.map((o) => `"${o}"`).join('|')}`,
        },
      ]),
    );
  });
});

runCommonAuthTests(test, 'GET /api/v1/audit', {
  otherUser: 'forbidden',
  prepareRequest: async () => ({
    method: 'GET',
    path: AUDIT,
    forbiddenDetail: 'This action needs an admin.',
    adminStatus: 200,
  }),
});
