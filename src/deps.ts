import type { Context } from 'hono';
import type { Channels } from './channels/interface.ts';
import type { StreamSinks } from './channels/sink.ts';
import type { TicketStore } from './channels/tickets.ts';
import type { Clock } from './clock.ts';
import type { Db } from './db/types.ts';
import type { EventPublisher } from './events/interface.ts';
import type { HttpMetrics } from './http/metrics.ts';
import type { BlobStore, ImageCodec } from './images/interface.ts';
import type { UrlSigner } from './images/url-signer.ts';
import type { Logger } from './logger.ts';
import type { ModelCatalog } from './models/catalog.ts';
import type { Processor } from './scheduler/interface.ts';
import type { LoginRateLimiter } from './services/auth/login-rate-limiter.ts';
import type { PasswordHasher } from './services/auth/passwords.ts';
import type { TokenService } from './services/auth/tokens.ts';
import type { AuthUser, QueueSettings, ServiceContext } from './services/context.ts';

/** What the app needs from its configuration (the rest stays with the entry). */
export interface AppConfig {
  version: string;
  authMode: 'multiuser' | 'single';
  corsOrigins: string[];
  userMaxPending: number;
  queue: QueueSettings;
}

/** Everything `createApp` runs on, built once at boot (or by the test harness). */
export interface AppDeps {
  config: AppConfig;
  db: Db;
  clock: Clock;
  logger: Logger;
  passwords: PasswordHasher;
  tokens: TokenService;
  loginLimiter: LoginRateLimiter;
  metrics: HttpMetrics;
  events: EventPublisher;
  processor: Processor;
  models: ModelCatalog;
  /** The per-user channels behind the event stream; also the `events` publisher in production. */
  channels: Channels;
  /** How event streams reach clients: a `ReadableStream` body, or on Node the response itself. */
  streamSinks: StreamSinks;
  tickets: TicketStore;
  /** Image encoding and decoding (sharp on Node). */
  images: ImageCodec;
  /** Where image files and thumbnails are kept (`DATA_DIR` on Node). */
  blobs: BlobStore;
  /** Signs the `image_url` and `thumbnail_url` of images. */
  urlSigner: UrlSigner;
  /** Whether the server can do its work (migrations ran; later, a model loaded), and why not. */
  readiness: () => { ready: boolean; checks: Record<string, boolean> };
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
    loginLimiter: deps.loginLimiter,
    userMaxPending: deps.config.userMaxPending,
    queue: deps.config.queue,
    events: deps.events,
    processor: deps.processor,
    models: deps.models,
    streams: deps.channels,
    images: deps.images,
    blobs: deps.blobs,
    urlSigner: deps.urlSigner,
    requestId,
    actor,
  };
}
