import type { Clock } from '../core/clock.ts';
import { DatabaseAwayError, whileDatabaseAway } from '../core/database-away.ts';
import type { DbOrTx } from '../core/db.ts';
import type { PendingEvents, ServerEvent } from '../core/events.ts';
import { type Logger, loggableError } from '../core/logger.ts';
import type { Notifier } from '../core/notifier.ts';
import {
  appendEvents,
  channelHead,
  DEFAULT_PRUNE_LIMITS,
  eventIdOf,
  isLogged,
  type LoggedEvent,
  type PruneLimits,
  parseEventId,
  prune,
  readAfter,
} from './channel-log.ts';
import { type CloseReason, Connection, type ConnectionInfo } from './connection.ts';
import { encodeFrame, eventBody, PING_FRAME, RETRY_FRAME, sseFrame } from './frames.ts';
import type { Channels, ConnectRequest } from './interface.ts';
import { LogTailer } from './log-tail.ts';
import { DEFAULT_REPLAY_LIMITS, type ReplayLimits } from './replay-buffer.ts';
import { UserChannel } from './user-channel.ts';

/** The events after which the queue's counts differ (invocation events leave them as they were). */
const COUNT_CHANGES = new Set<string>([
  'queue_item_status_changed',
  'batch_enqueued',
  'queue_items_retried',
  'queue_items_canceled',
  'queue_cleared',
]);

export const ANONYMOUS_CHANNEL = 'anonymous';

export interface ChannelHubOptions {
  clock: Clock;
  logger: Logger;
  /** Counts for `queue_status` (no item data), read after the changes they follow. */
  loadQueueStatus: (queueId: string) => Promise<Record<string, number>>;
  limits?: ReplayLimits;
  /** Frames a reader may fall behind before it is disconnected. */
  maxQueued?: number;
  pingIntervalMs?: number;
  /** At most one `queue_status` per queue per this many ms. */
  statusIntervalMs?: number;
  /**
   * The channel log (docs/adr/0004-channel-log.md): with it, every event but `queue_status` is written to
   * PostgreSQL and reaches this hub's channels through a `LogTailer`, with the log's ids, so every process
   * sharing the database delivers the same events with the same ids, and `Last-Event-ID` replay reads the
   * log when the memory ring misses. Call `start()` before the first connection.
   */
  log?: ChannelLogOptions;
}

export interface ChannelLogOptions {
  db: DbOrTx;
  notifier: Notifier;
  /** The tailer's safety-net read of every followed channel (ms; 0: never). */
  pollIntervalMs?: number;
  /** How often this process prunes the log (ms; 0: never). */
  pruneIntervalMs?: number;
  prune?: PruneLimits;
  /**
   * How long an event published outside a transaction waits for others before its append starts (ms; 0: at
   * once), so that a worker's run of invocation events shares a transaction instead of one each.
   */
  gatherMs?: number;
  /**
   * At most this many events wait to be written (the database away): beyond it, new `invocation_progress`
   * events are dropped (counted and logged once written again); every other event is kept.
   */
  maxPending?: number;
}

/** `maxPending` by default: a long outage's progress events of a few running items, in a few MB. */
export const DEFAULT_MAX_PENDING = 10_000;

/** `gatherMs` by default: a few ms on live events, for several times fewer commits per item (bench/README.md). */
export const DEFAULT_GATHER_MS = 5;

/** Log rows per read while replaying `Last-Event-ID` from the log. */
const REPLAY_BATCH = 500;

const connectedFrame = (info: ConnectionInfo) =>
  encodeFrame(
    sseFrame('connected', { connection_id: info.connectionId, user_id: info.userId, is_admin: info.isAdmin }),
  );
const controlFrame = (event: 'resync' | 'auth_expired', reason: string) =>
  encodeFrame(sseFrame(event, { reason }));

const TICK_MS = 1000;

