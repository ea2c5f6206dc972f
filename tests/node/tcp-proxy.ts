import { once } from 'node:events';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { freePort } from './spawn.ts';

/**
 * A TCP proxy to a server (PostgreSQL) that a test can cut, as a database restart or a network fault would:
 * `cut()` resets every open connection and refuses new ones; `restore()` accepts them again on the same port.
 * @example const proxy = await TcpProxy.start(5432); …DATABASE_URL on proxy.port…; await proxy.cut();
 */
export class TcpProxy {
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;

  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), targetPort);
    await proxy.restore();
    return proxy;
  }

  /** Accepts connections again (and forwards them to the target). */
  async restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
  }

  /** Resets every connection through the proxy and refuses new ones until `restore()`. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    const closed = server ? once(server, 'close') : Promise.resolve();
    server?.close();
    for (const socket of this.#sockets) {
      socket.resetAndDestroy();
    }
    await closed;
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
