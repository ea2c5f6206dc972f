import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.ts';

/** Everything the server sends on one raw connection until it closes it. */
function exchange(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(request);
  });
}

describe('a 413 on a kept-alive connection (API.md section 1)', () => {
  let h: Harness;
  let server: ServerType;
  beforeAll(async () => {
    h = await createHarness();
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
  });
  afterAll(async () => {
    (server as import('node:http').Server).closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await h.close();
  });

  it('answers Connection: close and closes, so the client sends its next request on a new connection', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const head = [
      'POST /api/v1/auth/login HTTP/1.1',
      'Host: 127.0.0.1',
      'Connection: keep-alive',
      'Content-Type: application/json',
      `Content-Length: ${body.length}`,
      '',
      '',
    ].join('\r\n');
    const { port } = server.address() as AddressInfo;
    // The socket's close event is what this waits on: a server keeping it open would time the test out.
    const answer = await exchange(port, Buffer.concat([Buffer.from(head), body]));
    const [status, ...lines] = answer.split('\r\n\r\n')[0]?.split('\r\n') ?? [];
    expect(status).toBe('HTTP/1.1 413 Payload Too Large');
    expect(lines.map((l) => l.toLowerCase())).toContain('connection: close');
    expect(answer.match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });
});
