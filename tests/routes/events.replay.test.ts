import { describe, expect } from 'vitest';
import {
  connectedAs,
  frameOf,
  invocationEvent,
  it,
  itemEvents,
  noStatus,
  RESYNC,
  RETRY,
  sentinel,
  upToSentinel,
} from '../helpers/events.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { withIds } from '../helpers/sse.ts';

describe('resuming with Last-Event-ID', () => {
  it.for([
    ['the Last-Event-ID header', (id: string) => ({ headers: { 'Last-Event-ID': id } })],
    ['?last_event_id=', (id: string) => ({ query: `?last_event_id=${encodeURIComponent(id)}` })],
  ] as const)(
    'via %s replays exactly the missed events, in order, then live ones',
    async ([_how, resume], { h, connect }) => {
      const user = await h.createUser();
      const keeper = await connect({ token: user.token }); // a tab that stays open: what the channel sent
      const first = await connect({ token: user.token });
      await enqueue(h, user.token);
      const lastSeen = itemEvents(await first.untilEvent('batch_enqueued'))[0]?.id as string;
      await first.close();

      const missed = await enqueue(h, user.token, { runs: 2 });
      const row = {
        item_id: missed.item_ids[0] as number,
        batch_id: missed.batch.batch_id,
        session_id: 's',
        user_id: user.user.user_id,
      };
      h.channels.publish(invocationEvent('invocation_progress', row));
      expect((await h.put(`${Q}/i/${row.item_id}/cancel`, { token: user.token })).status).toBe(200);

      const resumed = await connect({ token: user.token, ...resume(lastSeen) });
      h.channels.publish(invocationEvent('invocation_started', row)); // live, after the replay
      sentinel(h);
      const sent = upToSentinel(await keeper.untilEvent('queue_cleared'));
      const got = upToSentinel(await resumed.untilEvent('queue_cleared'));
      const afterLastSeen = withIds(sent).slice(withIds(sent).findIndex((f) => f.id === lastSeen) + 1);
      expect(got).toEqual([RETRY, connectedAs(user.user.user_id, false), ...afterLastSeen]);
      expect(noStatus(afterLastSeen).map((f) => f.event)).toEqual([
        'batch_enqueued',
        'invocation_progress',
        'queue_item_status_changed',
        'invocation_started',
        'queue_cleared',
      ]);
      const seqs = withIds(got).map((f) => Number(f.id?.split('-')[1]));
      expect(seqs).toEqual(seqs.map((_, i) => Number(lastSeen.split('-')[1]) + 1 + i));
    },
  );

  it('an id the channel does not hold (garbage, another user’s, from before a restart) gives resync {reason}', async ({
    connect,
    h,
    alice,
    bob,
  }) => {
    const other = await connect({ token: bob.token });
    await enqueue(h, bob.token);
    const bobsId = itemEvents(await other.untilEvent('batch_enqueued'))[0]?.id as string;
    for (const id of ['garbage', bobsId, 'deadbeef-1', '00000000-99999']) {
      const s = await connect({ token: alice.token, headers: { 'Last-Event-ID': id } });
      const live = sentinel(h);
      expect(noStatus(await s.untilEvent('queue_cleared'))).toEqual([
        RETRY,
        connectedAs(alice.user.user_id, false),
        RESYNC,
        frameOf(live),
      ]);
      await s.close();
    }
  });

  it('an id whose successors are gone (over 1000 events and 10 minutes) gives resync', async ({
    connect,
    h,
  }) => {
    const user = await h.createUser();
    const s = await connect({ token: user.token });
    const item = { item_id: 1, batch_id: 'b', session_id: 's', user_id: user.user.user_id };
    h.channels.publish(invocationEvent('invocation_progress', item));
    h.channels.publish(invocationEvent('invocation_progress', item));
    const seen = itemEvents(await s.untilEvent('invocation_progress', 2));
    await s.close();
    // The second event is now 10 minutes old, and 1000 newer ones follow: it is not held any more.
    h.clock.advance(10 * 60_000 + 1);
    for (let i = 0; i < 1000; i++) {
      h.channels.publish(invocationEvent('invocation_progress', item));
    }
    const stale = await connect({ token: user.token, headers: { 'Last-Event-ID': seen[0]?.id as string } });
    expect((await stale.untilEvent('resync')).slice(0, 3)).toEqual([
      RETRY,
      connectedAs(user.user.user_id, false),
      RESYNC,
    ]);
    const live = sentinel(h);
    expect(itemEvents(await stale.untilEvent('queue_cleared'))).toEqual([frameOf(live)]);
  });
});
