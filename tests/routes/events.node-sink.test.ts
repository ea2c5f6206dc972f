import type { AddressInfo } from 'node:net';
import { connect as tcpConnect } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { describe, expect } from 'vitest';
import { createApp } from '../../src/app.ts';
import { nodeStreamSinks } from '../../src/node/response-sink.ts';
import { harnessTest } from '../helpers/fixtures.ts';
import type { TestUser } from '../helpers/harness.ts';
import { SseReader } from '../helpers/sse.ts';

// Node's response sink must answer exactly what the portable `ReadableStream` body answers: the same status
// line, headers (request id, CORS, SSE) and chunked bytes. Both apps share one harness (one hub, one
// database) and are read by a raw HTTP/1.1 client, so nothing is normalised but the date, the request id
// and the connection id.
const ORIGIN = 'http://ui.example';

async function listen(
  servers: ServerType[],
  fetch: (req: Request, env: unknown) => Response | Promise<Response>,
) {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

/**
 * The file's test API with `user` and `ports`: the harness's app served twice over real sockets, once with
 * the portable body and once with Node's sink (both closed after the file).
 */
const it = harnessTest({ config: { corsOrigins: [ORIGIN] } })
  .extend('user', { scope: 'file' }, ({ h }) => h.createUser())
  .extend('ports', { scope: 'file' }, async ({ h, user: _user }, { onCleanup }) => {
    const servers: ServerType[] = [];
    onCleanup(async () => {
      for (const s of servers) {
        (s as import('node:http').Server).closeAllConnections();
      }
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    });
    const portable = await listen(servers, h.app.fetch);
    const node = await listen(servers, createApp({ ...h.deps, streamSinks: nodeStreamSinks() }).fetch);
    return { portable, node };
  });

/** The chunked body's payload so far, or undefined while a chunk is incomplete. */
function dechunk(raw: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) {
      return out;
    }
    const size = Number.parseInt(raw.slice(at, eol), 16);
    if (size === 0 || raw.length < eol + 2 + size + 2) {
      return out;
    }
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/**
 * Sends a raw GET and reads the response until its de-chunked body holds `frames` complete SSE frames (or the
 * response ends); returns the raw bytes with the date, request id and connection id normalised.
 */
function rawGet(port: number, path: string, headers: Record<string, string>, frames: number) {
  return new Promise<{ raw: string; body: string; requestId: string; ended: boolean }>((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let raw = '';
    let done = false;
    const finish = (ended: boolean) => {
      if (done) {
        return;
      }
      done = true;
      socket.destroy();
      resolve({
        raw: raw
          .replace(/^date: .*$/im, 'date: <date>')
          .replace(/^x-request-id: .*$/im, 'x-request-id: <id>')
          .replace(/"connection_id":"[^"]+"/, '"connection_id":"<id>"'),
        body: dechunk(raw.slice(raw.indexOf('\r\n\r\n') + 4)),
        requestId: /^x-request-id: (.*)\r$/im.exec(raw)?.[1] ?? '',
        ended,
      });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      raw += chunk;
      if (raw.endsWith('\r\n0\r\n\r\n')) {
        finish(true); // the last chunk: the response is over (the socket stays open for keep-alive)
        return;
      }
      const split = raw.indexOf('\r\n\r\n');
      if (split >= 0 && dechunk(raw.slice(split + 4)).split('\n\n').length - 1 >= frames) {
        finish(false);
      }
    });
    socket.on('end', () => finish(true));
    socket.on('error', reject);
    const lines = Object.entries({ Host: `127.0.0.1:${port}`, ...headers }).map(([k, v]) => `${k}: ${v}`);
    socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
  });
}

