import { describe, expect } from 'vitest';
import type { ServerEvent, ServerEventName } from '../../src/core/events.ts';
import { toQueueItem } from '../../src/queue/item-dto.ts';
import { publishStatusChanged } from '../../src/queue/publish.ts';
import { claimNext } from '../../src/worker/claim.ts';
import { harnessTest, NAMED_USERS } from '../helpers/fixtures.ts';
import { type Harness, problem } from '../helpers/harness.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { runCommonAuthTests } from '../helpers/security.ts';
import { publishSentinel, type SseFrame, SseReader, withIds } from '../helpers/sse.ts';
import { forgeToken } from '../helpers/tokens.ts';

const EVENTS = '/api/v1/events';

type Connect = (o?: {
  token?: string;
  query?: string;
  headers?: Record<string, string>;
}) => Promise<SseReader>;

/**
 * The file's test API with `connect`, which opens the event stream (200 expected), reads up to `connected`
 * and puts it in the test's `streams` (closed when the test finishes).
 */
const test = harnessTest({}, NAMED_USERS).extend('connect', async ({ h, streams }): Promise<Connect> => {
  return async (o = {}) => {
    const res = await h.get(`${EVENTS}${o.query ?? ''}`, { token: o.token, headers: o.headers });
    expect(res.status).toBe(200);
    const sse = new SseReader(res.body);
    streams.push(sse);
    await sse.untilEvent('connected');
    return sse;
  };
});
const it = test;

const RETRY: SseFrame = { retry: 3000 };
const connectedAs = (userId: string, isAdmin: boolean): SseFrame => ({
  event: 'connected',
  data: { connection_id: expect.stringMatching(/^[0-9a-f-]{36}$/), user_id: userId, is_admin: isAdmin },
});
const RESYNC: SseFrame = { event: 'resync', data: { reason: 'history_unavailable' } };
const authExpired = (reason: 'token_revoked' | 'token_expired'): SseFrame => ({
  event: 'auth_expired',
  data: { reason },
});

const sentinel = (h: Harness) => publishSentinel(h.channels);

/** The frame a client receives for a published event. */
const frameOf = (e: ServerEvent): SseFrame => ({
  id: expect.stringMatching(/^[0-9a-f]{8}-\d+$/),
  event: e.name,
  data: { ...e.data, queue_id: e.queueId },
});

/** Channel events other than the coalesced `queue_status` (which follows changes at its own pace). */
const itemEvents = (frames: SseFrame[]) => withIds(frames).filter((f) => f.event !== 'queue_status');
const noStatus = (frames: SseFrame[]) => frames.filter((f) => f.event !== 'queue_status');

/** The frames up to and including the last `queue_cleared` (the sentinel). */
function upToSentinel(frames: SseFrame[]): SseFrame[] {
  let end = frames.length - 1;
  while (end >= 0 && frames[end]?.event !== 'queue_cleared') {
    end--;
  }
  return frames.slice(0, end + 1);
}

/** Waits until the queue_status that follows everything done so far has reached `watcher`. */
async function settled(h: Harness, watcher: SseReader) {
  sentinel(h);
  await watcher.until((frames) => {
    const last = upToSentinel(frames).length - 1;
    return last >= 0 && frames.slice(last).some((f) => f.event === 'queue_status');
  }, 'the queue_status after the sentinel');
}

const STATUS_KEYS = ['canceled', 'completed', 'failed', 'in_progress', 'pending', 'queue_id', 'total'];

/** Every item id a frame mentions. */
function itemIdsIn(frames: SseFrame[]): number[] {
  const ids: number[] = [];
  for (const f of frames) {
    const d = (f.data ?? {}) as Record<string, unknown>;
    for (const key of ['item_id', 'canceled_item_ids', 'item_ids', 'retried_item_ids']) {
      ids.push(...([d[key]].flat().filter((v) => typeof v === 'number') as number[]));
    }
  }
  return ids;
}

