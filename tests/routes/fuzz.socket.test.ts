import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { describe, expect } from 'vitest';
import { test as fileTest } from '../helpers/fixtures.ts';

interface Operation {
  operationId: string;
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: { $ref?: string; properties?: object } }> };
}
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

interface Case {
  method: string;
  path: string;
  token?: string;
  body?: string;
  type?: string;
}

/** Path and query values no route accepts as they are: NUL, broken UTF-8, surrogates, huge, hex, traversal. */
const BAD_VALUES = [
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%C3',
  '%F0%9F%98',
  'x'.repeat(5000),
  '0x10',
  '-1',
  '1e3',
  '99999999999999999999',
  '%2e%2e%2f%2e%2e',
  '%20',
  'null',
  '%F0%9F%99%82',
];

/** Raw JSON bodies: malformed, wrong top-level types, NUL and lone surrogates, deep nesting. */
const BAD_BODIES = [
  '',
  '{',
  '{"a":',
  'null',
  '[]',
  '123',
  '"text"',
  'true',
  '{"x":"\\u0000"}',
  '{"x":"\\ud800"}',
  '{"\\ud800":1}',
  '{"\\u0000":1}',
  `${'['.repeat(10000)}${']'.repeat(10000)}`,
  `${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}`,
  `{"a":"${'x'.repeat(1_200_000)}"}`,
  '\u0000',
  '{"a":1,"a":2}',
];

/** Values put into every property of a body schema, one at a time. */
const BAD_FIELDS: unknown[] = [
  null,
  -1,
  1e308,
  2 ** 53 + 1,
  true,
  '',
  '\u0000',
  'x'.repeat(20_000),
  [],
  {},
  [[[[[[]]]]]],
  { $gt: '' },
];

/** The fuzz cases of one operation: bad path values, bad query values, bad bodies, bad fields. */
function casesOf(doc: Doc, template: string, method: string, op: Operation, tokens: string[]): Case[] {
  const cases: Case[] = [];
  const params = op.parameters ?? [];
  const fill = (name: string, value: string) =>
    template.replace(/\{([^}]+)\}/g, (_, p: string) =>
      p === name ? value : p === 'queue_id' ? 'default' : 'x',
    );
  let n = 0;
  // Rotates through an admin's, a user's, no and a forged token; logout never gets a real one (it would end
  // the session the other cases use).
  const token = () => {
    const t = tokens[n++ % tokens.length];
    return op.operationId === 'logout' && t !== 'forged' ? undefined : t;
  };
  for (const p of params.filter((x) => x.in === 'path')) {
    for (const value of BAD_VALUES) {
      cases.push({ method, path: fill(p.name, value), token: token() });
      cases.push({ method, path: fill(p.name, value), token: token() });
    }
  }
  const base = fill('', '');
  for (const p of params.filter((x) => x.in === 'query')) {
    for (const value of [...BAD_VALUES, 'true', '0', '&&&', '%FF']) {
      cases.push({ method, path: `${base}?${p.name}=${value}&${p.name}=2`, token: token() });
    }
  }
  if (method === 'get') {
    cases.push({ method, path: `${base}?unknown=%00`, token: token() });
  }
  const json = op.requestBody?.content['application/json']?.schema;
  if (op.requestBody || method === 'post' || method === 'put' || method === 'patch') {
    for (const body of BAD_BODIES) {
      cases.push({ method, path: base, token: token(), body, type: 'application/json' });
    }
    cases.push({ method, path: base, token: token(), body: '{}', type: 'text/plain' });
    cases.push({
      method,
      path: base,
      token: token(),
      body: '--x\r\n\r\n--x--',
      type: 'multipart/form-data; boundary=x',
    });
  }
  const ref = json?.$ref?.split('/').pop();
  const schema = (ref ? doc.components.schemas[ref] : json) as
    | { properties?: Record<string, unknown> }
    | undefined;
  for (const field of Object.keys(schema?.properties ?? {})) {
    for (const value of BAD_FIELDS) {
      cases.push({
        method,
        path: base,
        token: token(),
        body: JSON.stringify({ [field]: value }),
        type: 'application/json',
      });
    }
  }
  return cases;
}

/** The file's test API with `origin`: the file's app served over a real socket (closed after the file). */
const it = fileTest.extend('origin', { scope: 'file' }, async ({ h }, { onCleanup }) => {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  onCleanup(async () => {
    (server as import('node:http').Server).closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

describe('fuzzing every operation of /openapi.json over real connections', () => {
  it('answers thousands of malformed requests with 4xx problems: no 5xx, no dropped connection', async ({
    h,
    origin,
  }) => {
    const doc = (await (await h.get('/openapi.json')).json()) as Doc;
    const admin = await h.createUser({ isAdmin: true });
    const user = await h.createUser();
    const tokens = [admin.token, user.token, '', 'forged'];
    const cases = Object.entries(doc.paths).flatMap(([template, ops]) =>
      Object.entries(ops).flatMap(([method, op]) => casesOf(doc, template, method, op, tokens)),
    );
    expect(cases.length).toBeGreaterThanOrEqual(2000);

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    // Eight clients on kept-alive connections, as a browser's pool would be.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < cases.length; i = next++) {
          const c = cases[i] as Case;
          const what = `${c.method.toUpperCase()} ${c.path.slice(0, 120)} ${c.body?.slice(0, 40) ?? ''}`;
          try {
            const res = await fetch(`${origin}${c.path}`, {
              method: c.method.toUpperCase(),
              headers: {
                ...(c.token ? { Authorization: `Bearer ${c.token}` } : {}),
                ...(c.type ? { 'Content-Type': c.type } : {}),
                'X-Test-Client': `fuzz-${i % 50}`,
              },
              body: c.body,
            });
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            const type = res.headers.get('content-type') ?? '';
            if (type.startsWith('text/event-stream')) {
              await res.body?.cancel();
            } else {
              await res.arrayBuffer();
            }
            if (res.status >= 500) {
              failures.push(`${what}: ${res.status}`);
            } else if (res.status >= 400 && type !== 'application/problem+json') {
              failures.push(`${what}: ${res.status} as ${type}`);
            }
          } catch (err) {
            failures.push(`${what}: ${(err as Error).message} ${String((err as Error).cause ?? '')}`);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
    // Most were refused as such (422, 401, 404, 413, 415, 400), not served.
    const refused = [...statuses].filter(([s]) => s >= 400).reduce((sum, [, count]) => sum + count, 0);
    expect(refused / cases.length).toBeGreaterThan(0.8);
  }, 120_000);
});