describe("Node's response sink answers what the portable stream answers", () => {
  it('the same status, headers and bytes: fresh, anonymous, a replay, a resync; logged and counted', async ({
    h,
    user,
    ports,
  }) => {
    // A tab kept open in-process holds the channel while 3 events are published, and gives their ids.
    const tab = await h.get('/api/v1/events', { token: user.token });
    const sse = new SseReader(tab.body);
    for (let i = 0; i < 3; i++) {
      h.channels.publish({
        name: 'batch_enqueued',
        queueId: 'default',
        ownerId: user.user.user_id,
        data: { batch_id: `b${i}`, user_id: user.user.user_id },
      });
    }
    // …and the queue_status that follows them (coalesced, on a timer), so nothing arrives in between.
    const tabFrames = await sse.until((f) => f.some((x) => x.event === 'queue_status'));
    const ids = tabFrames.filter((f) => f.event === 'batch_enqueued').map((f) => f.id as string);
    expect(ids).toHaveLength(3);

    const auth = { Authorization: `Bearer ${user.token}`, Origin: ORIGIN };
    const cases: [string, Record<string, string>, number][] = [
      ['/api/v1/events', auth, 2],
      ['/api/v1/events', { Origin: ORIGIN }, 2],
      ['/api/v1/events', { ...auth, 'Last-Event-ID': ids[0] as string }, 5],
      ['/api/v1/events?last_event_id=nope', auth, 3],
    ];
    const heads: string[] = [];
    const bodies: string[] = [];
    for (const [path, headers, frames] of cases) {
      const portable = await rawGet(ports.portable, path, headers, frames);
      const node = await rawGet(ports.node, path, headers, frames);
      expect(node.raw).toBe(portable.raw);
      expect(node.ended).toBe(false);
      heads.push(node.raw);
      bodies.push(node.body);
      for (const { requestId } of [portable, node]) {
        expect(h.logs).toContainEqual(
          expect.objectContaining({
            msg: 'request',
            request_id: requestId,
            route: '/api/v1/events',
            status: 200,
          }),
        );
      }
    }
    expect(heads[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    for (const header of [
      'content-type: text/event-stream; charset=utf-8',
      'cache-control: no-cache, no-transform',
      'x-accel-buffering: no',
      `access-control-allow-origin: ${ORIGIN}`,
      'access-control-expose-headers: X-Refreshed-Token,X-Request-Id',
      'vary: Origin',
      'x-request-id: <id>',
      'Transfer-Encoding: chunked',
    ]) {
      expect(heads[0]).toContain(`\r\n${header}\r\n`);
    }
    expect(bodies[2]).toContain(`id: ${ids[1]}\nevent: batch_enqueued\n`);
    expect(bodies[2]).toContain(`id: ${ids[2]}\nevent: batch_enqueued\n`);
    expect(bodies[2]).not.toContain(`id: ${ids[0]}\n`);
    expect(bodies[3]).toContain('event: resync\ndata: {"reason":"history_unavailable"}\n\n');
    const metrics = h.deps.metrics.render();
    expect(metrics).toContain(
      'easel_http_requests_total{method="GET",route="/api/v1/events",status="200"} 9',
    );
    await sse.close();
  });

  it('the same end: auth_expired, then the terminating chunk', async ({ h, ports }) => {
    const ending = [await h.createUser(), await h.createUser()];
    const raws: string[] = [];
    for (const [i, port] of [ports.portable, ports.node].entries()) {
      const who = ending[i] as TestUser;
      const before = h.channels.stats().connections;
      const reading = rawGet(port, '/api/v1/events', { Authorization: `Bearer ${who.token}` }, Infinity);
      while (h.channels.stats().connections === before) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      h.channels.closeUser(who.user.user_id);
      const { raw, body, ended } = await reading;
      expect(ended).toBe(true);
      expect(body).toMatch(/\n\nevent: auth_expired\ndata: \{"reason":"token_revoked"\}\n\n$/);
      expect(raw.endsWith('\r\n0\r\n\r\n')).toBe(true);
      raws.push(raw.replace(who.user.user_id, '<user>'));
    }
    expect(raws[1]).toBe(raws[0]);
  });

  it('the same answer to a stream revoked between its authentication and its start', async ({ h, ports }) => {
    // The hub remembers a revocation for a minute: a request that authenticated just before it (the
    // database did not know yet) is answered with the frames that say why, then the end.
    const late = [await h.createUser(), await h.createUser()];
    const raws: string[] = [];
    for (const [i, port] of [ports.portable, ports.node].entries()) {
      const who = late[i] as TestUser;
      h.channels.closeUser(who.user.user_id);
      const { raw, body, ended } = await rawGet(
        port,
        '/api/v1/events',
        { Authorization: `Bearer ${who.token}` },
        Infinity,
      );
      expect(ended).toBe(true);
      expect(body.replace(/"connection_id":"[^"]+"/, '"connection_id":"<id>"')).toBe(
        `retry: 3000\n\nevent: connected\ndata: {"connection_id":"<id>","user_id":"${who.user.user_id}","is_admin":false}\n\n` +
          'event: auth_expired\ndata: {"reason":"token_revoked"}\n\n',
      );
      raws.push(raw.replace(who.user.user_id, '<user>'));
    }
    expect(raws[1]).toBe(raws[0]);
  });
});
