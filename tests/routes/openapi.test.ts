import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect } from 'vitest';
import { test as fileTest } from '../helpers/fixtures.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import type { RequestOptions } from '../helpers/harness.ts';
import { imageFile, upload } from '../helpers/images.ts';

/** The file's test API with `source`, the OpenAPI document as served. */
const test = fileTest.extend('source', { scope: 'file' }, async ({ h }) =>
  (await h.get('/openapi.json')).text(),
);
const it = test;

describe('the OpenAPI document', () => {
  it("passes redocly's recommended rules: no error, and no warning but the missing licence", async ({
    source,
  }) => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source, absoluteRef: 'openapi.json', config });
    const found = problems.map(
      (p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}`,
    );
    // The project has not chosen a licence, and the document does not invent one; liveness, readiness and the
    // set-up status answer no 4xx of their own.
    expect(found).toEqual([
      'warn info-license #/info: Info object should contain `license` field.',
      ...['/health', '/ready', '/api/v1/auth/status'].map(
        (path) =>
          `warn operation-4xx-response #/paths/${path.replaceAll('/', '~1')}/get/responses: Operation must have at least one \`4XX\` response.`,
      ),
    ]);
  });
});

type Doc = {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
};

/**
 * Checks a response against the document: its status is documented for the operation, its content type is one
 * the status declares, and a JSON body validates against the declared schema. Returns what it checked.
 */
function checker(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const seen = new Set<string>();
  return {
    seen,
    async check(method: string, url: string, res: Response): Promise<string[]> {
      const path = new URL(url, 'http://x').pathname;
      // The most specific template: fewest parameters (`/images/upload` before `/images/i/{name}`).
      const match = templates
        .filter((t) => t.pattern.test(path))
        .sort((a, b) => a.template.split('{').length - b.template.split('{').length)[0];
      const op = match ? doc.paths[match.template]?.[method.toLowerCase()] : undefined;
      if (!match || !op) {
        return [`${method} ${path}: not in the document`];
      }
      seen.add(`${method} ${match.template}`);
      const documented = op.responses[String(res.status)];
      if (!documented) {
        return [`${method} ${match.template}: status ${res.status} not documented`];
      }
      const type = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
      if (res.status === 204 || !documented.content) {
        return documented.content
          ? []
          : type === ''
            ? []
            : [`${method} ${match.template}: ${type} body undocumented`];
      }
      const media = documented.content[type];
      if (!media) {
        return [`${method} ${match.template} ${res.status}: content type ${type} not documented`];
      }
      if (!type.endsWith('json')) {
        return [];
      }
      const validate = ajv.compile({ ...media.schema, components: doc.components });
      const body = await res.clone().json();
      return validate(body)
        ? []
        : [
            `${method} ${match.template} ${res.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`,
          ];
    },
  };
}

