/**
 * The connections of the SSE benchmark, in a process of their own: up to 10,000 event-stream readers (raw
 * TCP sockets speaking HTTP/1.1, de-chunking and splitting SSE frames by hand, the cheapest reader there is)
 * or Socket.IO clients (socket.io-client, WebSocket transport only). Each delivery's latency is this
 * process's clock minus the event's `sent_at`. Only 127.0.0.1. Started by bench/sse.ts; see bench/README.md.
 */
import { connect, type Socket } from 'node:net';
import { type Socket as IoSocket, io } from 'socket.io-client';
import {
  type ClientStats,
  type ConnectResult,
  clock,
  EVENT_NAME,
  EVENT_PATH,
  type Kind,
  percentileSorted,
  type SioClient,
  serve,
} from './sse-protocol.ts';

const HOST = '127.0.0.1';
/** Connection attempts in flight at once. */
const CONNECT_CONCURRENCY = 200;
const CONNECT_TIMEOUT_MS = 20_000;

// ---- the samples ---------------------------------------------------------------------------------------
const CAPACITY = 4_000_000;
const sentAt = new Float64Array(CAPACITY);
const latency = new Float64Array(CAPACITY);
let samples = 0;
let lastDeliveryAt = 0;

function record(sent: number): void {
  const now = clock();
  lastDeliveryAt = now;
  if (samples < CAPACITY) {
    sentAt[samples] = sent;
    latency[samples] = now - sent;
    samples++;
  }
}

// ---- one SSE reader ------------------------------------------------------------------------------------
const SENT_AT = '"sent_at":';

class SseReader {
  readonly socket: Socket;
  open = false;
  closed = false;
  #head = '';
  #headDone = false;
  /** Bytes left in the current chunk; -1 while reading a chunk-size line. */
  #remaining = -1;
  #sizeLine = '';
  #skip = 0;
  #text = '';
  #onConnected: ((err?: Error) => void) | undefined;

