import { expect } from 'vitest';
import type { ServerEvent, ServerEventName } from '../../src/core/events.ts';
import { harnessTest, NAMED_USERS } from './fixtures.ts';
import type { Harness } from './harness.ts';
import { publishSentinel, type SseFrame, SseReader, withIds } from './sse.ts';

/** What the event-stream route tests (tests/routes/events.*.test.ts) share: their test API and expected frames. */

export const EVENTS = '/api/v1/events';

export type Connect = (o?: {
  token?: string;
  query?: string;
  headers?: Record<string, string>;
}) => Promise<SseReader>;

/**
 * The test API of the events.*.test.ts files (each file its own harness), with `connect`, which opens the
 * event stream (200 expected), reads up to `connected` and puts it in the test's `streams` (closed when the
 * test finishes).
 */
export const test = harnessTest({}, NAMED_USERS).extend(
  'connect',
  async ({ h, streams }): Promise<Connect> => {
    return async (o = {}) => {
      const res = await h.get(`${EVENTS}${o.query ?? ''}`, { token: o.token, headers: o.headers });
      expect(res.status).toBe(200);
      const sse = new SseReader(res.body);
      streams.push(sse);
      await sse.untilEvent('connected');
      return sse;
    };
  },
);
export const it = test;

export const RETRY: SseFrame = { retry: 3000 };
export const connectedAs = (userId: string, isAdmin: boolean): SseFrame => ({
  event: 'connected',
  data: { connection_id: expect.stringMatching(/^[0-9a-f-]{36}$/), user_id: userId, is_admin: isAdmin },
});
export const RESYNC: SseFrame = { event: 'resync', data: { reason: 'history_unavailable' } };
export const authExpired = (reason: 'token_revoked' | 'token_expired'): SseFrame => ({
  event: 'auth_expired',
  data: { reason },
});

export const sentinel = (h: Harness) => publishSentinel(h.channels);

/** The frame a client receives for a published event. */
export const frameOf = (e: ServerEvent): SseFrame => ({
  id: expect.stringMatching(/^[0-9a-f]{8}-\d+$/),
  event: e.name,
  data: { ...e.data, queue_id: e.queueId },
});

/** Channel events other than the coalesced `queue_status` (which follows changes at its own pace). */
export const itemEvents = (frames: SseFrame[]) => withIds(frames).filter((f) => f.event !== 'queue_status');
export const noStatus = (frames: SseFrame[]) => frames.filter((f) => f.event !== 'queue_status');

/** The frames up to and including the last `queue_cleared` (the sentinel). */
export function upToSentinel(frames: SseFrame[]): SseFrame[] {
  let end = frames.length - 1;
  while (end >= 0 && frames[end]?.event !== 'queue_cleared') {
    end--;
  }
  return frames.slice(0, end + 1);
}

/** Waits until the queue_status that follows everything done so far has reached `watcher`. */
export async function settled(h: Harness, watcher: SseReader) {
  sentinel(h);
  await watcher.until((frames) => {
    const last = upToSentinel(frames).length - 1;
    return last >= 0 && frames.slice(last).some((f) => f.event === 'queue_status');
  }, 'the queue_status after the sentinel');
}

export const STATUS_KEYS = ['canceled', 'completed', 'failed', 'in_progress', 'pending', 'queue_id', 'total'];

/** Every item id a frame mentions. */
export function itemIdsIn(frames: SseFrame[]): number[] {
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
export function invocationEvent(
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
