import type { OpenAPIHono } from '@hono/zod-openapi';

type Document = ReturnType<OpenAPIHono['getOpenAPI31Document']>;
type Operation = Record<string, unknown> & {
  operationId?: string;
  security?: unknown[];
  parameters?: unknown[];
  responses: Record<string, { description: string; headers?: Record<string, unknown> }>;
};

const TAGS = [
  { name: 'auth', description: 'Set-up, login, logout and your own account (API.md section 2)' },
  { name: 'users', description: 'Accounts, for admins (API.md section 3)' },
  { name: 'queue', description: 'Generations: enqueue, read, cancel, pause (API.md section 4)' },
  { name: 'events', description: 'The server-sent event stream (API.md section 5)' },
  { name: 'images', description: 'Images and their files (API.md section 6)' },
  { name: 'boards', description: 'Boards of images (API.md section 6)' },
  { name: 'models', description: 'The models the workers can run' },
  {
    name: 'workers',
    description: 'The workers of every process sharing the database, for admins (API.md section 8)',
  },
  { name: 'audit', description: 'Who did what, for admins' },
  { name: 'operations', description: 'Liveness, readiness and metrics' },
];

const header = (name: keyof typeof HEADERS) => ({ $ref: `#/components/headers/${name}` });

const HEADERS = {
  'X-Request-Id': {
    description:
      'The request id (the `X-Request-Id` sent, or a new one); it is `request_id` in problems and logs',
    schema: { type: 'string' },
  },
  'X-Refreshed-Token': {
    description:
      'A fresh token of the same session when the one sent is past half its life (sliding refresh, API.md section 2)',
    schema: { type: 'string' },
  },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
  'WWW-Authenticate': {
    description: '`Bearer`, or `Bearer error="invalid_token"` when a token was sent',
    schema: { type: 'string' },
  },
};

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** Operations anyone may call; `stream_events` takes a token or a ticket, or serves queue-wide events only. */
const PUBLIC = new Set(['get_health', 'get_readiness', 'get_setup_status', 'setup_admin', 'login']);
const OPTIONAL_AUTH = new Set(['stream_events']);
/** Operations that answer without the database, so never 503 for it. */
const NO_DATABASE = new Set(['get_health']);

/**
 * What the route definitions leave out of the OpenAPI document, added in one place: top-level tags, the
 * default security (bearer) with the public operations' `security: []`, the headers every answer carries
 * (`X-Request-Id`; `X-Refreshed-Token` on authenticated ones; `WWW-Authenticate` on 401; `Retry-After` on 429
 * and 503), the 500 `internal` and 503 `unavailable` problems any operation may answer, and `Last-Event-ID` on
 * the event stream. Lint-clean with redocly's recommended rules (tests/routes/openapi.test.ts).
 */
export function completeDocument(doc: Document): Document {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  for (const operations of Object.values(paths)) {
    for (const op of Object.values(operations)) {
      const id = op.operationId ?? '';
      if (PUBLIC.has(id)) {
        op.security = [];
      } else if (OPTIONAL_AUTH.has(id)) {
        op.security = [{ bearer: [] }, {}];
      }
      op.responses['500'] ??= problemResponse('internal');
      if (!NO_DATABASE.has(id)) {
        op.responses['503'] ??= problemResponse('unavailable: the database is away (or the server is busy)');
      }
      for (const [status, response] of Object.entries(op.responses)) {
        const headers: Record<string, unknown> = { 'X-Request-Id': header('X-Request-Id') };
        if (status.startsWith('2') && !PUBLIC.has(id)) {
          headers['X-Refreshed-Token'] = header('X-Refreshed-Token');
        }
        if (status === '401') {
          headers['WWW-Authenticate'] = header('WWW-Authenticate');
        }
        if (status === '429' || status === '503') {
          headers['Retry-After'] = header('Retry-After');
        }
        response.headers = { ...response.headers, ...headers };
      }
      if (id === 'stream_events') {
        op.parameters = [
          ...(op.parameters ?? []),
          {
            name: 'Last-Event-ID',
            in: 'header',
            required: false,
            description:
              'Resume after this event id (EventSource sends it on reconnect; `last_event_id` is the same)',
            schema: { type: 'string', maxLength: 200 },
          },
        ];
      }
    }
  }
  const used = new Set(
    Object.values(paths).flatMap((ops) => Object.values(ops).flatMap((op) => (op.tags as string[]) ?? [])),
  );
  return {
    ...doc,
    info: {
      ...doc.info,
      description:
        'The HTTP and server-sent events API of Easel, a self-hosted multi-user image-generation server.',
    },
    // Relative: the document is served by the server it describes, whatever its address.
    servers: [{ url: '/', description: 'This server' }],
    tags: TAGS.filter((t) => used.has(t.name)),
    security: [{ bearer: [] }],
    components: { ...doc.components, headers: HEADERS },
  } as Document;
}
