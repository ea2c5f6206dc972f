import { sql } from 'drizzle-orm';
import sharp from 'sharp';
import { describe, expect } from 'vitest';
import type { FrameSink } from '../../src/channels/sink.ts';
import { rowsOf } from '../../src/db/rows.ts';
import { secondConnection } from '../helpers/cluster.ts';
import { harnessTest } from '../helpers/fixtures.ts';
import { createHarness, expectProblem, type Harness, problem, type TestUser } from '../helpers/harness.ts';
import { IMAGES, imageFile, pixels, upload, uploaded } from '../helpers/images.ts';
import { enqueue, Q } from '../helpers/queue.ts';
import { type SseFrame, SseReader } from '../helpers/sse.ts';

// Two apps on one database, each with its own connection, notifier, hub and clock: two processes of one
// installation (API.md section 8). On PostgreSQL the second app has its own connection pool and LISTEN
// connection; on PGlite (one process) both share the client, and its notifications reach both.
/**
 * The file's test API: `a` (the file's harness) and `b`, a second app on a's database with its own
 * connection and clock set to a's (one installation's processes agree on the time); b closes first.
 */
const it = harnessTest(
  { blobStore: 'postgres' },
  { alice: { displayName: 'Alice' }, admin: { displayName: 'Admin' } },
)
  .extend('a', { scope: 'file' }, ({ h }) => h)
  .extend('b', { scope: 'file' }, async ({ a }, { onCleanup }) => {
    const b = await createHarness({ database: await secondConnection(a), blobStore: 'postgres' });
    onCleanup(() => b.close());
    b.clock.advance(a.clock.now().getTime() - b.clock.now().getTime());
    return b;
  });

const EVENTS = '/api/v1/events';
const RETRY: SseFrame = { retry: 3000 };
const connectedAs = (userId: string, isAdmin: boolean): SseFrame => ({
  event: 'connected',
  data: { connection_id: expect.stringMatching(/^[0-9a-f-]{36}$/), user_id: userId, is_admin: isAdmin },
});
const REVOKED: SseFrame = { event: 'auth_expired', data: { reason: 'token_revoked' } };

/** Opens a stream on one app (200 expected), reads up to `connected` and puts it in the test's `streams`. */
async function connect(streams: SseReader[], h: Harness, query: string, token?: string) {
  const res = await h.get(`${EVENTS}${query}`, { token });
  expect(res.status).toBe(200);
  const sse = new SseReader(res.body);
  streams.push(sse);
  await sse.untilEvent('connected');
  return sse;
}

/** A sink that only counts what the hub writes to it, for a stream opened on the hub directly. */
function nullSink(): FrameSink & { ended: boolean; frames: string[] } {
  const decoder = new TextDecoder();
  const sink = {
    ended: false,
    frames: [] as string[],
    write(frame: Uint8Array) {
      sink.frames.push(decoder.decode(frame));
      return 0;
    },
    end() {
      sink.ended = true;
    },
    onGone() {},
  };
  return sink;
}