  constructor(port: number, token: string, onConnected: (err?: Error) => void, onClose: () => void) {
    this.#onConnected = onConnected;
    this.socket = connect({ host: HOST, port });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${EVENT_PATH} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nAccept: text/event-stream\r\n` +
          `Authorization: Bearer ${token}\r\n\r\n`,
      );
    });
    this.socket.on('data', (buf: Buffer) => this.#onData(buf.toString('latin1')));
    this.socket.on('error', (err) => this.#settle(err));
    this.socket.on('close', () => {
      this.closed = true;
      this.#settle(new Error('closed before connected'));
      if (this.open) {
        this.open = false;
        onClose();
      }
    });
  }

  #settle(err?: Error): void {
    const cb = this.#onConnected;
    this.#onConnected = undefined;
    cb?.(err);
  }

  #onData(data: string): void {
    let s = data;
    let i = 0;
    if (!this.#headDone) {
      this.#head += s;
      const end = this.#head.indexOf('\r\n\r\n');
      if (end < 0) {
        return;
      }
      if (!this.#head.startsWith('HTTP/1.1 200')) {
        this.#settle(new Error(this.#head.split('\r\n')[0]));
        this.socket.destroy();
        return;
      }
      this.#headDone = true;
      s = this.#head.slice(end + 4);
      this.#head = '';
    }
    // Chunked transfer coding.
    let body = '';
    while (i < s.length) {
      if (this.#skip > 0) {
        i++;
        this.#skip--;
      } else if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, s.length - i);
        body += take === s.length && i === 0 ? s : s.slice(i, i + take);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.#remaining = -1;
          this.#skip = 2;
        }
      } else {
        const nl = s.indexOf('\n', i);
        if (nl < 0) {
          this.#sizeLine += s.slice(i);
          break;
        }
        const size = Number.parseInt(this.#sizeLine + s.slice(i, nl), 16);
        this.#sizeLine = '';
        i = nl + 1;
        if (size === 0) {
          this.socket.destroy();
          return;
        }
        this.#remaining = size;
      }
    }
    if (body === '') {
      return;
    }
    // SSE frames end with a blank line.
    let text = this.#text === '' ? body : this.#text + body;
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      this.#frame(text, end);
      text = text.slice(end + 2);
      end = text.indexOf('\n\n');
    }
    this.#text = text;
  }

  /** One frame: text[0..end). */
  #frame(text: string, end: number): void {
    const at = text.indexOf(SENT_AT);
    if (at >= 0 && at < end) {
      record(Number.parseFloat(text.slice(at + SENT_AT.length, text.indexOf(',', at))));
    } else if (!this.open && text.startsWith('event: connected')) {
      this.open = true;
      this.#settle();
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- one Socket.IO reader on the wire ------------------------------------------------------------------
const SENT_AT_BYTES = Buffer.from(SENT_AT);

/**
 * A Socket.IO client reduced to what this run needs, as cheap per message as the SSE reader: a WebSocket
 * (RFC 6455) on a raw TCP socket, Engine.IO 4 (`0` open, `2` ping → `3` pong, `4` message) and Socket.IO 5
 * (`40{auth}` connect, `42[name, data]` event). The main comparison reads Socket.IO with it, so that both
 * protocols are read at the same client cost and what is compared is the servers.
 */
class SioWireReader {
  readonly socket: Socket;
  open = false;
  #head = '';
  #upgraded = false;
  #buf: Buffer = Buffer.alloc(0);
  #onConnected: ((err?: Error) => void) | undefined;
  readonly #token: string;

  constructor(port: number, token: string, onConnected: (err?: Error) => void, onClose: () => void) {
    this.#onConnected = onConnected;
    this.#token = token;
    this.socket = connect({ host: HOST, port });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64');
      this.socket.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${HOST}:${port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    this.socket.on('data', (buf: Buffer) => this.#onData(buf));
    this.socket.on('error', (err) => this.#settle(err));
    this.socket.on('close', () => {
      this.#settle(new Error('closed before connected'));
      if (this.open) {
        this.open = false;
        onClose();
      }
    });
  }

  #settle(err?: Error): void {
    const cb = this.#onConnected;
    this.#onConnected = undefined;
    cb?.(err);
  }

  /** Sends a text frame (client frames are masked; a zero mask keeps the payload as is). */
  #send(text: string): void {
    const payload = Buffer.from(text);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255]);
    this.socket.write(Buffer.concat([head, Buffer.alloc(4), payload]));
  }

  #onData(data: Buffer): void {
    let buf = data;
    if (!this.#upgraded) {
      this.#head += buf.toString('latin1');
      const end = this.#head.indexOf('\r\n\r\n');
      if (end < 0) {
        return;
      }
      if (!this.#head.startsWith('HTTP/1.1 101')) {
        this.#settle(new Error(this.#head.split('\r\n')[0]));
        this.socket.destroy();
        return;
      }
      this.#upgraded = true;
      buf = Buffer.from(this.#head.slice(end + 4), 'latin1');
      this.#head = '';
    }
    if (this.#buf.length > 0) {
      buf = Buffer.concat([this.#buf, buf]);
    }
    let i = 0;
    while (buf.length - i >= 2) {
      const opcode = (buf[i] as number) & 0x0f;
      let len = (buf[i + 1] as number) & 0x7f;
      let at = i + 2;
      if (len === 126) {
        if (buf.length - i < 4) {
          break;
        }
        len = buf.readUInt16BE(i + 2);
        at = i + 4;
      } else if (len === 127) {
        if (buf.length - i < 10) {
          break;
        }
        len = Number(buf.readBigUInt64BE(i + 2));
        at = i + 10;
      }
      if (buf.length < at + len) {
        break;
      }
      if (opcode === 1) {
        this.#message(buf, at, at + len);
      } else if (opcode === 8) {
        this.socket.destroy();
        return;
      }
      i = at + len;
    }
    this.#buf = i < buf.length ? buf.subarray(i) : Buffer.alloc(0);
  }

  /** One Engine.IO packet: buf[start..end). */
  #message(buf: Buffer, start: number, end: number): void {
    const type = buf[start];
    if (type === 0x34 /* 4: message */ && buf[start + 1] === 0x32 /* 2: event */) {
      const at = buf.indexOf(SENT_AT_BYTES, start);
      if (at >= 0 && at < end) {
        const from = at + SENT_AT_BYTES.length;
        let to = from;
        while (to < end && buf[to] !== 0x2c && buf[to] !== 0x7d) {
          to++;
        }
        record(Number.parseFloat(buf.toString('latin1', from, to)));
      }
    } else if (type === 0x32 /* 2: ping */) {
      this.#send('3');
    } else if (type === 0x30 /* 0: open */) {
      this.#send(`40${JSON.stringify({ token: this.#token })}`);
    } else if (type === 0x34 && buf[start + 1] === 0x30 /* 40: connected */ && !this.open) {
      this.open = true;
      this.#settle();
    } else if (type === 0x34 && buf[start + 1] === 0x34 /* 44: connect error */) {
      this.#settle(new Error(buf.toString('latin1', start, end)));
      this.socket.destroy();
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- the connections -----------------------------------------------------------------------------------
interface Conn {
  open: boolean;
  close(): void;
}
let conns: (Conn | undefined)[] = [];
let plan: { kind: Kind; port: number; tokens: string[]; userOf: number[]; sioClient: SioClient } | undefined;
let openCount = 0;

function openOne(i: number): Promise<Conn> {
  if (!plan) {
    throw new Error('no plan');
  }
  const { kind, port, tokens, userOf, sioClient } = plan;
  const token = tokens[userOf[i] ?? 0] ?? '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
    if (kind === 'socketio' && sioClient === 'library') {
      const socket: IoSocket = io(`http://${HOST}:${port}`, {
        transports: ['websocket'],
        auth: { token },
        reconnection: false,
        forceNew: true,
        timeout: CONNECT_TIMEOUT_MS,
      });
      const conn: Conn = { open: false, close: () => socket.disconnect() };
      socket.on(EVENT_NAME, (data: { sent_at: number }) => record(data.sent_at));
      socket.once('connect', () => {
        clearTimeout(timer);
        conn.open = true;
        openCount++;
        resolve(conn);
      });
      socket.once('connect_error', (err) => {
        clearTimeout(timer);
        socket.disconnect();
        reject(err);
      });
      socket.on('disconnect', () => {
        if (conn.open) {
          conn.open = false;
          openCount--;
        }
      });
    } else {
      const Reader = kind === 'socketio' ? SioWireReader : SseReader;
      const reader: SseReader | SioWireReader = new Reader(
        port,
        token,
        (err) => {
          clearTimeout(timer);
          if (err) {
            reader.close();
            reject(err);
          } else {
            openCount++;
            resolve(reader);
          }
        },
        () => openCount--,
      );
    }
  });
}

/** Opens every planned connection that is not open, CONNECT_CONCURRENCY at a time. */
async function connectAll(): Promise<ConnectResult> {
  const started = clock();
  const todo: number[] = [];
  for (let i = 0; i < (plan?.userOf.length ?? 0); i++) {
    if (!conns[i]?.open) {
      conns[i]?.close();
      todo.push(i);
    }
  }
  let failed = 0;
  const errors = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const i = todo[next++] as number;
      try {
        conns[i] = await openOne(i);
      } catch (err) {
        failed++;
        errors.add(String((err as Error).message ?? err));
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  return { open: openCount, failed, ms: clock() - started, errors: [...errors].slice(0, 5) };
}

/** Waits until the window's deliveries are all in (or `waitMs` passed), then summarises them. */
async function collect(t0: number, t1: number, expected: number, waitMs: number): Promise<ClientStats> {
  const deadline = clock() + waitMs;
  const inWindow = () => {
    let n = 0;
    for (let k = 0; k < samples; k++) {
      const s = sentAt[k] as number;
      if (s >= t0 && s < t1) {
        n++;
      }
    }
    return n;
  };
  let n = inWindow();
  while (n < expected && clock() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = inWindow();
  }
  // Then wait for quiet (no delivery for 150 ms), so the next level starts from an idle server.
  while (clock() - lastDeliveryAt < 150 && clock() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const lat = new Float64Array(n);
  let j = 0;
  for (let k = 0; k < samples && j < n; k++) {
    const s = sentAt[k] as number;
    if (s >= t0 && s < t1) {
      lat[j++] = latency[k] as number;
    }
  }
  if (process.env.BENCH_SSE_DEBUG) {
    // Worst latency per 100 ms of send time, to see whether a bad p99 is one stall or a steady backlog.
    const worst = new Map<number, number>();
    for (let k = 0; k < samples; k++) {
      const b = Math.floor(((sentAt[k] as number) - t0) / 100);
      worst.set(b, Math.max(worst.get(b) ?? 0, latency[k] as number));
    }
    const line = [...worst.entries()].sort((a, b) => a[0] - b[0]).map(([b, w]) => `${b}:${w.toFixed(0)}`);
    console.error(`[clients] worst latency per 100 ms (from t0): ${line.join(' ')}`);
  }
  lat.sort();
  const cpu = process.cpuUsage(cpuAtReset);
  return {
    received: j,
    p50: percentileSorted(lat, j, 50),
    p99: percentileSorted(lat, j, 99),
    max: j > 0 ? (lat[j - 1] as number) : Number.NaN,
    open: openCount,
    cpuMs: (cpu.user + cpu.system) / 1000,
    missing: Math.max(0, expected - j),
  };
}

let cpuAtReset = process.cpuUsage();

serve(async (req) => {
  switch (req.type) {
    case 'connect': {
      if (!plan || plan.port !== req.port) {
        for (const c of conns) {
          c?.close();
        }
        conns = [];
        openCount = 0;
      }
      plan = {
        kind: req.kind,
        port: req.port,
        tokens: req.tokens,
        userOf: req.userOf,
        sioClient: req.sioClient,
      };
      return connectAll();
    }
    case 'clock':
      return clock();
    case 'count':
      return openCount;
    case 'reset':
      samples = 0;
      cpuAtReset = process.cpuUsage();
      return null;
    case 'collect':
      return collect(req.t0, req.t1, req.expected, req.waitMs);
    case 'exit':
      for (const c of conns) {
        c?.close();
      }
      setTimeout(() => process.exit(0), 200);
      return null;
    default:
      throw new Error(`client: unexpected ${req.type}`);
  }
});
process.send?.({ ready: true });
