import type { AuthUser } from './actor.ts';
import type { LoginLimiter, PasswordHasher, TokenService } from './auth.ts';
import type { Clock } from './clock.ts';
import type { DbOrTx } from './db.ts';
import type { ChannelPort } from './events.ts';
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

/**
 * Runs `fn` in a transaction. Inside one already, Drizzle opens a SAVEPOINT: `fn`'s writes roll back alone
 * when it throws, and commit with the outer transaction.
 * @example await withTransaction(ctx, (tx) => updateUser({ ctx: tx, input }));
 */
export function withTransaction<T>(ctx: ServiceContext, fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
  return ctx.db.transaction((tx) => fn({ ...ctx, db: tx }));
}
