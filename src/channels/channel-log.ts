import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import type { ServerEvent, ServerEventName } from '../core/events.ts';
import { executePrepared } from '../db/prepared.ts';
import { rowsOf } from '../db/rows.ts';

/** The NOTIFY channel that announces new channel-log rows (docs/adr/0004-channel-log.md). */
export const CHANNEL_NOTIFY = 'easel_channel';
/** The channel of anonymous connections: only queue-wide events. */
export const ANONYMOUS_CHANNEL_ID = 'anonymous';
/** `pg_notify` refuses 8,000 bytes of payload or more. */
export const MAX_NOTIFY_BYTES = 7999;

/** One event as the log holds it: its id in the channel `userId`. */
export interface LoggedEvent {
  userId: string;
  id: number;
  queueId: string;
  name: ServerEventName;
  /** The user whose item it is; null for queue-wide events. An admin's copies carry the owner's id. */
  owner: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** A live preview, carried by the notification only (never by the log). */
export interface PreviewImage {
  dataURL: string;
  width: number;
  height: number;
}

/**
 * What a commit announces on `CHANNEL_NOTIFY`: each channel written and its newest id (`c`), and the live
 * previews of the `invocation_progress` events written, with the channel ids they belong to (`p`), when they
 * fit in the payload.
 */
export interface ChannelNotice {
  c: [userId: string, lastId: number][];
  p?: { at: [userId: string, id: number][]; image: PreviewImage }[];
}

/** Events a caller should not write to the log: throttled snapshots every process can recompute. */
export const isLogged = (event: ServerEvent) => event.name !== 'queue_status';

const byteLength = (s: string) => new TextEncoder().encode(s).length;

/**
 * The notices for one commit, each under `MAX_NOTIFY_BYTES`: previews ride along only if everything fits in
 * one payload (otherwise they are dropped: the events still arrive, with `image: null`); a huge fan-out is
 * split over several payloads.
 */
export function noticePayloads(
  heads: [string, number][],
  previews: NonNullable<ChannelNotice['p']>,
): string[] {
  if (previews.length > 0) {
    const whole = JSON.stringify({ c: heads, p: previews } satisfies ChannelNotice);
    if (byteLength(whole) <= MAX_NOTIFY_BYTES) {
      return [whole];
    }
  }
  const payloads: string[] = [];
  let part: [string, number][] = [];
  for (const head of heads) {
    const next = [...part, head];
    if (part.length > 0 && byteLength(JSON.stringify({ c: next })) > MAX_NOTIFY_BYTES) {
      payloads.push(JSON.stringify({ c: part } satisfies ChannelNotice));
      part = [head];
    } else {
      part = next;
    }
  }
  if (part.length > 0) {
    payloads.push(JSON.stringify({ c: part } satisfies ChannelNotice));
  }
  return payloads;
}

const isPreview = (v: unknown): v is PreviewImage =>
  typeof v === 'object' && v !== null && typeof (v as PreviewImage).dataURL === 'string';

/**
 * Writes events to the channel log and announces them with `pg_notify`, in one statement: in the caller's
 * transaction (the notification is sent when it commits, in commit order), or on its own (`db`, not a
 * transaction: one round trip, committed at once). An owned event goes to the owner's channel and a copy to
 * each active admin's; a queue-wide event (`ownerId` null) to every active user's channel and the anonymous
 * one. Each channel's head row is bumped (`last_id + n`, locked until commit), which serialises the writers
 * of a channel: its ids commit in order, without gaps. Heads are locked in user-id order; in a transaction,
 * call this once, as its last write, so the locks are held briefly and never taken in two orders.
 * `invocation_progress` images are stored as `null`: the image travels in the notification when everything
 * fits in one payload (`noticePayloads`' rule), else the notification goes without previews. Only a fan-out
 * too large for one payload needs more statements (split notifications): on their own they follow the
 * commit, and a crash between leaves the rows to the tailers' safety poll. An `invocation_progress` of an
 * item that is `canceled` when the statement runs is stale and not written: a worker publishes steps until
 * its inference process hears the cancel, and those published while the cancel's transaction was open are
 * written after it, behind the item's `canceled` (no id, no notification). Returns, per event, the channel
 * ids it got (the owner's first, then the admins' or everyone's by user id, then anonymous; none when not
 * written).
 * @example const ids = await appendEvents(db, [event], clock.now());
 */
export async function appendEvents(
  tx: DbOrTx,
  events: ServerEvent[],
  now: Date,
): Promise<{ userId: string; id: number }[][]> {
  if (events.length === 0) {
    return [];
  }
  const previewOf = (event: ServerEvent) => {
    const image = event.name === 'invocation_progress' ? event.data.image : undefined;
    return isPreview(image) ? image : undefined;
  };
  const rows = events.map((event, k) => ({
    k,
    q: event.queueId,
    e: event.name,
    o: event.ownerId,
    d: previewOf(event) ? { ...event.data, image: null } : event.data,
  }));
  const images = events.flatMap((event, k) => {
    const image = previewOf(event);
    return image ? [{ k, image }] : [];
  });
  const written = rowsOf<{ k: number; u: string; id: string | number; notified: number }>(
    await executePrepared(
      tx,
      sql`WITH ev AS (SELECT k, q, e, o, d FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          AS t(k int, q text, e text, o text, d jsonb)
          WHERE e <> 'invocation_progress' OR NOT EXISTS (SELECT 1 FROM session_queue s
            WHERE s.item_id = (d->>'item_id')::int AND s.status = 'canceled')),
        targets AS (
          SELECT ev.k, ev.o AS u, 0 AS rank FROM ev WHERE ev.o IS NOT NULL
          UNION ALL SELECT ev.k, a.user_id, 1 FROM ev JOIN users a
            ON a.is_admin AND a.is_active AND a.user_id <> ev.o
          UNION ALL SELECT ev.k, a.user_id, 1 FROM ev JOIN users a ON a.is_active WHERE ev.o IS NULL
          UNION ALL SELECT ev.k, ${ANONYMOUS_CHANNEL_ID}::text, 2 FROM ev WHERE ev.o IS NULL),
        bumps AS (SELECT u, count(*) AS n FROM targets GROUP BY u),
        heads AS (INSERT INTO channel_heads (user_id, last_id) SELECT u, n FROM bumps ORDER BY u
          ON CONFLICT (user_id) DO UPDATE SET last_id = channel_heads.last_id + EXCLUDED.last_id
          RETURNING user_id, last_id),
        numbered AS (SELECT t.k, t.u, t.rank,
            h.last_id - b.n + row_number() OVER (PARTITION BY t.u ORDER BY t.k) AS id
          FROM targets t JOIN bumps b ON b.u = t.u JOIN heads h ON h.user_id = t.u),
        logged AS (INSERT INTO channel_log (user_id, id, queue_id, event, owner, data, created_at)
          SELECT n.u, n.id, ev.q, ev.e, ev.o, ev.d, ${now.toISOString()}::timestamptz
          FROM numbered n JOIN ev ON ev.k = n.k),
        previews AS (SELECT pv.k, pv.image, json_agg(json_build_array(n.u, n.id) ORDER BY n.rank, n.u) AS at
          FROM jsonb_to_recordset(${JSON.stringify(images)}::jsonb) AS pv(k int, image jsonb)
          JOIN numbered n ON n.k = pv.k GROUP BY pv.k, pv.image),
        notice AS MATERIALIZED (SELECT json_build_object('c', c)::text AS plain,
            CASE WHEN p IS NOT NULL THEN json_build_object('c', c, 'p', p)::text END AS whole
          FROM (SELECT json_agg(json_build_array(user_id, last_id) ORDER BY user_id) AS c FROM heads) h,
            (SELECT json_agg(json_build_object('at', at, 'image', image) ORDER BY k) AS p FROM previews) v
          WHERE c IS NOT NULL),
        notified AS (SELECT pg_notify(${CHANNEL_NOTIFY},
            CASE WHEN octet_length(whole) <= ${MAX_NOTIFY_BYTES} THEN whole ELSE plain END) FROM notice
          WHERE octet_length(whole) <= ${MAX_NOTIFY_BYTES} OR octet_length(plain) <= ${MAX_NOTIFY_BYTES})
        SELECT k, u, id, (SELECT count(*) FROM notified)::int AS notified FROM numbered
        ORDER BY k, rank, u`,
    ),
  );
  const ids: { userId: string; id: number }[][] = events.map(() => []);
  const heads = new Map<string, number>();
  for (const r of written) {
    const id = Number(r.id);
    ids[r.k]?.push({ userId: r.u, id });
    heads.set(r.u, Math.max(heads.get(r.u) ?? 0, id));
  }
  if (written.length > 0 && Number(written[0]?.notified ?? 0) === 0) {
    // Not even the heads fit in one payload: split them, without previews (they could not fit either).
    const sorted = [...heads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const payload of noticePayloads(sorted, [])) {
      await executePrepared(tx, sql`SELECT pg_notify(${CHANNEL_NOTIFY}, ${payload})`);
    }
  }
  return ids;
}

type RawLog = {
  user_id: string;
  id: string | number;
  queue_id: string;
  event: string;
  owner: string | null;
  data: unknown;
  created_at: string | Date;
};

const fromRaw = (r: RawLog): LoggedEvent => ({
  userId: r.user_id,
  id: Number(r.id),
  queueId: r.queue_id,
  name: r.event as ServerEventName,
  owner: r.owner ?? null,
  data: (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
  createdAt: new Date(r.created_at),
});

/**
 * A channel's events after `afterId`, in id order, at most `limit` (the tailer's read). With `ownOnly`, the
 * copies of other users' events are left out (see `readAfter`).
 */
export async function readEvents(
  db: DbOrTx,
  userId: string,
  afterId: number,
  limit: number,
  ownOnly = false,
): Promise<LoggedEvent[]> {
  const own = ownOnly ? sql`AND (owner IS NULL OR owner = ${userId})` : sql``;
  return rowsOf<RawLog>(
    await db.execute(sql`SELECT user_id, id, queue_id, event, owner, data, created_at FROM channel_log
      WHERE user_id = ${userId} AND id > ${afterId} ${own} ORDER BY id LIMIT ${limit}`),
  ).map(fromRaw);
}

/** The newest id of a channel (0 if it never had an event). */
export async function channelHead(db: DbOrTx, userId: string): Promise<number> {
  const [row] = rowsOf<{ last_id: string | number }>(
    await db.execute(sql`SELECT last_id FROM channel_heads WHERE user_id = ${userId}`),
  );
  return row ? Number(row.last_id) : 0;
}

/**
 * `Last-Event-ID` replay from the log: whether the channel still holds `afterId` (it is the head, or no
 * older than the event just before the oldest kept; else the stream starts with `resync`), and if so the
 * events after it (at most `limit`, in id order; `more` when there are others after them). A viewer who is
 * not an admin (now) gets only their own and queue-wide events: copies received as an admin are never
 * replayed to a demoted user.
 * @example const r = await readAfter(db, user.userId, Number(lastEventId), 1000, { isAdmin: user.isAdmin });
 */
export async function readAfter(
  db: DbOrTx,
  userId: string,
  afterId: number,
  limit: number,
  opts: { isAdmin?: boolean } = {},
): Promise<{ held: boolean; events: LoggedEvent[]; more: boolean; lastId: number }> {
  const [bounds] = rowsOf<{ last_id: string | number | null; min_id: string | number | null }>(
    await db.execute(sql`SELECT
      (SELECT last_id FROM channel_heads WHERE user_id = ${userId}) AS last_id,
      (SELECT min(id) FROM channel_log WHERE user_id = ${userId}) AS min_id`),
  );
  const lastId = Number(bounds?.last_id ?? 0);
  const minId = bounds?.min_id === null || bounds?.min_id === undefined ? lastId + 1 : Number(bounds.min_id);
  const held = Number.isSafeInteger(afterId) && afterId <= lastId && afterId >= minId - 1;
  if (!held) {
    return { held: false, events: [], more: false, lastId };
  }
  const events = await readEvents(db, userId, afterId, limit + 1, opts.isAdmin === false);
  return { held: true, events: events.slice(0, limit), more: events.length > limit, lastId };
}

export interface PruneLimits {
  /** Keep at least this many of each channel's newest events… */
  minEvents: number;
  /** …and every event younger than this. */
  minAgeMs: number;
}

export const DEFAULT_PRUNE_LIMITS: PruneLimits = { minEvents: 1000, minAgeMs: 10 * 60_000 };

/**
 * Deletes the events no channel must keep any more: older than `minAgeMs` and not among their channel's
 * newest `minEvents` (ids are gapless per channel, so those are the ids above `last_id - minEvents`).
 * Heads stay, so ids keep increasing. Any process may run it. Returns how many rows went.
 * @example await prune(db, clock.now());
 */
export async function prune(
  db: DbOrTx,
  now: Date,
  limits: PruneLimits = DEFAULT_PRUNE_LIMITS,
): Promise<number> {
  const before = new Date(now.getTime() - limits.minAgeMs).toISOString();
  const rows = rowsOf<{ n: number }>(
    await db.execute(sql`WITH gone AS (
        DELETE FROM channel_log l USING channel_heads h
        WHERE l.user_id = h.user_id AND l.id <= h.last_id - ${limits.minEvents}
          AND l.created_at < ${before}::timestamptz
        RETURNING 1
      ) SELECT count(*)::int AS n FROM gone`),
  );
  return Number(rows[0]?.n ?? 0);
}

/** FNV-1a, 32 bits, as 8 hex digits: a channel's tag in its event ids. */
function channelTag(userId: string): string {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(userId)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * The SSE `id:` of a logged event: `<channel tag>-<id>`, the same on every process and across restarts, and
 * recognisably foreign in another channel (as `UserChannel`'s ids are).
 * @example sseFrame(e.name, data, eventIdOf(e.userId, e.id));
 */
export const eventIdOf = (userId: string, id: number): string => `${channelTag(userId)}-${id}`;

/** The log id in a `Last-Event-ID` of this channel, or undefined when it is not one of its ids (resync). */
export function parseEventId(userId: string, raw: string): number | undefined {
  const match = /^([0-9a-f]{8})-(\d{1,15})$/.exec(raw);
  return match && match[1] === channelTag(userId) ? Number(match[2]) : undefined;
}
