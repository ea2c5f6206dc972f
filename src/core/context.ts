import type { AuthUser } from './actor.ts';
import type { IdentityCheck, LoginLimiter, PasswordHasher, TokenService } from './auth.ts';
import type { Clock } from './clock.ts';
import type { DbOrTx } from './db.ts';
import type { ChannelPort, PendingEvents, ServerEvent } from './events.ts';
import type { BlobStore, ImageCodec, UrlSigner } from './images.ts';
import type { ModelCatalog } from './models.ts';
import type { Workers } from './workers.ts';

/** What every service verb receives besides its input. */
export interface ServiceContext {
  db: DbOrTx;
  clock: Clock;
  requestId: string;
  actor: AuthUser | null;
  passwords: PasswordHasher;
  tokens: TokenService;
  /** Token checks' account reads (a cache checked against the database); without it, one read per check. */
  identities?: IdentityCheck;
  loginLimiter: LoginLimiter;
  userMaxPending: number;
  queue: QueueSettings;
  /** The channel hub: publishes events after a write, ends streams on revocation. */
  channels: ChannelPort;
  workers: Workers;
  models: ModelCatalog;
  images: ImageCodec;
  blobs: BlobStore;
  urlSigner: UrlSigner;
}

/** How the queue orders and bounds work (QUEUE_FAIRNESS, QUEUE_MAX_SIZE). */
export interface QueueSettings {
  fairness: 'round_robin' | 'fifo';
  maxSize: number;
}

/** The outbox behind each transaction's `channels` (see `withTransaction`). */
const outboxes = new WeakMap<ChannelPort, { events: ServerEvent[]; hub: ChannelPort }>();

/** A `ChannelPort` whose `publish` collects events into `events`; the rest goes to `hub`. */
function outboxPort(hub: ChannelPort, events: ServerEvent[]): ChannelPort {
  const port: ChannelPort = {
    publish: (event) => {
      events.push(event);
    },
    closeSession: (sid) => hub.closeSession(sid),
    closeUser: (userId, minEpoch) => hub.closeUser(userId, minEpoch),
  };
  outboxes.set(port, { events, hub });
  return port;
}

/**
 * Runs `fn` in a transaction. Inside one already, Drizzle opens a SAVEPOINT: `fn`'s writes roll back alone
 * when it throws, and commit with the outer transaction. Events `fn` publishes on its context's `channels`
 * are written in the transaction, as its last statements (the channel log: an event exists exactly when
 * the change it announces committed), and handed to the hub once it committed; a savepoint's events join
 * the outer transaction's when it succeeds, and are dropped with it when it throws. The hub's events not
 * written yet (published outside any transaction) are written first, in the same statements.
 * @example await withTransaction(ctx, async (tx) => { …; tx.channels.publish(event); });
 */
export async function withTransaction<T>(
  ctx: ServiceContext,
  fn: (ctx: ServiceContext) => Promise<T>,
): Promise<T> {
  const outer = outboxes.get(ctx.channels);
  const events: ServerEvent[] = [];
  if (outer) {
    const result = await ctx.db.transaction((tx) =>
      fn({ ...ctx, db: tx, channels: outboxPort(outer.hub, events) }),
    );
    outer.events.push(...events);
    return result;
  }
  const hub = ctx.channels;
  // Events published before this transaction (a worker's invocation events) are written first in it: the
  // earlier ids, and no transaction of their own.
  let pending: PendingEvents | undefined;
  if (hub.takePending) {
    pending = await hub.takePending();
  } else {
    await hub.appended?.();
  }
  let result: T;
  let committed = false;
  try {
    result = await ctx.db.transaction(async (tx) => {
      const value = await fn({ ...ctx, db: tx, channels: outboxPort(hub, events) });
      const all = pending && pending.events.length > 0 ? [...pending.events, ...events] : events;
      if (all.length > 0) {
        await hub.appendIn?.(tx, all);
      }
      return value;
    });
    committed = true;
  } finally {
    pending?.release(committed);
  }
  if (events.length > 0) {
    if (hub.committed) {
      hub.committed(events);
    } else {
      for (const event of events) {
        hub.publish(event);
      }
    }
  }
  return result;
}