/** The payload of an invocation event (API.md §5 table) of an item. */
function invocationEvent(
  name: Extract<ServerEventName, `invocation_${string}`>,
  item: { item_id: number; batch_id: string | null; session_id: string | null; user_id: string },
): ServerEvent {
  const base = {
    queue_id: 'default',
    item_id: item.item_id,
    batch_id: item.batch_id,
    session_id: item.session_id,
    user_id: item.user_id,
    invocation: { id: 'denoise', type: 'denoise_latents' },
    invocation_source_id: 'denoise',
  };
  const extra: Record<string, Record<string, unknown>> = {
    invocation_started: {},
    invocation_progress: {
      step: 2,
      total_steps: 4,
      percentage: 0.5,
      message: 'Denoising',
      image: { dataURL: `data:image/png;base64,PREVIEW-OF-${item.item_id}`, width: 8, height: 8 },
    },
    invocation_complete: {
      result: {
        type: 'image_output',
        image: { image_name: `image-of-${item.item_id}.png` },
        width: 64,
        height: 64,
      },
    },
    invocation_error: { error_type: 'RuntimeError', error_message: 'boom', error_traceback: 'Traceback …' },
  };
  return { name, queueId: 'default', ownerId: item.user_id, data: { ...base, ...extra[name] } };
}

