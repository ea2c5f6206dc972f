import { test as base, describe, expect, vi } from 'vitest';
import * as audit from '../../web/api/audit.js';
import * as auth from '../../web/api/auth.js';
import * as boards from '../../web/api/boards.js';
import * as events from '../../web/api/events.js';
import * as images from '../../web/api/images.js';
import * as models from '../../web/api/models.js';
import * as queue from '../../web/api/queue.js';
import * as users from '../../web/api/users.js';

// The browser's API clients (web/api/) against the routes of API.md: each function's method, path and body.
interface Sent {
  method: string;
  url: string;
  body: unknown;
}

/** A request's method, path and body, as `call` returns them (the body left out when there is none). */
type Call = [string, string, unknown?];

/**
 * `call(run)`: runs `run` with `fetch` and `localStorage` (token `tok`) stubbed for the test, and returns
 * the one request it sent.
 */
const test = base.extend(
  'call',
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern.
  async ({}, { onCleanup }) => {
    const sent: Sent[] = [];
    const store = new Map<string, string>([['easel.token', 'tok']]);
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => store.set(k, v),
      removeItem: (k: string) => store.delete(k),
    });
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      const body = init.body instanceof FormData ? Object.fromEntries(init.body) : init.body;
      sent.push({
        method: String(init.method),
        url,
        body: typeof body === 'string' ? JSON.parse(body) : body,
      });
      expect(new Headers(init.headers).get('Authorization')).toBe('Bearer tok');
      return new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } });
    });
    onCleanup(() => {
      vi.unstubAllGlobals();
    });
    return async (run: () => Promise<unknown>): Promise<Call> => {
      await run();
      expect(sent).toHaveLength(1);
      const [only] = sent.splice(0);
      if (!only) {
        throw new Error('no request');
      }
      return only.body === undefined ? [only.method, only.url] : [only.method, only.url, only.body];
    };
  },
);
const it = test;

describe('the web API clients', () => {
  it('auth', async ({ call }) => {
    expect(await call(() => auth.getAuthStatus())).toEqual(['GET', '/api/v1/auth/status']);
    expect(await call(() => auth.getMe())).toEqual(['GET', '/api/v1/auth/me']);
    const login = { email: 'a@b.c', password: 'pw', remember_me: true };
    expect(await call(() => auth.login(login))).toEqual(['POST', '/api/v1/auth/login', login]);
    const setup = { email: 'a@b.c', password: 'pw' };
    expect(await call(() => auth.setup(setup))).toEqual(['POST', '/api/v1/auth/setup', setup]);
    expect(await call(() => auth.logout())).toEqual(['POST', '/api/v1/auth/logout']);
  });

  it('queue', async ({ call }) => {
    expect(await call(() => queue.listQueueItems({ limit: 50, user: 'all', status: '' }))).toEqual([
      'GET',
      '/api/v1/queue/default/list?limit=50&user=all',
    ]);
    expect(
      await call(() => queue.listQueueItems({ limit: 5, user: 'me', status: 'failed', cursor: 'c' })),
    ).toEqual(['GET', '/api/v1/queue/default/list?limit=5&user=me&status=failed&cursor=c']);
    expect(await call(() => queue.getQueueStatus())).toEqual(['GET', '/api/v1/queue/default/status']);
    expect(await call(() => queue.getQueueItem(7))).toEqual(['GET', '/api/v1/queue/default/i/7']);
    expect(await call(() => queue.enqueueBatch({ runs: 1 }))).toEqual([
      'POST',
      '/api/v1/queue/default/enqueue_batch',
      { batch: { runs: 1 } },
    ]);
    expect(await call(() => queue.cancelItem(7))).toEqual(['PUT', '/api/v1/queue/default/i/7/cancel']);
    expect(await call(() => queue.retryItems([7]))).toEqual([
      'PUT',
      '/api/v1/queue/default/retry_items_by_id',
      [7],
    ]);
    expect(await call(() => queue.deleteItem(7))).toEqual(['DELETE', '/api/v1/queue/default/i/7']);
    expect(await call(() => queue.clearQueue())).toEqual(['PUT', '/api/v1/queue/default/clear']);
    expect(await call(() => queue.setProcessor('pause'))).toEqual([
      'PUT',
      '/api/v1/queue/default/processor/pause',
    ]);
    expect(await call(() => queue.setProcessor('resume'))).toEqual([
      'PUT',
      '/api/v1/queue/default/processor/resume',
    ]);
  });

  it('images and boards', async ({ call }) => {
    expect(await call(() => images.listImages({ board_id: null, starred: false, limit: 48 }))).toEqual([
      'GET',
      '/api/v1/images?limit=48',
    ]);
    expect(
      await call(() => images.listImages({ board_id: 'none', starred: true, limit: 96, user_id: 'all' })),
    ).toEqual(['GET', '/api/v1/images?board_id=none&starred=true&limit=96&user_id=all']);
    expect(await call(() => images.getImage('a b.png'))).toEqual(['GET', '/api/v1/images/i/a%20b.png']);
    expect(await call(() => images.updateImage('x.png', { starred: true }))).toEqual([
      'PATCH',
      '/api/v1/images/i/x.png',
      { starred: true },
    ]);
    expect(await call(() => images.deleteImage('x.png'))).toEqual(['DELETE', '/api/v1/images/i/x.png']);
    const file = new File(['png'], 'a.png', { type: 'image/png' });
    const [method, url, form] = await call(() => images.uploadImage(file, 'b1'));
    expect([method, url, Object.keys(form as object)]).toEqual([
      'POST',
      '/api/v1/images/upload',
      ['file', 'board_id'],
    ]);
    expect(await call(() => boards.listBoards())).toEqual(['GET', '/api/v1/boards']);
    expect(await call(() => boards.listBoards({ user_id: 'all' }))).toEqual([
      'GET',
      '/api/v1/boards?user_id=all',
    ]);
    expect(await call(() => boards.createBoard('Foxes'))).toEqual([
      'POST',
      '/api/v1/boards',
      { board_name: 'Foxes' },
    ]);
    expect(await call(() => boards.deleteBoard('b1'))).toEqual(['DELETE', '/api/v1/boards/b1']);
  });

  it('users, audit, models and event tickets', async ({ call }) => {
    expect(await call(() => users.listUsers())).toEqual(['GET', '/api/v1/users']);
    const user = { email: 'a@b.c', password: 'pw', is_admin: false };
    expect(await call(() => users.createUser(user))).toEqual(['POST', '/api/v1/users', user]);
    expect(await call(() => users.updateUser('u/1', { is_active: false }))).toEqual([
      'PATCH',
      '/api/v1/users/u%2F1',
      { is_active: false },
    ]);
    expect(await call(() => users.deleteUser('u1'))).toEqual(['DELETE', '/api/v1/users/u1']);
    expect(
      await call(() => audit.listAuditEntries({ user_id: '', action: 'auth.login', limit: 50 })),
    ).toEqual(['GET', '/api/v1/audit?action=auth.login&limit=50']);
    expect(
      await call(() => audit.listAuditEntries({ user_id: 'u1', action: '', limit: 50, cursor: 'c' })),
    ).toEqual(['GET', '/api/v1/audit?user_id=u1&limit=50&cursor=c']);
    expect(await call(() => models.listModels())).toEqual(['GET', '/api/v1/models']);
    expect(await call(() => events.createEventTicket())).toEqual(['POST', '/api/v1/events/ticket']);
  });
});
