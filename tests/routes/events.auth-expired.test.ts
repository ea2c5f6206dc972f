import { describe, expect } from 'vitest';
import {
  authExpired,
  type Connect,
  connectedAs,
  frameOf,
  it,
  itemEvents,
  noStatus,
  RESYNC,
  RETRY,
  sentinel,
} from '../helpers/events.ts';
import type { Harness } from '../helpers/harness.ts';
import { enqueue } from '../helpers/queue.ts';
import type { SseReader } from '../helpers/sse.ts';

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