/** A promise and the function that resolves it. */
function notice(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
/**
 * How long a revocation is remembered: a request that authenticated just before it (its checks read the
 * database before the revocation committed) may connect just after, and must still be ended.
 */
const REVOCATION_MEMORY_MS = 60_000;

/**
 * The channel hub: one `UserChannel` per user id, created on first use and dropped when nothing is left to
 * replay and nobody is connected. Owned events go to the owner's channel and a copy to every admin's
 * channel; queue-wide events to every channel. The hub is the only holder of the map; routes get a
 * connection's stream and nothing else. It implements the queue's publisher port.
 * @example const hub = new ChannelHub({ clock, logger, loadQueueStatus }); deps.events = hub;
 */
export class ChannelHub implements Channels {
  readonly #channels = new Map<string, UserChannel>();
  readonly #adminKeys = new Set<string>();
  readonly #observers = new Set<(event: ServerEvent) => void>();
  /**
   * A timing wheel of connections, one bucket a tick: a connection waits in the bucket visited just before its
   * ping is due (its last write + the ping interval), so a stream is never silent longer than the interval.
   */
  readonly #buckets: Set<Connection>[];
  /** The bucket the next tick visits. */
  #bucketAt = 0;
  #connections = 0;
  #tick: ReturnType<typeof setInterval> | undefined;
  readonly #dirtyQueues = new Set<string>();
  /** Per queue, how many count-changing events were delivered; a status read spanning one is stale. */
  readonly #countChanges = new Map<string, number>();
  readonly #skippedStatus = new Set<string>();
  #statusTimer: ReturnType<typeof setTimeout> | undefined;
  /** The `queue_status` round under way (its counts being read), which `shutdown` waits for. */
  #statusRound: Promise<void> | undefined;
  #lastStatusAt = 0;
  readonly #limits: ReplayLimits;
  readonly #maxQueued: number;
  readonly #statusIntervalMs: number;
  readonly #tailer: LogTailer | undefined;
  /** Logged mode: each channel's start (its head read, then followed), by the channel object. */
  readonly #ready = new WeakMap<UserChannel, Promise<void>>();
  /**
   * Logged mode: the events `publish` took that are not written yet, and the loop writing them: whatever
   * waits is written in one transaction per round (a running session's previews come faster than one
   * transaction each), in publish order.
   */
  #pending: ServerEvent[] = [];
  /** Progress events dropped since the last append succeeded (more than `maxPending` waited). */
  #droppedProgress = 0;
  #appending: Promise<void> = Promise.resolve();
  #appendRunning = false;
  /** The append in flight is waiting for the database (away); `#awayNotice` resolves when that starts. */
  #away = false;
  #awayNotice = notice();
  #gatherTimer: ReturnType<typeof setTimeout> | undefined;
  #pruneTimer: ReturnType<typeof setInterval> | undefined;
  /** `close()` was called: no timer starts again (a late status must not read a closed database). */
  #closed = false;
  /** Aborted by `close()`: a log append waiting for the database gives up. */
  readonly #closing = new AbortController();
  /** Logged mode: the streams still replaying from the log. */
  readonly #attaching = new Set<Promise<void>>();
  /** Recent `closeSession` calls: sid → when. */
  readonly #revokedSessions = new Map<string, number>();
  /** Recent `closeUser` calls: user id → the lowest epoch still valid (Infinity: every token), and when. */
  readonly #revokedUsers = new Map<string, { minEpoch: number; at: number }>();

  constructor(private readonly opts: ChannelHubOptions) {
    this.#limits = opts.limits ?? DEFAULT_REPLAY_LIMITS;
    this.#maxQueued = opts.maxQueued ?? 1000;
    this.#statusIntervalMs = opts.statusIntervalMs ?? 250;
    const buckets = Math.max(1, Math.round((opts.pingIntervalMs ?? 15_000) / TICK_MS));
    this.#buckets = Array.from({ length: buckets }, () => new Set<Connection>());
    const log = opts.log;
    if (log) {
      this.#tailer = new LogTailer({
        db: log.db,
        notifier: log.notifier,
        pollIntervalMs: log.pollIntervalMs,
        onEvents: (userId, events) => this.#fromLog(userId, events),
        onError: (error) => opts.logger.error('channel log read failed', loggableError(error)),
      });
    }
  }

  /** Logged mode: listens to the log (resolves once listening) and starts pruning it. No-op otherwise. */
  async start(): Promise<void> {
    const log = this.opts.log;
    if (!log || !this.#tailer) {
      return;
    }
    await this.#tailer.start();
    const every = log.pruneIntervalMs ?? 60_000;
    if (every > 0) {
      this.#pruneTimer = setInterval(() => void this.pruneLog(), every);
      (this.#pruneTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Deletes the log's rows past the history bounds (≥ 10 minutes and ≥ 1,000 events per channel). */
  async pruneLog(): Promise<number> {
    const log = this.opts.log;
    if (!log) {
      return 0;
    }
    try {
      return await prune(log.db, this.opts.clock.now(), log.prune ?? DEFAULT_PRUNE_LIMITS);
    } catch (error) {
      this.opts.logger.error('channel log prune failed', loggableError(error));
      return 0;
    }
  }

  /** Logged mode: resolves once every event `publish` took so far is in the log (committed). */
  async appended(): Promise<void> {
    await this.#flush();
  }

  /**
   * Logged mode: hands the events waiting to be written to the caller's transaction (`withTransaction`), once
   * no write of earlier ones is in flight; until `release`, the hub writes nothing (later events wait, so
   * they keep their order). Released uncommitted, the events go back first in line and the hub writes them.
   */
  async takePending(): Promise<PendingEvents> {
    while (this.#appendRunning) {
      if (this.#away) {
        // The events before this transaction's wait for the database: so would the transaction. Refused at
        // once, so its caller waits for the database as for its own failure (and says so in the log).
        throw new DatabaseAwayError('channel events are waiting for the database');
      }
      await Promise.race([this.#appending, this.#awayNotice.promise]);
    }
    const log = this.opts.log;
    if (!log || this.#pending.length === 0) {
      return { events: [], release: () => {} };
    }
    clearTimeout(this.#gatherTimer);
    this.#gatherTimer = undefined;
    const events = this.#pending.splice(0);
    let done: () => void = () => {};
    this.#appendRunning = true;
    this.#appending = new Promise<void>((resolve) => {
      done = resolve;
    });
    return {
      events,
      release: (committed) => {
        if (committed) {
          for (const queueId of new Set(events.map((e) => e.queueId))) {
            this.#statusAfterDelivery(queueId);
          }
          this.#reportDropped();
        } else {
          this.#pending.unshift(...events);
        }
        this.#appendRunning = false;
        done();
        if (this.#pending.length > 0) {
          this.#startAppend(log);
        }
      },
    };
  }

  /** Starts an append after the gathering wait, unless one runs (it takes what was published meanwhile). */
  #scheduleAppend(log: ChannelLogOptions): void {
    if (this.#appendRunning || this.#gatherTimer) {
      return;
    }
    const wait = log.gatherMs ?? DEFAULT_GATHER_MS;
    if (wait <= 0) {
      this.#startAppend(log);
      return;
    }
    this.#gatherTimer = setTimeout(() => {
      this.#gatherTimer = undefined;
      this.#startAppend(log);
    }, wait);
  }

  #startAppend(log: ChannelLogOptions): void {
    if (!this.#appendRunning) {
      this.#appendRunning = true;
      this.#appending = this.#appendPending(log);
    }
  }

  /** Ends a gathering wait at once, and waits until no event `publish` took is left unwritten. */
  async #flush(): Promise<void> {
    const log = this.opts.log;
    while (log && (this.#appendRunning || this.#pending.length > 0)) {
      if (!this.#appendRunning) {
        clearTimeout(this.#gatherTimer);
        this.#gatherTimer = undefined;
        this.#startAppend(log);
      }
      await this.#appending;
    }
  }

  /**
   * Logged mode: resolves once every event published so far is in the log (committed) and every stream
   * opened so far is live (its replay written). Tests and benchmarks wait on it.
   */
  async settled(): Promise<void> {
    await Promise.all([this.#flush(), ...this.#attaching]);
  }

  /** `close()`, then stops following the log (resolves once the listener is gone). */
  async shutdown(): Promise<void> {
    this.close();
    await this.#statusRound;
    await this.#flush();
    await this.#tailer?.stop();
  }

  /**
   * `listener` sees every event published from now on, after its delivery to the channels (not the coalesced
   * `queue_status` the hub makes itself); the returned function stops it. Tests and benchmarks wait on it.
   */
  observe(listener: (event: ServerEvent) => void): () => void {
    this.#observers.add(listener);
    return () => this.#observers.delete(listener);
  }

  /**
   * Logged mode: writes a transaction's events to the channel log as its last statements (`withTransaction`
   * calls it); they reach the channels through the tailer once committed. Nothing in memory mode.
   */
  async appendIn(db: DbOrTx, events: ServerEvent[]): Promise<void> {
    const logged = this.opts.log ? events.filter(isLogged) : [];
    if (logged.length > 0) {
      await appendEvents(db, logged, this.opts.clock.now());
    }
  }

  /** A transaction's events once it committed: delivered (memory mode) or only observed (logged mode). */
  committed(events: ServerEvent[]): void {
    for (const event of events) {
      if (this.opts.log && isLogged(event)) {
        this.#statusAfterDelivery(event.queueId);
      } else {
        this.#deliver(event);
      }
      for (const listener of this.#observers) {
        listener(event);
      }
    }
  }

  /** Delivers an event (after the database write it announces); in logged mode, through the log. */
  publish(event: ServerEvent): void {
    const log = this.opts.log;
    if (log && isLogged(event)) {
      // An event that announces no database change: written in a transaction of its own, in publish order.
      if (
        event.name === 'invocation_progress' &&
        this.#pending.length >= (log.maxPending ?? DEFAULT_MAX_PENDING)
      ) {
        // The database is away (nothing else makes them pile up): progress is the one event a stream can do
        // without; what changed (status, results, errors) keeps its place.
        this.#droppedProgress++;
      } else {
        this.#pending.push(event);
      }
      this.#scheduleAppend(log);
    } else {
      this.#deliver(event);
    }
    for (const listener of this.#observers) {
      listener(event);
    }
  }

  #deliver(event: ServerEvent): void {
    const now = this.opts.clock.now().getTime();
    // Serialised and encoded once; each channel adds its own `id:` line.
    const body = eventBody(event.name, { ...event.data, queue_id: event.queueId });
    if (this.opts.log) {
      // Logged mode: only `queue_status` comes here (computed by this process): no id, not kept for replay.
      for (const channel of this.#channels.values()) {
        channel.broadcast(body, now);
      }
      return;
    }
    if (event.ownerId === null) {
      for (const channel of this.#channels.values()) {
        channel.publish(body, now);
      }
    } else {
      this.#channels.get(event.ownerId)?.publish(body, now);
      for (const key of this.#adminKeys) {
        if (key !== event.ownerId) {
          this.#channels.get(key)?.publish(body, now);
        }
      }
    }
    this.#changed(event.queueId, event.name);
  }

  /** An event reached this process's channels: its queue's counts may be new (`queue_status` follows). */
  #changed(queueId: string, name: string): void {
    if (COUNT_CHANGES.has(name)) {
      this.#countChanges.set(queueId, (this.#countChanges.get(queueId) ?? 0) + 1);
    }
    if (name !== 'queue_status') {
      this.#markQueueChanged(queueId);
    }
  }

  async #appendPending(log: ChannelLogOptions): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, 200);
        try {
          // While the database is away (a restart, a dropped connection) the events wait, in order.
          await whileDatabaseAway(() => appendEvents(log.db, batch, this.opts.clock.now()), {
            signal: this.#closing.signal,
            // Transactions are refused while these events wait (takePending): retried often, so that they
            // go on within a second of the database's return.
            maxWaitMs: 1000,
            onWait: (error, attempt) => {
              if (!this.#away) {
                this.#away = true;
                this.#awayNotice.resolve();
              }
              if (attempt === 1) {
                this.opts.logger.warn('database unavailable: channel events wait for it', {
                  events: batch.length,
                  ...loggableError(error),
                });
              }
            },
          });
          this.#databaseBack();
          for (const queueId of new Set(batch.map((e) => e.queueId))) {
            this.#statusAfterDelivery(queueId);
          }
          this.#reportDropped();
        } catch (error) {
          this.opts.logger.error('channel log append failed', {
            events: batch.length,
            ...loggableError(error),
          });
        }
      }
    } finally {
      this.#appendRunning = false;
      this.#databaseBack();
    }
  }

  #databaseBack(): void {
    if (this.#away) {
      this.#away = false;
      this.#awayNotice = notice();
    }
  }

  #reportDropped(): void {
    if (this.#droppedProgress > 0) {
      this.opts.logger.warn('channel events written again: progress events dropped while they waited', {
        dropped: this.#droppedProgress,
      });
      this.#droppedProgress = 0;
    }
  }

  /**
   * Logged mode: a `queue_status` once the tailer has read what this process just wrote (so it follows the
   * events to this process's streams), even when no stream here receives those events.
   */
  #statusAfterDelivery(queueId: string): void {
    void this.#tailer?.catchUp().then(() => this.#markQueueChanged(queueId));
  }

  /** Logged mode: a followed channel's new events, in id order, each once (from the tailer). */
  #fromLog(userId: string, events: LoggedEvent[]): void {
    const channel = this.#channels.get(userId);
    const now = this.opts.clock.now().getTime();
    for (const e of events) {
      channel?.publishLogged(e.id, eventBody(e.name, { ...e.data, queue_id: e.queueId }), now);
      this.#changed(e.queueId, e.name);
    }
  }

  /** Logged mode: reads the channel's head and follows it from there (once per channel object). */
  #startChannel(channel: UserChannel): Promise<void> {
    let ready = this.#ready.get(channel);
    if (!ready) {
      const log = this.opts.log as ChannelLogOptions;
      ready = channelHead(log.db, channel.key).then((head) => {
        if (this.#channels.get(channel.key) === channel) {
          channel.delivered = Math.max(channel.delivered, head);
          this.#tailer?.follow(channel.key, head);
        }
      });
      this.#ready.set(channel, ready);
    }
    return ready;
  }

  /**
   * Logged mode: the replay after `Last-Event-ID` (from the memory ring, or from the log when the ring does
   * not hold it, on any process and after a restart), then live events. The last step (the ring's tail and
   * going live) is synchronous, so nothing is missed or repeated between the log and the live feed.
   */
  async #attachLogged(
    channel: UserChannel,
    conn: Connection,
    lastEventId: string | undefined,
  ): Promise<void> {
    const log = this.opts.log as ChannelLogOptions;
    await this.#startChannel(channel);
    const now = () => this.opts.clock.now().getTime();
    if (lastEventId === undefined) {
      channel.goLive(conn, channel.delivered);
      return;
    }
    let after = parseEventId(channel.key, lastEventId);
    for (;;) {
      if (conn.closed) {
        return;
      }
      if (after === undefined) {
        conn.write(controlFrame('resync', 'history_unavailable'), now());
        channel.goLive(conn, channel.delivered);
        return;
      }
      const fromRing = channel.framesAfter(after);
      if (fromRing) {
        for (const frame of fromRing) {
          if (!conn.write(frame, now())) {
            return;
          }
        }
        channel.goLive(conn, channel.delivered);
        return;
      }
      if (after > channel.delivered) {
        // Newer than this process has read: the log tells whether it exists; if so, wait for the tailer.
        await this.#tailer?.catchUp();
        if (after > channel.delivered) {
          after = undefined;
        }
        continue;
      }
      const read = await readAfter(log.db, channel.key, after, REPLAY_BATCH, { isAdmin: conn.info.isAdmin });
      if (!read.held) {
        after = undefined;
        continue;
      }
      for (const e of read.events) {
        const frame = encodeFrame(
          sseFrame(e.name, { ...e.data, queue_id: e.queueId }, eventIdOf(channel.key, e.id)),
        );
        if (!conn.write(frame, now())) {
          return;
        }
      }
      const last = read.events.at(-1)?.id;
      if (last === undefined) {
        // Nothing after it in the log yet: the live feed (or the ring) carries on from there.
        channel.goLive(conn, Math.max(after, 0));
        return;
      }
      after = last;
    }
  }

  /**
   * Opens a stream for a user: `retry`, `connected`, then the replay after `Last-Event-ID` (or `resync`),
   * then live events, all in one synchronous step so nothing is missed or repeated.
   */
  connect(req: ConnectRequest): Connection {
    const now = this.opts.clock.now().getTime();
    if (this.#revokedSince(req.info, now)) {
      // Revoked between the request's authentication and now: ended as if it had been open, untouched by
      // the channels.
      const refused = new Connection(req.info, req.sink, 3, () => {});
      refused.write(RETRY_FRAME, now);
      refused.write(connectedFrame(req.info), now);
      refused.write(controlFrame('auth_expired', 'token_revoked'), now);
      refused.close('auth_expired');
      return refused;
    }
    const key = req.anonymous ? ANONYMOUS_CHANNEL : req.info.userId;
    let channel = this.#channels.get(key);
    const wasAdmin = this.#adminKeys.has(key);
    if (channel && wasAdmin !== req.info.isAdmin) {
      // Rights changed (a demotion): copies received as an admin must never be replayed to a user.
      for (const conn of channel.connections) {
        conn.close('auth_expired');
      }
      this.#channels.delete(key);
      this.#tailer?.unfollow(key);
      channel.dispose();
      channel = undefined;
    }
    if (!channel) {
      channel = new UserChannel(key, this.#limits);
      this.#channels.set(key, channel);
    }
    if (req.info.isAdmin && !req.anonymous) {
      this.#adminKeys.add(key);
    } else {
      this.#adminKeys.delete(key);
    }
    const owner = channel;
    const conn = new Connection(req.info, req.sink, this.#maxQueued, (c, reason) =>
      this.#forget(owner, c, reason),
    );
    conn.write(RETRY_FRAME, now);
    conn.write(connectedFrame(req.info), now);
    if (this.opts.log) {
      channel.connections.add(conn);
      const attaching = this.#attachLogged(channel, conn, req.lastEventId)
        .catch((error: unknown) => {
          this.opts.logger.error('event replay from the log failed', loggableError(error));
          conn.write(controlFrame('resync', 'history_unavailable'), this.opts.clock.now().getTime());
          channel.goLive(conn, channel.delivered);
        })
        .finally(() => this.#attaching.delete(attaching));
      this.#attaching.add(attaching);
    } else {
      this.#attachInMemory(channel, conn, req.lastEventId, now);
    }
    if (!conn.closed) {
      // Written to just now (its opening frames): due one interval from now, in the bucket the interval's
      // last tick visits.
      this.#buckets[(this.#bucketAt + this.#buckets.length - 1) % this.#buckets.length]?.add(conn);
      this.#connections++;
      this.#startTick();
    }
    return conn;
  }

  #attachInMemory(
    channel: UserChannel,
    conn: Connection,
    lastEventId: string | undefined,
    now: number,
  ): void {
    const attached = channel.attach(conn, lastEventId);
    if ('resync' in attached) {
      conn.write(controlFrame('resync', 'history_unavailable'), now);
    } else if ('replay' in attached) {
      for (const frame of attached.replay) {
        if (!conn.write(frame, now)) {
          break;
        }
      }
    }
  }

  /** Closes with `auth_expired` every stream of this login session (logout). */
  closeSession(sid: string): void {
    this.#revokedSessions.delete(sid);
    this.#revokedSessions.set(sid, this.opts.clock.now().getTime());
    this.#forgetOldRevocations();
    this.#closeWhere((c) => c.info.token?.sid === sid, 'token_revoked');
  }

  /** Closes with `auth_expired` every stream of a user whose token is older than `minEpoch` (or all). */
  closeUser(userId: string, minEpoch?: number): void {
    const floor = Math.max(
      minEpoch ?? Number.POSITIVE_INFINITY,
      this.#revokedUsers.get(userId)?.minEpoch ?? 0,
    );
    this.#revokedUsers.delete(userId);
    this.#revokedUsers.set(userId, { minEpoch: floor, at: this.opts.clock.now().getTime() });
    this.#forgetOldRevocations();
    this.#closeWhere(
      (c) => c.info.userId === userId && (minEpoch === undefined || (c.info.token?.epoch ?? 0) < minEpoch),
      'token_revoked',
    );
  }

  /** The token of every open stream, for a process that may have missed revocations to check them again. */
  openTokens(): { userId: string; sid: string; epoch: number }[] {
    const tokens: { userId: string; sid: string; epoch: number }[] = [];
    for (const bucket of this.#buckets) {
      for (const conn of bucket) {
        if (conn.info.token) {
          tokens.push({ userId: conn.info.userId, sid: conn.info.token.sid, epoch: conn.info.token.epoch });
        }
      }
    }
    return tokens;
  }

  /** Counts, for tests and metrics: nothing may be left behind when everybody has gone. */
  stats() {
    return {
      channels: this.#channels.size,
      connections: this.#connections,
      timers: (this.#tick ? 1 : 0) + (this.#statusTimer ? 1 : 0),
    };
  }

  /** Ends every stream and timer (server shutdown). */
  close(): void {
    this.#closed = true;
    this.#closing.abort();
    this.#closeWhere(() => true, 'shutdown');
    clearInterval(this.#tick);
    this.#tick = undefined;
    clearTimeout(this.#statusTimer);
    this.#statusTimer = undefined;
    clearInterval(this.#pruneTimer);
    this.#pruneTimer = undefined;
    this.#dirtyQueues.clear();
  }

  /** Ends matching streams: with `event: auth_expired` and its reason, or silently on shutdown. */
  #closeWhere(match: (c: Connection) => boolean, why: 'token_revoked' | 'token_expired' | 'shutdown'): void {
    const now = this.opts.clock.now().getTime();
    const frame = why === 'shutdown' ? undefined : controlFrame('auth_expired', why);
    for (const bucket of this.#buckets) {
      for (const conn of bucket) {
        if (match(conn)) {
          if (frame) {
            conn.write(frame, now);
          }
          conn.close(why === 'shutdown' ? 'shutdown' : 'auth_expired');
        }
      }
    }
  }

  #forget(channel: UserChannel, conn: Connection, reason: CloseReason): void {
    channel.detach(conn);
    for (const bucket of this.#buckets) {
      if (bucket.delete(conn)) {
        this.#connections--;
        break;
      }
    }
    if (reason === 'slow_client') {
      this.opts.logger.warn('event stream too far behind: disconnected', {
        connection_id: conn.info.connectionId,
        user_id: conn.info.userId,
      });
    }
    this.#sweep(channel);
    this.#stopTickWhenIdle();
  }

  /** Whether a connection's token was revoked in the last minute (see REVOCATION_MEMORY_MS). */
  #revokedSince(info: ConnectionInfo, now: number): boolean {
    this.#forgetOldRevocations(now);
    if (!info.token) {
      return false;
    }
    const user = this.#revokedUsers.get(info.userId);
    return (
      this.#revokedSessions.has(info.token.sid) || (user !== undefined && info.token.epoch < user.minEpoch)
    );
  }

  /** Drops revocations older than REVOCATION_MEMORY_MS (both maps are in the order they were noted). */
  #forgetOldRevocations(now = this.opts.clock.now().getTime()): void {
    for (const [sid, at] of this.#revokedSessions) {
      if (now - at <= REVOCATION_MEMORY_MS) {
        break;
      }
      this.#revokedSessions.delete(sid);
    }
    for (const [userId, { at }] of this.#revokedUsers) {
      if (now - at <= REVOCATION_MEMORY_MS) {
        break;
      }
      this.#revokedUsers.delete(userId);
    }
  }

  /**
   * The tick runs while a stream is open or a channel is kept for replay: it is what drops that channel
   * once its newest event leaves the replay window.
   */
  #stopTickWhenIdle(): void {
    if (this.#connections === 0 && this.#channels.size === 0) {
      clearInterval(this.#tick);
      this.#tick = undefined;
    }
  }

  #sweep(channel: UserChannel): void {
    const now = this.opts.clock.now().getTime();
    if (this.#channels.get(channel.key) === channel && channel.idle(now, this.#limits.minAgeMs)) {
      this.#channels.delete(channel.key);
      this.#adminKeys.delete(channel.key);
      this.#tailer?.unfollow(channel.key);
      channel.dispose();
    }
  }

  #startTick(): void {
    this.#tick ??= setInterval(() => this.#onTick(), TICK_MS);
  }

  /**
   * Each second: ping the streams of one bucket that would otherwise be silent past the interval before the
   * next tick (the others move to the bucket of their own due time), end streams whose token expired, drop
   * idle channels.
   */
  #onTick(): void {
    const now = this.opts.clock.now().getTime();
    const nowS = now / 1000;
    const n = this.#buckets.length;
    const at = this.#bucketAt;
    const bucket = this.#buckets[at];
    this.#bucketAt = (at + 1) % n;
    for (const conn of bucket ?? []) {
      const left = conn.lastWriteAt + n * TICK_MS - now;
      if (left < TICK_MS) {
        conn.write(PING_FRAME, now); // due again one interval from now: this bucket
        continue;
      }
      // Written to since it was placed: wait in the bucket visited k ticks from now, k whole ticks before due.
      const k = Math.min(n, Math.floor(left / TICK_MS));
      if (k < n) {
        bucket?.delete(conn);
        this.#buckets[(at + k) % n]?.add(conn);
      }
    }
    this.#closeWhere((c) => c.info.token !== null && c.info.token.exp <= nowS, 'token_expired');
    for (const channel of [...this.#channels.values()]) {
      channel.trim(now);
      this.#sweep(channel);
    }
    this.#stopTickWhenIdle();
  }

  #markQueueChanged(queueId: string): void {
    if (this.#closed) {
      return;
    }
    this.#dirtyQueues.add(queueId);
    if (this.#statusTimer) {
      return;
    }
    const wait = Math.max(0, this.#lastStatusAt + this.#statusIntervalMs - this.opts.clock.now().getTime());
    this.#statusTimer = setTimeout(() => {
      this.#statusRound = this.#flushStatus().finally(() => {
        this.#statusRound = undefined;
      });
    }, wait);
  }

  async #flushStatus(): Promise<void> {
    const queues = [...this.#dirtyQueues];
    this.#dirtyQueues.clear();
    this.#lastStatusAt = this.opts.clock.now().getTime();
    for (const queueId of queues) {
      if (this.#closed) {
        return;
      }
      try {
        const version = this.#countChanges.get(queueId) ?? 0;
        const counts = await this.opts.loadQueueStatus(queueId);
        // Counts read before a change that was delivered meanwhile are older than what clients saw: skip them
        // (a fresh read follows at once), but never twice in a row, so a busy queue still reports.
        if ((this.#countChanges.get(queueId) ?? 0) !== version && !this.#skippedStatus.has(queueId)) {
          this.#skippedStatus.add(queueId);
          this.#dirtyQueues.add(queueId);
          continue;
        }
        this.#skippedStatus.delete(queueId);
        this.#deliver({ name: 'queue_status', queueId, ownerId: null, data: counts });
      } catch (err) {
        // A read that shutdown cut short (its database closing) is no failure to report.
        if (!this.#closed) {
          this.opts.logger.error('queue_status failed', { queue_id: queueId, ...loggableError(err) });
        }
      }
    }
    this.#statusTimer = undefined;
    if (this.#dirtyQueues.size > 0) {
      const [next] = this.#dirtyQueues;
      this.#dirtyQueues.delete(next as string);
      this.#markQueueChanged(next as string);
    }
  }
}
