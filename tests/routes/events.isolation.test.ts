import { describe, expect } from 'vitest';
import { toQueueItem } from '../../src/queue/item-dto.ts';
import { publishStatusChanged } from '../../src/queue/publish.ts';
import { claimNext } from '../../src/worker/claim.ts';
import {
  frameOf,
  invocationEvent,
  it,
  itemEvents,
  itemIdsIn,
  noStatus,
  STATUS_KEYS,
  sentinel,
  settled,
  upToSentinel,
} from '../helpers/events.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { withIds } from '../helpers/sse.ts';

describe('who receives what (API.md §5 table)', () => {
  it('the owner and admins get every item event; another user and anonymous never see them', async ({
    connect,
    h,
    alice,
    bob,
    admin,
  }) => {
    const watcher = await connect();
    expect((await h.put(`${Q}/clear`, { token: admin.token })).status).toBe(200);
    await settled(h, watcher);
    const a = await connect({ token: alice.token });
    const a2 = await connect({ token: alice.token });
    const b = await connect({ token: bob.token });
    const ad = await connect({ token: admin.token });
    const anon = await connect();
    h.events.clear();

    const ofA = await enqueue(h, alice.token, { runs: 3 });
    const ofB = await enqueue(h, bob.token, { runs: 1 });
    const claimed = await claimNext(h.db, {
      queueId: 'default',
      fairness: 'round_robin',
      workerId: 'test/0:cpu',
      device: 'cpu',
      now: h.clock.now(),
    });
    expect(claimed?.userId).toBe(alice.user.user_id);
    const running = toQueueItem(claimed as NonNullable<typeof claimed>);
    await publishStatusChanged(h.db, h.channels, running);
    for (const name of [
      'invocation_started',
      'invocation_progress',
      'invocation_complete',
      'invocation_error',
    ] as const) {
      h.channels.publish(invocationEvent(name, running));
    }
    const cancel = await h.put(`${Q}/cancel_by_batch_ids`, {
      token: alice.token,
      json: { batch_ids: [ofA.batch.batch_id] },
    });
    expect(await cancel.json()).toEqual({ canceled: 3 });
    const retry = await h.put(`${Q}/retry_items_by_id`, { token: alice.token, json: ofA.item_ids });
    expect(retry.status).toBe(200);
    const retried = (await retry.json()) as { item_ids: number[] };
    const bItem = {
      item_id: ofB.item_ids[0] as number,
      batch_id: ofB.batch.batch_id,
      session_id: 'bs',
      user_id: bob.user.user_id,
    };
    h.channels.publish(invocationEvent('invocation_progress', bItem));
    sentinel(h);

    const published = [...h.events.events];
    expect(new Set(published.map((e) => e.name))).toEqual(
      new Set([
        'batch_enqueued',
        'queue_item_status_changed',
        'invocation_started',
        'invocation_progress',
        'invocation_complete',
        'invocation_error',
        'queue_items_canceled',
        'queue_items_retried',
        'queue_cleared',
      ]),
    );
    const visibleTo = (userId: string | null, isAdmin: boolean) =>
      published.filter((e) => e.ownerId === null || isAdmin || e.ownerId === userId).map(frameOf);

    const streams = [a, a2, b, ad, anon];
    for (const s of streams) {
      await s.untilEvent('queue_cleared');
    }
    expect(itemEvents(upToSentinel(a.frames))).toEqual(visibleTo(alice.user.user_id, false));
    expect(itemEvents(upToSentinel(ad.frames))).toEqual(visibleTo(admin.user.user_id, true));
    expect(itemEvents(upToSentinel(b.frames))).toEqual(visibleTo(bob.user.user_id, false));
    expect(itemEvents(upToSentinel(anon.frames))).toEqual(visibleTo(null, false));

    // Both of Alice's tabs: the same frames, ids included, in the same order (the first tab may have had
    // a queue_status before the second one connected).
    const one = withIds(upToSentinel(a.frames));
    const two = withIds(upToSentinel(a2.frames));
    const from = one.findIndex((f) => f.id === two[0]?.id);
    expect(two).toEqual(one.slice(from));
    expect(noStatus(one.slice(0, from))).toEqual([]);

    // Nothing of Alice's items reaches Bob or an anonymous stream, not even an id.
    const secretsOfA = [
      ofA.batch.batch_id,
      running.session_id as string,
      alice.user.user_id,
      alice.user.email,
      `PREVIEW-OF-${running.item_id}`,
      `image-of-${running.item_id}`,
    ];
    const idsOfA = [...ofA.item_ids, ...retried.item_ids];
    for (const s of [b, anon]) {
      for (const secret of secretsOfA) {
        expect(s.text).not.toContain(secret);
      }
      for (const id of idsOfA) {
        expect(s.text).not.toMatch(new RegExp(`"item_id":${id}\\b|[\\[,]${id}[\\],]`));
      }
      expect(itemIdsIn(s.frames).filter((id) => idsOfA.includes(id))).toEqual([]);
    }
    expect(anon.text).not.toContain(bob.user.user_id);
    // queue_status carries counts only, to everyone.
    for (const s of streams) {
      for (const f of s.frames.filter((x) => x.event === 'queue_status')) {
        expect(Object.keys(f.data as object).sort()).toEqual(STATUS_KEYS);
      }
    }
  });

  it('an anonymous stream gets queue_status and queue_cleared and nothing else', async ({
    connect,
    h,
    bob,
    admin,
  }) => {
    const anon = await connect();
    const mine = await connect({ token: bob.token });
    await enqueue(h, bob.token, { runs: 2 });
    await mine.untilEvent('batch_enqueued');
    const clear = await h.put(`${Q}/clear`, { token: admin.token });
    expect(clear.status).toBe(200);
    await anon.untilEvent('queue_cleared');
    // After a clear, the counts are all zero: wait for the queue_status that says so.
    const zero = {
      pending: 0,
      in_progress: 0,
      completed: 0,
      failed: 0,
      canceled: 0,
      total: 0,
      queue_id: 'default',
    };
    await anon.until(
      (frames) =>
        frames.some(
          (f, i) => i > frames.findIndex((x) => x.event === 'queue_cleared') && f.event === 'queue_status',
        ),
      'a queue_status after the clear',
    );
    const after = anon.frames.slice(anon.frames.findIndex((f) => f.event === 'queue_cleared'));
    expect(after.find((f) => f.event === 'queue_status')).toEqual({
      id: expect.any(String),
      event: 'queue_status',
      data: zero,
    });
    expect(new Set(anon.names())).toEqual(new Set(['connected', 'queue_status', 'queue_cleared']));
    expect(anon.text).not.toContain(bob.user.user_id);
    expect(itemIdsIn(anon.frames)).toEqual([]);
    expect(withIds(anon.frames).find((f) => f.event === 'queue_cleared')).toEqual(
      frameOf({ name: 'queue_cleared', queueId: 'default', ownerId: null, data: {} }),
    );
  });

  it('queue_status follows the changes (coalesced) with the counts GET /status reports', async ({
    connect,
    h,
    alice,
  }) => {
    const anon = await connect();
    for (let i = 0; i < 20; i++) {
      await enqueue(h, alice.token);
    }
    const status = await h.get(`${Q}/status`, { token: alice.token });
    const { queue } = (await status.json()) as { queue: Record<string, unknown> };
    const { item_id: _running, ...counts } = queue;
    const final = JSON.stringify(Object.entries(counts).sort());
    await anon.until(
      (frames) =>
        frames.some(
          (f) =>
            f.event === 'queue_status' && JSON.stringify(Object.entries(f.data as object).sort()) === final,
        ),
      `a queue_status with ${final}`,
    );
    const statuses = anon.frames.filter((f) => f.event === 'queue_status');
    expect(statuses.at(-1)?.data).toEqual(counts);
    expect(statuses.length).toBeLessThan(20);
    expect(new Set(anon.names())).toEqual(new Set(['connected', 'queue_status']));
  });
});
