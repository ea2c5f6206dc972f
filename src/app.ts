import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import type { AppDeps } from './deps.ts';
import { DOCS_CSP, renderDocsPage } from './http/docs-page.ts';
import { ApiError } from './http/errors.ts';
import { allowedMethods } from './http/middleware/allowed-methods.ts';
import { auth, requireAdmin } from './http/middleware/auth.ts';
import { refreshToken } from './http/middleware/refresh-token.ts';
import { wideEvent } from './http/middleware/wide-event.ts';
import { createRouter } from './http/openapi.ts';
import { completeDocument } from './http/openapi-document.ts';
import { handleError, handleNotFound } from './http/problem.ts';
import { auditRouter } from './routes/audit.ts';
import { authRouter } from './routes/auth.ts';
import { boardsRouter } from './routes/boards.ts';
import { eventsRouter } from './routes/events.ts';
import { healthRouter, probesRouter } from './routes/health.ts';
import { IMAGE_FILE_PATH, IMAGE_UPLOAD_PATH, imagesRouter } from './routes/images.ts';
import { modelsRouter } from './routes/models.ts';
import { queueRouter } from './routes/queue/index.ts';
import { usersRouter } from './routes/users.ts';
import { workersRouter } from './routes/workers.ts';

export const API_PREFIX = '/api/v1';
/** JSON bodies larger than this are refused with 413. */
export const JSON_BODY_LIMIT = 1024 * 1024;

/** The reference page is one HTML document with an inline style sheet: nothing else may load or frame it. */
const PUBLIC_PATHS = ['status', 'setup', 'login'].map((p) => `${API_PREFIX}/auth/${p}`);
const NO_REFRESH_PATHS = ['setup', 'login', 'logout'].map((p) => `${API_PREFIX}/auth/${p}`);

/**
 * Builds the Easel app on its deps (`probesOnly`: `/health` and `/ready` alone, for `ROLE=worker`). It never listens: the runtime entry serves it, tests call `app.request`.
 * @example const app = createApp(deps); const res = await app.request('/health');
 */
export function createApp(deps: AppDeps, opts: { probesOnly?: boolean } = {}) {
  const app = createRouter();
  if (deps.streamSinks.finish) {
    // First, so that it sees the final response of the event stream (every header set after the route).
    app.use(`${API_PREFIX}/events`, deps.streamSinks.finish);
  }
  app.use(requestId());
  app.use(async function injectDeps(c, next) {
    c.set('deps', deps);
    await next();
  });
  app.use(wideEvent());
  app.use(async function securityHeaders(c, next) {
    await next();
    // API.md section 1: no response is sniffed into another type.
    c.header('X-Content-Type-Options', 'nosniff');
  });
  if (deps.config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: deps.config.corsOrigins,
        allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
        exposeHeaders: ['X-Refreshed-Token', 'X-Request-Id'],
        maxAge: 600,
      }),
    );
  }
  app.onError(handleError);
  app.notFound(handleNotFound);

  if (opts.probesOnly) {
    // ROLE=worker: liveness and readiness only.
    app.route('/', probesRouter);
    return app;
  }
  app.use('/metrics', auth({ mode: deps.config.authMode, publicPaths: [] }), requireAdmin());
  app.route('/', healthRouter);

  const api = createRouter();
  const jsonBodyLimit = bodyLimit({
    maxSize: JSON_BODY_LIMIT,
    onError: () => {
      throw new ApiError('payload_too_large', `The request body is larger than ${JSON_BODY_LIMIT} bytes.`);
    },
  });
  // The upload route sets its own, larger limit. GET and HEAD bodies are never read, so they are not checked:
  // on @hono/node-server, asking for the body builds a full `Request`, which an open event stream would keep
  // for as long as it is connected.
  api.use((c, next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.path === IMAGE_UPLOAD_PATH
      ? next()
      : jsonBodyLimit(c, next),
  );
  api.use(
    auth({
      mode: deps.config.authMode,
      publicPaths: PUBLIC_PATHS,
      optionalPaths: [`${API_PREFIX}/events`, IMAGE_FILE_PATH],
    }),
  );
  api.use(allowedMethods(() => app.routes));
  api.use(refreshToken({ exceptPaths: NO_REFRESH_PATHS }));
  api.route('/auth', authRouter);
  api.route('/users', usersRouter);
  api.route('/audit', auditRouter);
  api.route('/queue', queueRouter);
  api.route('/events', eventsRouter);
  api.route('/models', modelsRouter);
  api.route('/images', imagesRouter);
  api.route('/boards', boardsRouter);
  api.route('/workers', workersRouter);
  app.route(API_PREFIX, api);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  const spec = {
    openapi: '3.1.0',
    info: { title: 'Easel', version: deps.config.version },
  };
  // Built on first use: every route is registered by then.
  let document: ReturnType<typeof completeDocument> | undefined;
  const openApi = () => {
    document ??= completeDocument(app.getOpenAPI31Document(spec));
    return document;
  };
  app.get('/openapi.json', (c) => c.json(openApi()));
  app.get('/docs', (c) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
    return c.html(renderDocsPage(openApi()));
  });
  return app;
}

export type EaselApp = ReturnType<typeof createApp>;
