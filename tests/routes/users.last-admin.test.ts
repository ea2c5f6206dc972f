import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { users } from '../../src/db/schema/index.ts';
import { it, test } from '../helpers/fixtures.ts';
import type { Harness, TestUser } from '../helpers/harness.ts';
import { dbState, expectProblem, ME, USERS } from '../helpers/users.ts';

// Keep this block last: its `h.reset()` removes the file's shared `admin`.
describe('the last active admin', () => {
  let last: TestUser;
  let plain: TestUser;
  test.beforeEach(async ({ h }) => {
    await h.reset();
    last = await h.createUser({ isAdmin: true });
    plain = await h.createUser();
  });

  async function expectKept(res: Response, what: string) {
    await expectProblem(res, 'conflict', 409, 'Conflict', `The last active admin cannot be ${what}.`);
  }

  async function expectStillAdmin(h: Harness, before: Awaited<ReturnType<typeof dbState>>) {
    expect(await dbState(h)).toEqual(before);
    const me = await h.get(ME, { token: last.token });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual(last.user);
  }

  it('cannot be demoted', async ({ h }) => {
    const before = await dbState(h);
    await expectKept(
      await h.patch(`${USERS}/${last.user.user_id}`, { token: last.token, json: { is_admin: false } }),
      'demoted',
    );
    await expectStillAdmin(h, before);
  });

  it('cannot be deactivated', async ({ h }) => {
    const before = await dbState(h);
    await expectKept(
      await h.patch(`${USERS}/${last.user.user_id}`, { token: last.token, json: { is_active: false } }),
      'deactivated',
    );
    await expectStillAdmin(h, before);
  });

  it('cannot be deleted', async ({ h }) => {
    const before = await dbState(h);
    await expectKept(await h.delete(`${USERS}/${last.user.user_id}`, { token: last.token }), 'deleted');
    await expectStillAdmin(h, before);
  });

  it('a combined patch that demotes is refused whole', async ({ h }) => {
    const before = await dbState(h);
    await expectKept(
      await h.patch(`${USERS}/${last.user.user_id}`, {
        token: last.token,
        json: { display_name: 'Renamed', max_pending: 3, is_admin: false },
      }),
      'demoted',
    );
    await expectStillAdmin(h, before);
  });

  it('an inactive admin does not count: the last active one is still protected', async ({ h }) => {
    const inactive = await h.createUser({ isAdmin: true });
    const off = await h.patch(`${USERS}/${inactive.user.user_id}`, {
      token: last.token,
      json: { is_active: false },
    });
    expect(off.status).toBe(200);
    const before = await dbState(h);
    await expectKept(
      await h.patch(`${USERS}/${last.user.user_id}`, { token: last.token, json: { is_admin: false } }),
      'demoted',
    );
    await expectKept(await h.delete(`${USERS}/${last.user.user_id}`, { token: last.token }), 'deleted');
    await expectStillAdmin(h, before);
    // The inactive admin itself may be demoted and deleted.
    const demote = await h.patch(`${USERS}/${inactive.user.user_id}`, {
      token: last.token,
      json: { is_admin: false },
    });
    expect(demote.status).toBe(200);
    expect((await h.delete(`${USERS}/${inactive.user.user_id}`, { token: last.token })).status).toBe(204);
  });

  it('a plain user is not guarded, and a second admin lifts the guard', async ({ h }) => {
    const res = await h.patch(`${USERS}/${plain.user.user_id}`, {
      token: last.token,
      json: { is_active: false },
    });
    expect(res.status).toBe(200);
    const second = await h.createUser({ isAdmin: true });
    const demote = await h.patch(`${USERS}/${last.user.user_id}`, {
      token: second.token,
      json: { is_admin: false },
    });
    expect(demote.status).toBe(200);
    // Now `second` is the last active admin.
    await expectKept(await h.delete(`${USERS}/${second.user.user_id}`, { token: second.token }), 'deleted');
  });

  it('two admins demoting each other at once leave exactly one admin', async ({ h }) => {
    const other = await h.createUser({ isAdmin: true });
    const results = await Promise.all([
      h.patch(`${USERS}/${other.user.user_id}`, { token: last.token, json: { is_admin: false } }),
      h.patch(`${USERS}/${last.user.user_id}`, { token: other.token, json: { is_admin: false } }),
    ]);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    // The loser is refused by the guard (409), or its token was already revoked by the winner (401).
    expect(statuses.filter((s) => s === 409 || s === 401)).toHaveLength(1);
    const admins = await h.db.select().from(users).where(sql`${users.isAdmin} and ${users.isActive}`);
    expect(admins).toHaveLength(1);
  });

  it('two admins deleting each other at once leave exactly one admin', async ({ h }) => {
    const other = await h.createUser({ isAdmin: true });
    const results = await Promise.all([
      h.delete(`${USERS}/${other.user.user_id}`, { token: last.token }),
      h.delete(`${USERS}/${last.user.user_id}`, { token: other.token }),
    ]);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 204)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409 || s === 401)).toHaveLength(1);
    const admins = await h.db.select().from(users).where(sql`${users.isAdmin} and ${users.isActive}`);
    expect(admins).toHaveLength(1);
  });
});
