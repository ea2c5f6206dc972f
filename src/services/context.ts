import type { Clock } from '../clock.ts';
import type { DbOrTx } from '../db/types.ts';
import type { EventPublisher } from '../events/interface.ts';
import type { BlobStore, ImageCodec } from '../images/interface.ts';
import type { UrlSigner } from '../images/url-signer.ts';
import type { ModelCatalog } from '../models/catalog.ts';
import type { Processor } from '../scheduler/interface.ts';
import type { LoginRateLimiter } from './auth/login-rate-limiter.ts';
import type { PasswordHasher } from './auth/passwords.ts';
import type { TokenService } from './auth/tokens.ts';

/** Who is making the request. `via` tells how: a bearer token, single-user mode, or no credentials. */
export interface AuthUser {
  userId: string;
  email: string;
  isAdmin: boolean;
  via: 'token' | 'single' | 'anonymous';
  /** Set when `via` is `token`. */
  token: { jti: string; exp: number; epoch: number; rememberMe: boolean } | null;
}

/** What every service verb receives besides its input. */
export interface ServiceContext {
  db: DbOrTx;
  clock: Clock;
  requestId: string;
  actor: AuthUser | null;
  passwords: PasswordHasher;
  tokens: TokenService;
  loginLimiter: LoginRateLimiter;
  userMaxPending: number;
  queue: QueueSettings;
  events: EventPublisher;
  processor: Processor;
  models: ModelCatalog;
  streams: StreamControl;
  images: ImageCodec;
  blobs: BlobStore;
  urlSigner: UrlSigner;
}

/** Ends open event streams when their token stops being valid. */
export interface StreamControl {
  /** Every stream of this token (logout). */
  closeToken(jti: string): void;
  /** Every stream of the user, or only those of tokens older than `minEpoch`. */
  closeUser(userId: string, minEpoch?: number): void;
}

/** How the queue orders and bounds work (QUEUE_FAIRNESS, QUEUE_MAX_SIZE). */
export interface QueueSettings {
  fairness: 'round_robin' | 'fifo';
  maxSize: number;
}

/**
 * Runs `fn` in a transaction, reusing the one in `ctx` when there is one.
 * @example await withTransaction(ctx, (tx) => updateUser({ ctx: tx, input }));
 */
export function withTransaction<T>(ctx: ServiceContext, fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
  return ctx.db.transaction((tx) => fn({ ...ctx, db: tx }));
}
