import { sql } from 'drizzle-orm';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect } from 'vitest';
import { harnessTest } from '../helpers/fixtures.ts';
import { createHarness, problem } from '../helpers/harness.ts';

const it = harnessTest({ config: { corsOrigins: ['http://ui.example'] } });

describe('request ids', () => {
  it('every response carries X-Request-Id, and the log line has it', async ({ h }) => {
    const res = await h.get('/health');
    const id = res.headers.get('x-request-id');
    expect(id).toBeTruthy();
    const line = h.logs.find((l) => l.request_id === id);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      path: '/health',
      route: '/health',
      status: 200,
      outcome: 'ok',
      user_id: null,
    });
  });

  it('a client-supplied request id is kept', async ({ h }) => {
    const res = await h.get('/health', { headers: { 'X-Request-Id': 'client-chosen-id-1' } });
    expect(res.headers.get('x-request-id')).toBe('client-chosen-id-1');
  });

  it('the log line names the route template and the user', async ({ h }) => {
    const admin = await h.createUser({ isAdmin: true });
    const res = await h.get(`/api/v1/users/${admin.user.user_id}`, { token: admin.token });
    const line = h.logs.find((l) => l.request_id === res.headers.get('x-request-id'));
    expect(line).toMatchObject({ route: '/api/v1/users/:user_id', status: 200, user_id: admin.user.user_id });
  });
});