describe('responses of a session', () => {
  it('every response of a session over every operation matches the document (status, type, schema)', async ({
    h,
    source,
  }) => {
    const doc = JSON.parse(source) as Doc;
    const { check, seen } = checker(doc);
    const failures: string[] = [];
    const call = async (method: string, url: string, o: RequestOptions = {}) => {
      const res = await h.request(method, url, o);
      failures.push(...(await check(method, url, res)));
      return res;
    };
    const admin = await h.createUser({ isAdmin: true });
    const alice = await h.createUser();
    const A = { token: admin.token };
    const U = { token: alice.token };

    await call('GET', '/health');
    await call('GET', '/ready');
    await call('GET', '/metrics', A);
    await call('GET', '/metrics', U);
    await call('GET', '/api/v1/auth/status');
    await call('POST', '/api/v1/auth/setup', {
      json: { email: 'x@example.com', password: 'long enough 123' },
    });
    await call('POST', '/api/v1/auth/login', { json: { email: alice.user.email, password: alice.password } });
    await call('POST', '/api/v1/auth/login', {
      json: { email: alice.user.email, password: 'wrong password' },
    });
    await call('POST', '/api/v1/auth/login', { json: { email: 1 } });
    await call('GET', '/api/v1/auth/me', U);
    await call('GET', '/api/v1/auth/me');
    await call('PATCH', '/api/v1/auth/me', { ...U, json: { display_name: 'Alice' } });
    await call('PATCH', '/api/v1/auth/me', { ...U, json: {} });

    await call('GET', '/api/v1/users', A);
    await call('GET', '/api/v1/users', U);
    const bob = (await (
      await call('POST', '/api/v1/users', {
        ...A,
        json: { email: 'bob@example.com', password: 'bob password 1' },
      })
    ).json()) as { user_id: string };
    await call('GET', `/api/v1/users/${bob.user_id}`, A);
    await call('GET', '/api/v1/users/nobody', A);
    await call('PATCH', `/api/v1/users/${bob.user_id}`, { ...A, json: { display_name: 'Bob' } });
    await call('GET', '/api/v1/audit?limit=5', A);
    await call('GET', '/api/v1/workers', A);
    await call('GET', '/api/v1/models', U);

    const Q = '/api/v1/queue/default';
    const batch = (await (
      await call('POST', `${Q}/enqueue_batch`, {
        ...U,
        json: { batch: { graph: textToImageGraph(), runs: 3, destination: 'canvas' } },
      })
    ).json()) as { batch: { batch_id: string }; item_ids: [number, number, number] };
    const [first, second, third] = batch.item_ids;
    await call('POST', `${Q}/enqueue_batch`, { ...U, json: { batch: { graph: {}, runs: 0 } } });
    await call('GET', `${Q}/list?limit=2`, U);
    await call('GET', `${Q}/list_all?user=me`, U);
    await call('GET', `${Q}/i/${first}`, U);
    await call('GET', `${Q}/i/${first}`, { token: (await h.createUser()).token });
    await call('GET', `${Q}/i/0x10`, U);
    await call('POST', `${Q}/items_by_ids`, { ...U, json: { item_ids: [first, second] } });
    await call('GET', `${Q}/current`, U);
    await call('GET', `${Q}/next`, U);
    await call('GET', `${Q}/status`, U);
    await call('GET', `${Q}/b/${batch.batch.batch_id}/status`, U);
    await call('GET', `${Q}/counts_by_destination?destination=canvas`, U);
    await call('PUT', `${Q}/processor/pause`, A);
    await call('PUT', `${Q}/processor/resume`, A);
    await call('PUT', `${Q}/processor/pause`, U);
    await call('PUT', `${Q}/i/${first}/cancel`, U);
    await call('PUT', `${Q}/retry_items_by_id`, { ...U, json: [first] });
    await call('PUT', `${Q}/cancel_by_batch_ids`, { ...U, json: { batch_ids: [batch.batch.batch_id] } });
    await call('PUT', `${Q}/i/${third}/owner`, { ...A, json: { user_id: bob.user_id } });
    await call('PUT', `${Q}/cancel_all_except_current`, U);
    await call('DELETE', `${Q}/i/${second}`, U);
    await call('PUT', `${Q}/prune`, U);
    await call('PUT', `${Q}/clear`, A);

    const board = (await (
      await call('POST', '/api/v1/boards', { ...U, json: { board_name: 'Cubes' } })
    ).json()) as {
      board_id: string;
    };
    await call('GET', '/api/v1/boards', U);
    await call('PATCH', `/api/v1/boards/${board.board_id}`, { ...U, json: { board_name: 'Spheres' } });
    const uploadRes = await upload(h, alice.token, await imageFile('png'), { boardId: board.board_id });
    failures.push(...(await check('POST', '/api/v1/images/upload', uploadRes)));
    const image = (await uploadRes.json()) as { image_name: string };
    await call('POST', '/api/v1/images/upload', { ...U, body: new FormData() });
    await call('GET', '/api/v1/images?limit=5', U);
    await call('GET', `/api/v1/images/i/${image.image_name}`, U);
    await call('GET', `/api/v1/images/i/${image.image_name}`, A);
    await call('GET', `/api/v1/images/i/${image.image_name}/full`, U);
    await call('GET', `/api/v1/images/i/${image.image_name}/thumbnail`, U);
    await call('GET', `/api/v1/images/i/${image.image_name}/full`, { token: 'not-a-token' });
    await call('PATCH', `/api/v1/images/i/${image.image_name}`, { ...U, json: { starred: true } });
    await call('PATCH', `/api/v1/images/i/${image.image_name}`, { ...U, json: {} });
    await call('GET', `/api/v1/boards/${board.board_id}/image_names`, U);
    await call('DELETE', `/api/v1/images/i/${image.image_name}`, U);
    await call('DELETE', `/api/v1/boards/${board.board_id}?delete_images=true`, U);
    await call('POST', '/api/v1/events/ticket', U);
    await call('DELETE', `/api/v1/users/${bob.user_id}`, A);
    await call('POST', '/api/v1/auth/logout', U);
    await call('GET', '/api/v1/auth/me', U);

    expect(failures).toEqual([]);
    // Every operation but the event stream (its frames are checked in tests/routes/events*.test.ts) was called.
    const all = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(all.filter((op) => !seen.has(op)).sort()).toEqual(['GET /api/v1/events']);
  });
});