describe('several processes on one database (API.md section 8)', () => {
  it('logout through A ends the stream on B within 2 s; B then refuses that token stream', async ({
    a,
    b,
    alice,
    streams,
  }) => {
    const user = await a.createUser();
    const other = await connect(streams, b, '', alice.token);
    const sse = await connect(streams, b, '', user.token);
    expect(b.channels.stats().connections).toBe(2);
    expect((await a.post('/api/v1/auth/logout', { token: user.token })).status).toBe(204);
    const frames = await sse.untilEnd(2000);
    expect(frames).toEqual([RETRY, connectedAs(user.user.user_id, false), REVOKED]);
    // Only that token's stream ended.
    expect(other.done).toBe(false);
    expect(b.channels.stats().connections).toBe(1);
    // B remembers the revocation: a stream authenticated before it and opened after it is ended at once.
    const claims = JSON.parse(atob(user.token.split('.')[1] as string)) as { sid: string; exp: number };
    const sink = nullSink();
    const conn = b.channels.connect({
      anonymous: false,
      lastEventId: undefined,
      sink,
      info: {
        connectionId: crypto.randomUUID(),
        userId: user.user.user_id,
        isAdmin: false,
        token: { sid: claims.sid, exp: claims.exp, epoch: 0 },
      },
    });
    expect(conn.closed).toBe(true);
    expect(sink.frames.at(-1)).toBe('event: auth_expired\ndata: {"reason":"token_revoked"}\n\n');
    // And the token is refused on B as on A.
    expect((await b.get('/api/v1/auth/me', { token: user.token })).status).toBe(401);
  });

  it('logout through A with a refreshed token ends on B the streams of its session and refuses its first token', async ({
    a,
    b,
    streams,
  }) => {
    const user = await a.createUser();
    expect((await b.get('/api/v1/auth/me', { token: user.token })).status).toBe(200); // cached on B
    const first = await connect(streams, b, '', user.token);
    const ticket = await b.post(`${EVENTS}/ticket`, { token: user.token });
    const byTicket = await connect(
      streams,
      b,
      `?ticket=${((await ticket.json()) as { ticket: string }).ticket}`,
    );
    const login = await a.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: user.password },
    });
    const otherSession = await connect(streams, b, '', ((await login.json()) as { token: string }).token);
    const refreshed = await a.patch('/api/v1/auth/me', {
      token: user.token,
      json: { display_name: 'Moved' },
    });
    const t2 = refreshed.headers.get('x-refreshed-token') as string;
    expect((await a.post('/api/v1/auth/logout', { token: t2 })).status).toBe(204);
    for (const sse of [first, byTicket]) {
      expect(await sse.untilEnd(2000)).toEqual([RETRY, connectedAs(user.user.user_id, false), REVOKED]);
    }
    expect(otherSession.done).toBe(false);
    const res = await b.get('/api/v1/auth/me', { token: user.token });
    await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'The token has been revoked.');
  });

  it('a token logged out through A is refused by A on the very next request (its identity was cached)', async ({
    a,
  }) => {
    const user = await a.createUser();
    for (let i = 0; i < 2; i++) {
      expect((await a.get('/api/v1/auth/me', { token: user.token })).status).toBe(200);
    }
    expect((await a.post('/api/v1/auth/logout', { token: user.token })).status).toBe(204);
    const res = await a.get('/api/v1/auth/me', { token: user.token });
    await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'The token has been revoked.');
  });

  // Written straight into the shared database: no NOTIFY and no call into either app, so B can learn of
  // them only from the database, on the request itself (API.md section 2: at once, on every process).
  const sidOf = (token: string) => (JSON.parse(atob(token.split('.')[1] as string)) as { sid: string }).sid;
  it.for([
    {
      what: 'a logged-out session',
      detail: 'The token has been revoked.',
      revoke: (u: TestUser) => sql`INSERT INTO revoked_sessions (sid, user_id, expires_at)
        VALUES (${sidOf(u.token)}, ${u.user.user_id}, now() + interval '1 day')`,
    },
    {
      what: 'a new epoch',
      detail: 'The token has been revoked.',
      revoke: (u: TestUser) => sql`UPDATE users SET epoch = epoch + 1 WHERE user_id = ${u.user.user_id}`,
    },
    {
      what: 'a deactivation',
      detail: 'The account is deleted or inactive.',
      revoke: (u: TestUser) => sql`UPDATE users SET is_active = false WHERE user_id = ${u.user.user_id}`,
    },
    {
      what: 'a deletion',
      detail: 'The account is deleted or inactive.',
      revoke: (u: TestUser) => sql`DELETE FROM users WHERE user_id = ${u.user.user_id}`,
    },
  ])(
    '$what committed by another process is refused by B on the next request',
    async ({ detail, revoke }, { a, b }) => {
      const user = await a.createUser();
      for (let i = 0; i < 2; i++) {
        expect((await b.get('/api/v1/auth/me', { token: user.token })).status).toBe(200);
      }
      await a.db.execute(revoke(user));
      const res = await b.get('/api/v1/auth/me', { token: user.token });
      await expectProblem(res, 'unauthorized', 401, 'Unauthorized', detail);
    },
  );

  it('what B keeps (queue counts, pause, first pages of the queue and the gallery) shows a write through A on the next request', async ({
    a,
    b,
    alice,
    admin,
  }) => {
    const bStatus = async () => {
      const res = await b.get(`${Q}/status`, { token: alice.token });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { mine: { pending: number }; processor: { is_started: boolean } };
      return { pending: body.mine.pending, started: body.processor.is_started };
    };
    const bList = async () => {
      const res = await b.get(`${Q}/list?limit=50&user=me`, { token: alice.token });
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: { item_id: number }[] }).items.map((i) => i.item_id);
    };
    const bImages = async () => {
      const res = await b.get(`${IMAGES}?limit=50`, { token: alice.token });
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: { image_name: string }[] }).items.map((i) => i.image_name);
    };
    const [first] = (await enqueue(a, alice.token, { runs: 1 })).item_ids as [number];
    const before = { pending: 1, started: true };
    for (let i = 0; i < 2; i++) {
      expect(await bStatus()).toEqual(before);
      expect(await bList()).toEqual([first]);
      expect(await bImages()).toEqual([]);
    }
    const [second] = (await enqueue(a, alice.token, { runs: 1 })).item_ids as [number];
    expect(await bStatus()).toEqual({ pending: 2, started: true });
    expect(await bList()).toEqual([first, second]);
    expect((await a.put(`${Q}/processor/pause`, { token: admin.token })).status).toBe(200);
    expect(await bStatus()).toEqual({ pending: 2, started: false });
    const image = await uploaded(a, alice.token);
    expect(await bImages()).toEqual([image.image_name]);
    expect((await a.put(`${Q}/processor/resume`, { token: admin.token })).status).toBe(200);
    expect(await bStatus()).toEqual({ pending: 2, started: true });
    expect((await a.delete(`${IMAGES}/i/${image.image_name}`, { token: alice.token })).status).toBe(204);
    expect(await bImages()).toEqual([]);
  });

  it('a demotion committed by another process takes admin rights away on B on the next request', async ({
    a,
    b,
  }) => {
    const other = await a.createUser({ isAdmin: true });
    for (let i = 0; i < 2; i++) {
      expect((await b.get('/api/v1/users', { token: other.token })).status).toBe(200);
    }
    await a.db.execute(sql`UPDATE users SET is_admin = false WHERE user_id = ${other.user.user_id}`);
    expect((await b.get('/api/v1/users', { token: other.token })).status).toBe(403);
    const me = (await (await b.get('/api/v1/auth/me', { token: other.token })).json()) as {
      is_admin: boolean;
    };
    expect(me.is_admin).toBe(false);
  });

  it('deactivation through A ends every stream of the user on B, and only theirs', async ({
    a,
    b,
    alice,
    admin,
    streams,
  }) => {
    const user = await a.createUser();
    const first = await connect(streams, b, '', user.token);
    const second = await connect(streams, b, '?queue_id=default', user.token);
    const other = await connect(streams, b, '', alice.token);
    const res = await a.patch(`/api/v1/users/${user.user.user_id}`, {
      token: admin.token,
      json: { is_active: false },
    });
    expect(res.status).toBe(200);
    expect(await first.untilEnd(2000)).toEqual([RETRY, connectedAs(user.user.user_id, false), REVOKED]);
    expect(await second.untilEnd(2000)).toEqual([RETRY, connectedAs(user.user.user_id, false), REVOKED]);
    expect(other.done).toBe(false);
  });

  it('a password change through A ends the older tokens’ streams on B, not the replacement’s', async ({
    a,
    b,
    streams,
  }) => {
    const user = await a.createUser();
    const old = await connect(streams, b, '', user.token);
    const res = await a.patch('/api/v1/auth/me', {
      token: user.token,
      json: { current_password: user.password, new_password: 'another good password' },
    });
    expect(res.status).toBe(200);
    const fresh = res.headers.get('x-refreshed-token') as string;
    expect(await old.untilEnd(2000)).toEqual([RETRY, connectedAs(user.user.user_id, false), REVOKED]);
    const replacement = await connect(streams, b, '', fresh);
    expect(replacement.frames).toEqual([RETRY, connectedAs(user.user.user_id, false)]);
  });

  it('a login rate limit reached through A holds on B', async ({ a, b }) => {
    const user = await a.createUser();
    const client = { 'x-test-client': '10.9.0.1' };
    for (let i = 0; i < 5; i++) {
      const res = await a.post('/api/v1/auth/login', {
        json: { email: user.user.email, password: `wrong-${i}-password` },
        headers: client,
      });
      expect(res.status).toBe(401);
    }
    const blocked = await b.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: user.password },
      headers: client,
    });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('900');
    expect(await blocked.json()).toEqual(
      problem(
        blocked,
        'rate_limited',
        429,
        'Too many requests',
        'Too many failed logins; try again in 900 seconds.',
      ),
    );
    // Another client is not limited, on either.
    const elsewhere = await b.post('/api/v1/auth/login', {
      json: { email: user.user.email, password: user.password },
      headers: { 'x-test-client': '10.9.0.2' },
    });
    expect(elsewhere.status).toBe(200);
  });

  it('a ticket issued by A opens a stream on B, once', async ({ a, b, alice, streams }) => {
    const issued = await a.post(`${EVENTS}/ticket`, { token: alice.token });
    expect(issued.status).toBe(200);
    const { ticket } = (await issued.json()) as { ticket: string };
    const sse = await connect(streams, b, `?ticket=${ticket}`);
    expect(sse.frames).toEqual([RETRY, connectedAs(alice.user.user_id, false)]);
    for (const h of [a, b]) {
      const again = await h.get(`${EVENTS}?ticket=${ticket}`);
      expect(again.status).toBe(401);
      expect(await again.json()).toEqual(
        problem(again, 'unauthorized', 401, 'Unauthorized', 'The ticket is unknown, used or expired.'),
      );
    }
  });

  it('a ticket issued by A for a token logged out through B is refused on B', async ({ a, b }) => {
    const user = await a.createUser();
    const issued = await a.post(`${EVENTS}/ticket`, { token: user.token });
    const { ticket } = (await issued.json()) as { ticket: string };
    expect((await b.post('/api/v1/auth/logout', { token: user.token })).status).toBe(204);
    const res = await b.get(`${EVENTS}?ticket=${ticket}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(
      problem(res, 'unauthorized', 401, 'Unauthorized', 'The token has been revoked.'),
    );
  });

  it('after missing notifications (its listening connection lost), B ends the streams revoked meanwhile', async ({
    a,
    b,
    alice,
    admin,
    streams,
  }) => {
    const loggedOut = await a.createUser();
    const deleted = await a.createUser();
    const changed = await a.createUser();
    const tabs = {
      loggedOut: await connect(streams, b, '', loggedOut.token),
      deleted: await connect(streams, b, '', deleted.token),
      changed: await connect(streams, b, '', changed.token),
      alice: await connect(streams, b, '', alice.token),
    };
    const relay = b.revocations as NonNullable<typeof b.revocations>;
    await relay.stop(); // B hears nothing from now on
    expect((await a.post('/api/v1/auth/logout', { token: loggedOut.token })).status).toBe(204);
    expect((await a.delete(`/api/v1/users/${deleted.user.user_id}`, { token: admin.token })).status).toBe(
      204,
    );
    const patch = await a.patch(`/api/v1/users/${changed.user.user_id}`, {
      token: admin.token,
      json: { password: 'a brand new password' },
    });
    expect(patch.status).toBe(200);
    expect(b.channels.stats().connections).toBe(4);
    // What listening again runs (postgres.js calls it after every reconnect):
    expect(await relay.catchUp()).toBe(3);
    for (const [who, user] of [
      ['loggedOut', loggedOut],
      ['deleted', deleted],
      ['changed', changed],
    ] as const) {
      expect(await tabs[who].untilEnd(2000)).toEqual([RETRY, connectedAs(user.user.user_id, false), REVOKED]);
    }
    expect(tabs.alice.done).toBe(false);
    expect(b.channels.stats().connections).toBe(1);
    expect(await relay.catchUp()).toBe(0);
    await relay.start();
  });

  it('BLOB_STORE=postgres: an image uploaded through A is read and deleted through B', async ({
    a,
    b,
    alice,
  }) => {
    const res = await upload(a, alice.token, await imageFile('png'));
    expect(res.status).toBe(201);
    const image = (await res.json()) as { image_name: string; image_url: string; thumbnail_url: string };
    const keys = async () =>
      rowsOf<{ key: string }>(await a.db.execute(sql`SELECT key FROM blobs ORDER BY key`)).map((r) => r.key);
    const webp = image.image_name.replace('.png', '.webp');
    expect(await keys()).toEqual([`images/${image.image_name}`, `thumbnails/${webp}`]);
    // Nothing went to the in-memory store: the bytes are only in the database.
    expect([...a.blobs.keys(), ...b.blobs.keys()]).toEqual([]);
    const full = await b.get(image.image_url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('image/png');
    const { data, info } = await sharp(new Uint8Array(await full.arrayBuffer()))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([32, 24]);
    expect(new Uint8Array(data)).toEqual(pixels(32, 24));
    const thumb = await b.get(image.thumbnail_url);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(new Uint8Array(await thumb.arrayBuffer())).metadata()).format).toBe('webp');

    expect((await b.delete(`${IMAGES}/i/${image.image_name}`, { token: alice.token })).status).toBe(204);
    expect(await keys()).toEqual([]);
    const gone = await a.get(`${IMAGES}/i/${image.image_name}/full`, { token: alice.token });
    expect(gone.status).toBe(404);
  });
});