describe('connecting', () => {
  it('answers text/event-stream: retry: 3000, then connected {connection_id, user_id, is_admin}', async ({
    streams,
    connect,
    h,
    alice,
    admin,
  }) => {
    const res = await h.get(EVENTS, { token: alice.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('x-request-id')).toEqual(expect.any(String));
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    const sse = new SseReader(res.body);
    streams.push(sse);
    expect(await sse.untilEvent('connected')).toEqual([RETRY, connectedAs(alice.user.user_id, false)]);
    expect(sse.text).toMatch(/^retry: 3000\n\nevent: connected\ndata: \{.*\}\n\n$/);

    const asAdmin = await connect({ token: admin.token, query: '?queue_id=default' });
    expect(asAdmin.frames).toEqual([RETRY, connectedAs(admin.user.user_id, true)]);
    const anonymous = await connect();
    expect(anonymous.frames).toEqual([RETRY, connectedAs('system', false)]);
    const ids = [sse, asAdmin, anonymous].map(
      (s) => (s.frames[1]?.data as { connection_id?: string } | undefined)?.connection_id,
    );
    expect(new Set(ids).size).toBe(3);
  });

  it('refuses an invalid, expired or revoked token, or a non-bearer header, with 401 problem+json', async ({
    h,
    alice,
    admin,
  }) => {
    const loggedOut = await h.createUser();
    expect((await h.post('/api/v1/auth/logout', { token: loggedOut.token })).status).toBe(204);
    const inactive = await h.createUser();
    expect(
      (
        await h.patch(`/api/v1/users/${inactive.user.user_id}`, {
          token: admin.token,
          json: { is_active: false },
        })
      ).status,
    ).toBe(200);
    const nowS = Math.floor(h.clock.now().getTime() / 1000);
    const cases: [Record<string, string>, string, string][] = [
      [{ Authorization: 'Bearer not.a.jwt' }, 'unauthorized', 'The token is invalid.'],
      [
        {
          Authorization: `Bearer ${await forgeToken(alice.user.user_id, { nowS: nowS - 7200, lifetimeS: 3600 })}`,
        },
        'token_expired',
        'The token has expired.',
      ],
      [{ Authorization: `Bearer ${loggedOut.token}` }, 'unauthorized', 'The token has been revoked.'],
      [{ Authorization: `Bearer ${inactive.token}` }, 'unauthorized', 'The account is deleted or inactive.'],
      [{ Authorization: `Basic ${alice.token}` }, 'unauthorized', 'A bearer token is required.'],
      [{ Authorization: '' }, 'unauthorized', 'A bearer token is required.'],
    ];
    for (const [headers, code, detail] of cases) {
      const res = await h.get(EVENTS, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const title = code === 'token_expired' ? 'Token expired' : 'Unauthorized';
      expect(await res.json()).toEqual(problem(res, code, 401, title, detail));
    }
    expect(h.channels.stats().connections).toBe(0);
  });

  it('an unknown queue_id is 404, with or without a token', async ({ h, alice }) => {
    for (const token of [alice.token, undefined]) {
      const res = await h.get(`${EVENTS}?queue_id=other`, { token });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toEqual(
        problem(res, 'not_found', 404, 'Not found', 'Queue other was not found'),
      );
    }
    expect(h.channels.stats().connections).toBe(0);
  });
});

describe('tickets (for EventSource)', () => {
  async function ticketFor(h: Harness, token: string) {
    const res = await h.post(`${EVENTS}/ticket`, { token });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ticket: string; expires_in: number };
    expect(body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expires_in: 60 });
    return body.ticket;
  }

  const refusedTicket = async (
    h: Harness,
    ticket: string,
    detail = 'The ticket is unknown, used or expired.',
  ) => {
    const res = await h.get(`${EVENTS}?ticket=${ticket}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual(problem(res, 'unauthorized', 401, 'Unauthorized', detail));
  };

  it('POST /events/ticket → {ticket, expires_in: 60}; ?ticket= opens the stream as its user, once', async ({
    connect,
    h,
    alice,
    admin,
  }) => {
    const ticket = await ticketFor(h, alice.token);
    const sse = await connect({ query: `?ticket=${ticket}` });
    expect(sse.frames).toEqual([RETRY, connectedAs(alice.user.user_id, false)]);
    await refusedTicket(h, ticket);
    const adminTicket = await ticketFor(h, admin.token);
    expect(adminTicket).not.toBe(ticket);
    expect((await connect({ query: `?queue_id=default&ticket=${adminTicket}` })).frames).toEqual([
      RETRY,
      connectedAs(admin.user.user_id, true),
    ]);
    // The ticket's stream is the user's channel: it gets the user's events.
    const { batch } = await enqueue(h, alice.token);
    expect(itemEvents(await sse.untilEvent('batch_enqueued')).map((f) => f.data)).toEqual([
      expect.objectContaining({ batch_id: batch.batch_id, user_id: alice.user.user_id }),
    ]);
  });

  it('an expired ticket (61 s) or an unknown one is 401; asking for one needs a token', async ({
    h,
    alice,
  }) => {
    const ticket = await ticketFor(h, alice.token);
    h.clock.advance(61_000);
    await refusedTicket(h, ticket);
    await refusedTicket(h, 'not-a-ticket');
    const res = await h.post(`${EVENTS}/ticket`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(
      problem(res, 'unauthorized', 401, 'Unauthorized', 'A bearer token is required.'),
    );
  });

  it('a ticket asked for before its token was revoked is refused', async ({ h, admin }) => {
    const user = await h.createUser();
    const ticket = await ticketFor(h, user.token);
    expect((await h.post('/api/v1/auth/logout', { token: user.token })).status).toBe(204);
    await refusedTicket(h, ticket, 'The token has been revoked.');

    const demoted = await h.createUser({ isAdmin: true });
    const adminTicket = await ticketFor(h, demoted.token);
    const patch = await h.patch(`/api/v1/users/${demoted.user.user_id}`, {
      token: admin.token,
      json: { is_admin: false },
    });
    expect(patch.status).toBe(200);
    await refusedTicket(h, adminTicket, 'The token has been revoked.');
    expect(h.channels.stats().connections).toBe(0);
  });
});

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

describe('a revoked or expired token ends its streams with auth_expired', () => {
  /** A user with a stream that has already carried one event of theirs. */
  async function streaming(h: Harness, connect: Connect, o: { isAdmin?: boolean } = {}) {
    const user = await h.createUser(o);
    const sse = await connect({ token: user.token });
    await enqueue(h, user.token);
    await sse.untilEvent('batch_enqueued');
    return { user, sse };
  }

  async function expectEnded(sse: SseReader, reason: 'token_revoked' | 'token_expired', timeoutMs?: number) {
    const frames = noStatus(await sse.untilEnd(timeoutMs));
    expect(frames.at(-1)).toEqual(authExpired(reason));
    expect(frames.slice(0, 3)).toEqual([
      RETRY,
      expect.objectContaining({ event: 'connected' }),
      expect.objectContaining({ event: 'batch_enqueued' }),
    ]);
    expect(frames).toHaveLength(4);
  }

  it('logout: that token’s streams end; another token of the user keeps its stream', async ({
    connect,
    h,
  }) => {
    const { user, sse } = await streaming(h, connect);
    const login = await h.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: user.password },
    });
    expect(login.status).toBe(200);
    const other = await connect({ token: ((await login.json()) as { token: string }).token });
    expect((await h.post('/api/v1/auth/logout', { token: user.token })).status).toBe(204);
    await expectEnded(sse, 'token_revoked');
    const live = sentinel(h);
    expect(noStatus(await other.untilEvent('queue_cleared')).at(-1)).toEqual(frameOf(live));
    expect(other.done).toBe(false);
  });

  it('password change: every earlier token’s stream ends; the replacement token connects', async ({
    connect,
    h,
  }) => {
    const { user, sse } = await streaming(h, connect);
    const res = await h.patch('/api/v1/auth/me', {
      token: user.token,
      json: { current_password: user.password, new_password: 'another long password' },
    });
    expect(res.status).toBe(200);
    await expectEnded(sse, 'token_revoked');
    const replacement = res.headers.get('x-refreshed-token') as string;
    expect((await connect({ token: replacement })).frames).toEqual([
      RETRY,
      connectedAs(user.user.user_id, false),
    ]);
  });

  it('demotion: the admin’s stream ends; reconnecting as a user never replays admin copies', async ({
    connect,
    h,
    bob,
    admin,
  }) => {
    const { user, sse } = await streaming(h, connect, { isAdmin: true });
    await enqueue(h, bob.token);
    const copyId = itemEvents(await sse.untilEvent('batch_enqueued', 2))[1]?.id as string;
    const res = await h.patch(`/api/v1/users/${user.user.user_id}`, {
      token: admin.token,
      json: { is_admin: false },
    });
    expect(res.status).toBe(200);
    await expectEndedWithCopy(sse);
    const login = await h.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: user.password },
    });
    const token = ((await login.json()) as { token: string }).token;
    const again = await connect({ token, headers: { 'Last-Event-ID': copyId } });
    const { batch } = await enqueue(h, bob.token);
    const live = sentinel(h);
    expect(noStatus(await again.untilEvent('queue_cleared'))).toEqual([
      RETRY,
      connectedAs(user.user.user_id, false),
      RESYNC,
      frameOf(live),
    ]);
    expect(again.text).not.toContain(batch.batch_id);
    expect(again.text).not.toContain(bob.user.user_id);
  });

  async function expectEndedWithCopy(sse: SseReader) {
    const frames = noStatus(await sse.untilEnd());
    expect(frames.map((f) => f.event)).toEqual([
      undefined,
      'connected',
      'batch_enqueued',
      'batch_enqueued',
      'auth_expired',
    ]);
    expect(frames.at(-1)).toEqual(authExpired('token_revoked'));
  }

  it('deactivation: the stream ends', async ({ connect, h, admin }) => {
    const { user, sse } = await streaming(h, connect);
    const res = await h.patch(`/api/v1/users/${user.user.user_id}`, {
      token: admin.token,
      json: { is_active: false },
    });
    expect(res.status).toBe(200);
    await expectEnded(sse, 'token_revoked');
  });

  it('deletion: the stream ends', async ({ connect, h, admin }) => {
    const { user, sse } = await streaming(h, connect);
    expect((await h.delete(`/api/v1/users/${user.user.user_id}`, { token: admin.token })).status).toBe(204);
    await expectEnded(sse, 'token_revoked');
  });

  // Last in the file: it moves the clock a day on, past every token of this file.
  it('expiry: the hub’s 1 s tick ends the stream once the clock passes exp', {
    timeout: 10_000,
  }, async ({ connect, h }) => {
    const { sse } = await streaming(h, connect);
    const later = await h.createUser({ rememberMe: true });
    const remembered = await connect({ token: later.token });
    h.clock.advance(24 * 3600_000 + 1000);
    await expectEnded(sse, 'token_expired', 5000);
    expect(remembered.done).toBe(false);
    const live = sentinel(h);
    expect(noStatus(await remembered.untilEvent('queue_cleared')).at(-1)).toEqual(frameOf(live));
  });
});

// Every user may ask for a ticket of their own: no other user's resource to test.
runCommonAuthTests(test, 'POST /api/v1/events/ticket', {
  otherUser: 'none',
  prepareRequest: async () => ({ method: 'POST', path: `${EVENTS}/ticket` }),
});