describe('CORS', () => {
  it('exposes X-Refreshed-Token and X-Request-Id to allowed origins', async ({ h }) => {
    const res = await h.get('/health', { headers: { Origin: 'http://ui.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('http://ui.example');
    expect(res.headers.get('access-control-expose-headers')).toBe('X-Refreshed-Token,X-Request-Id');
  });

  it('answers a preflight allowing the Authorization header', async ({ h }) => {
    const res = await h.request('OPTIONS', '/api/v1/users', {
      headers: {
        Origin: 'http://ui.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toBe('Authorization,Content-Type,Last-Event-ID');
  });

  it('does not allow other origins', async ({ h }) => {
    const res = await h.get('/health', { headers: { Origin: 'http://evil.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('metrics', () => {
  it('admins read Prometheus text with request counts and durations by route and status', async ({ h }) => {
    const admin = await h.createUser({ isAdmin: true });
    await h.get('/health');
    const res = await h.get('/metrics', { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(/^easel_http_requests_total\{method="GET",route="\/health",status="200"\} \d+$/m);
    expect(text).toMatch(
      /^easel_http_request_duration_seconds_bucket\{method="GET",route="\/health",status="200",le="\+Inf"\} \d+$/m,
    );
    expect(text).toContain('# TYPE easel_http_request_duration_seconds histogram');
  });

  it('refuses users (403) and anonymous callers (401)', async ({ h }) => {
    const u = await h.createUser();
    const forbidden = await h.get('/metrics', { token: u.token });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual(
      problem(forbidden, 'forbidden', 403, 'Forbidden', 'This action needs an admin.'),
    );
    const anonymous = await h.get('/metrics');
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).code).toBe('unauthorized');
  });
});

describe('OpenAPI and docs', () => {
  it('/openapi.json documents every route from the same schemas', async ({ h }) => {
    const res = await h.get('/openapi.json');
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(ops.sort()).toEqual(
      [
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'GET /api/v1/auth/status',
        'POST /api/v1/auth/setup',
        'POST /api/v1/auth/login',
        'POST /api/v1/auth/logout',
        'GET /api/v1/auth/me',
        'PATCH /api/v1/auth/me',
        'GET /api/v1/users',
        'POST /api/v1/users',
        'GET /api/v1/users/{user_id}',
        'PATCH /api/v1/users/{user_id}',
        'DELETE /api/v1/users/{user_id}',
        'GET /api/v1/audit',
        'GET /api/v1/workers',
        'POST /api/v1/queue/{queue_id}/enqueue_batch',
        'GET /api/v1/queue/{queue_id}/list',
        'GET /api/v1/queue/{queue_id}/list_all',
        'GET /api/v1/queue/{queue_id}/i/{item_id}',
        'POST /api/v1/queue/{queue_id}/items_by_ids',
        'GET /api/v1/queue/{queue_id}/current',
        'GET /api/v1/queue/{queue_id}/next',
        'GET /api/v1/queue/{queue_id}/status',
        'GET /api/v1/queue/{queue_id}/b/{batch_id}/status',
        'GET /api/v1/queue/{queue_id}/counts_by_destination',
        'PUT /api/v1/queue/{queue_id}/i/{item_id}/cancel',
        'PUT /api/v1/queue/{queue_id}/cancel_by_batch_ids',
        'PUT /api/v1/queue/{queue_id}/cancel_all_except_current',
        'PUT /api/v1/queue/{queue_id}/retry_items_by_id',
        'DELETE /api/v1/queue/{queue_id}/i/{item_id}',
        'PUT /api/v1/queue/{queue_id}/prune',
        'PUT /api/v1/queue/{queue_id}/clear',
        'PUT /api/v1/queue/{queue_id}/i/{item_id}/owner',
        'PUT /api/v1/queue/{queue_id}/processor/pause',
        'PUT /api/v1/queue/{queue_id}/processor/resume',
        'POST /api/v1/events/ticket',
        'GET /api/v1/events',
        'GET /api/v1/models',
        'GET /api/v1/images',
        'GET /api/v1/images/i/{image_name}',
        'GET /api/v1/images/i/{image_name}/full',
        'GET /api/v1/images/i/{image_name}/thumbnail',
        'PATCH /api/v1/images/i/{image_name}',
        'DELETE /api/v1/images/i/{image_name}',
        'POST /api/v1/images/upload',
        'GET /api/v1/boards',
        'POST /api/v1/boards',
        'PATCH /api/v1/boards/{board_id}',
        'DELETE /api/v1/boards/{board_id}',
        'GET /api/v1/boards/{board_id}/image_names',
      ].sort(),
    );
    expect(doc.components.schemas.LoginInput.required).toEqual(['email', 'password']);
    expect(doc.components.schemas.ImageDTO.required).toEqual([
      'image_name',
      'image_url',
      'thumbnail_url',
      'width',
      'height',
      'board_id',
      'user_id',
      'queue_item_id',
      'session_id',
      'node_id',
      'is_intermediate',
      'starred',
      'metadata',
      'created_at',
    ]);
    expect(doc.components.securitySchemes.bearer).toEqual({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
  });

  it('/docs is a self-contained HTML page listing the operations and error codes', async ({ h }) => {
    const res = await h.get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    const page = await res.text();
    expect(page).toContain('<code>/api/v1/auth/login</code>');
    expect(page).toContain('id="error-rate_limited"');
    // One script, the "Try it" module from this origin (web/docs/try-it.js), and nothing from elsewhere.
    expect(page.match(/<script[^>]*>/g)).toEqual(['<script type="module" src="/assets/docs/try-it.js">']);
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' blob:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('security headers (API.md section 1)', () => {
  it.for([
    ['GET', '/health', undefined, 200],
    ['GET', '/openapi.json', undefined, 200],
    ['GET', '/api/v1/auth/status', undefined, 200],
    ['GET', '/api/v1/auth/me', undefined, 401],
    ['GET', '/nowhere', undefined, 404],
    ['POST', '/api/v1/auth/login', '{', 400],
  ] as const)(
    '%s %s (%s) answers %i with X-Content-Type-Options: nosniff',
    async ([method, path, body, status], { h }) => {
      const res = await h.request(
        method,
        path,
        body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } },
      );
      expect(res.status).toBe(status);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    },
  );
});

describe('readiness and unexpected errors', () => {
  it('/ready is 200 when every check passes', async ({ h }) => {
    const res = await h.get('/ready');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { database: true } });
  });

  it('/ready is 503 unavailable naming the failing check', async ({ onTestFinished }) => {
    const other = await createHarness(
      { onTestFinished },
      {
        deps: { readiness: () => ({ ready: false, checks: { database: true, model: false } }) },
      },
    );
    const res = await other.get('/ready');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toEqual(
      problem(res, 'unavailable', 503, 'Service unavailable', 'Not ready: model.'),
    );
  });

  it('a database that cannot be reached is 503 unavailable with Retry-After, not 500 (API.md section 1)', async ({
    onTestFinished,
  }) => {
    const away = await createHarness(
      { onTestFinished },
      {
        deps: {
          readiness: () => {
            // What Drizzle throws when PostgreSQL restarts under a statement.
            throw new DrizzleQueryError(
              'SELECT 1',
              [],
              Object.assign(new Error('terminating connection due to administrator command'), {
                code: '57P01',
              }),
            );
          },
        },
      },
    );
    const res = await away.get('/ready');
    expect([res.status, res.headers.get('retry-after')]).toEqual([503, '5']);
    expect(await res.json()).toEqual(
      problem(
        res,
        'unavailable',
        503,
        'Service unavailable',
        'The database is unavailable; try again shortly.',
      ),
    );
    expect(away.logs.filter((l) => l.msg === 'unhandled error')).toEqual([]);
  });

  it('an unknown exception is a generic 500 without a stack, logged with the request id and stack', async ({
    onTestFinished,
  }) => {
    const broken = await createHarness(
      { onTestFinished },
      {
        deps: {
          readiness: () => {
            throw new Error('secret internals exploded');
          },
        },
      },
    );
    const res = await broken.get('/ready');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual(
      problem(res, 'internal', 500, 'Internal server error', 'An unexpected error occurred.'),
    );
    expect(text).not.toContain('secret internals');
    const id = res.headers.get('x-request-id');
    const logged = broken.logs.find((l) => l.msg === 'unhandled error');
    expect(logged).toMatchObject({ level: 'error', request_id: id, error: 'secret internals exploded' });
    expect(String(logged?.stack)).toContain('app.test.ts');
    expect(broken.logs.find((l) => l.msg === 'request' && l.request_id === id)).toMatchObject({
      level: 'error',
      status: 500,
      outcome: 'error',
    });
  });

  it('a failed statement is logged without its SQL or parameter values (a password hash stays out of the log)', async ({
    onTestFinished,
  }) => {
    const secret = 'pbkdf2$600000$c2VjcmV0LXNhbHQ$c2VjcmV0LWhhc2g';
    const broken = await createHarness(
      { onTestFinished },
      {
        deps: {
          readiness: () => {
            throw new Error('replaced below');
          },
        },
      },
    );
    // A real statement that PostgreSQL refuses, with a secret among its parameters (U+0000 in text).
    const failure = await broken.db
      .execute(sql`SELECT ${secret}::text AS hash, ${'a\u0000b'}::text AS bad`)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(String((failure as Error).message)).toContain(secret); // Drizzle's message holds the parameters
    broken.deps.readiness = () => {
      throw failure;
    };
    const res = await broken.get('/ready');
    expect(res.status).toBe(500);
    const everything = JSON.stringify(broken.logs);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('SELECT');
    expect(broken.logs.find((l) => l.msg === 'unhandled error')).toMatchObject({
      level: 'error',
      request_id: res.headers.get('x-request-id'),
      error: expect.stringMatching(/^database query failed: /),
    });
  });
});
