import type { Context } from 'hono';
import type { Channels } from './channels/interface.ts';
import type { RevocationRelay } from './channels/revocations.ts';
import type { TicketStore } from './channels/tickets.ts';
import type { AuthUser } from './core/actor.ts';
import type { IdentityCheck, LoginLimiter, PasswordHasher, TokenService } from './core/auth.ts';
import type { Clock } from './core/clock.ts';
import type { QueueSettings, ServiceContext } from './core/context.ts';
import type { Db } from './core/db.ts';
import type { BlobStore, ImageCodec, UrlSigner } from './core/images.ts';
import type { Logger } from './core/logger.ts';
import type { ModelCatalog } from './core/models.ts';
import type { Workers } from './core/workers.ts';
import type { HttpMetrics } from './http/metrics.ts';
import type { StreamSinks } from './http/stream-sinks.ts';

/** What the app needs from its configuration (the rest stays with the entry). */
export interface AppConfig {
  version: string;
  authMode: 'multiuser' | 'single';
  corsOrigins: string[];
  userMaxPending: number;
  queue: QueueSettings;
  /** How long a refused login (429, 503) waits before its answer (the server's: 1000 ms; none when unset). */
  loginRefusalDelayMs?: number;
}

/** Everything `createApp` runs on, built once at boot (or by the test harness). */
/** `/ready`'s answer: each check by name, and whether all passed. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface AppDeps {
  config: AppConfig;
  db: Db;
  clock: Clock;
  logger: Logger;
  passwords: PasswordHasher;
  tokens: TokenService;
  /** The accounts behind tokens, cached and checked against the database's auth version. */
  identities: IdentityCheck;
  loginLimiter: LoginLimiter;
  metrics: HttpMetrics;
  workers: Workers;
  models: ModelCatalog;
  /** The channel hub: per-user channels behind the event stream, the publisher of every event. */
  channels: Channels;
  /** How event streams reach clients: a `ReadableStream` body, or on Node the response itself. */
  streamSinks: StreamSinks;
  /**
   * What services see of the channels where a revocation must reach every process (the hub's publish, and
   * closes sent to all by NOTIFY); without it, the hub itself.
   */
  revocations?: RevocationRelay;
  /** Event-stream tickets, in the database so any process accepts them. */
  tickets: TicketStore;
  /** Image encoding and decoding (sharp on Node). */
  images: ImageCodec;
  /** Where image files and thumbnails are kept (`DATA_DIR` on Node). */
  blobs: BlobStore;
  /** Signs the `image_url` and `thumbnail_url` of images. */
  urlSigner: UrlSigner;
  /** Whether the server can do its work (the database answers; with workers, a model loaded), and why not. */
  readiness: () => Readiness | Promise<Readiness>;
  /** The client's address, for the login rate limit; the runtime adapter knows it. */
  clientAddress: (c: Context) => string | undefined;
}

/**
 * A service context from the deps, for a request or for work that is not a request (start-up, scheduler).
 * @example await setupAdmin({ ctx: contextFromDeps(deps, 'startup', null), input });
 */
export function contextFromDeps(deps: AppDeps, requestId: string, actor: AuthUser | null): ServiceContext {
  return {
    db: deps.db,
    clock: deps.clock,
    passwords: deps.passwords,
    tokens: deps.tokens,
    identities: deps.identities,
    loginLimiter: deps.loginLimiter,
    userMaxPending: deps.config.userMaxPending,
    queue: deps.config.queue,
    workers: deps.workers,
    models: deps.models,
    channels: deps.revocations ?? deps.channels,
    images: deps.images,
    blobs: deps.blobs,
    urlSigner: deps.urlSigner,
    requestId,
    actor,
  };
}
