import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../src/channels/connection.ts';
import { eventBody } from '../../src/channels/frames.ts';
import { DEFAULT_REPLAY_LIMITS, ReplayBuffer, type ReplayLimits } from '../../src/channels/replay-buffer.ts';
import { UserChannel } from '../../src/channels/user-channel.ts';

const MIN = 60_000;
const T0 = 1_700_000_000_000;

const BODY = new TextEncoder().encode('event: batch_enqueued\ndata: {}\n\n');
const idLine = (seq: number) => `id: c-${seq}\n`;

/** A buffer holding events `from..to`, each published at `at(seq)` and trimmed at that moment. */
function filled(limits: ReplayLimits, to: number, at: (seq: number) => number = () => T0): ReplayBuffer {
  const buffer = new ReplayBuffer(limits);
  for (let seq = 1; seq <= to; seq++) {
    buffer.push(seq, idLine(seq), BODY, at(seq));
  }
  return buffer;
}

/** The seqs of frames, read back from their bytes (each must be the whole frame of its event). */
const seqs = (frames: Uint8Array[] | undefined) =>
  frames?.map((f) => {
    const text = new TextDecoder().decode(f);
    const seq = Number(/^id: c-(\d+)\n/.exec(text)?.[1]);
    expect(text).toBe(`${idLine(seq)}event: batch_enqueued\ndata: {}\n\n`);
    return seq;
  });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('ReplayBuffer limits (API.md §5: at least the last 1000 or 10 minutes)', () => {
  it('defaults to 1000 events, 10 minutes, at most 10,000', () => {
    expect(DEFAULT_REPLAY_LIMITS).toEqual({ minEvents: 1000, minAgeMs: 10 * MIN, maxEvents: 10_000 });
  });

  it('keeps the newest 1000 however old they are', () => {
    const buffer = filled(DEFAULT_REPLAY_LIMITS, 1500);
    buffer.trim(T0 + 60 * MIN);
    expect(buffer.size).toBe(1000);
    expect(seqs(buffer.after(500))).toEqual(range(501, 1500));
    expect(buffer.after(499)).toBeUndefined();
  });

  it('keeps every event of the last 10 minutes beyond 1000', () => {
    const buffer = filled(DEFAULT_REPLAY_LIMITS, 5000);
    buffer.trim(T0 + 10 * MIN);
    expect(buffer.size).toBe(5000);
    expect(seqs(buffer.after(0))).toEqual(range(1, 5000));
  });

  it('drops, past 1000, exactly the events older than 10 minutes', () => {
    // Ten events a second: at event 10,000 the last 10 minutes hold events 4000..10,000 (4000 is exactly
    // 10 minutes old and stays).
    const at = (seq: number) => T0 + seq * 100;
    const buffer = filled(DEFAULT_REPLAY_LIMITS, 10_000, at);
    expect(buffer.size).toBe(6001);
    expect(seqs(buffer.after(3999))).toEqual(range(4000, 10_000));
    expect(buffer.after(3998)).toBeUndefined();
    buffer.trim(at(10_000) + 1);
    expect(buffer.size).toBe(6000);
    expect(buffer.after(3999)).toBeUndefined();
  });

  it('never holds more than maxEvents, however young', () => {
    const buffer = filled(DEFAULT_REPLAY_LIMITS, 12_500);
    expect(buffer.size).toBe(10_000);
    expect(buffer.newest?.seq).toBe(12_500);
    expect(seqs(buffer.after(2500))).toEqual(range(2501, 12_500));
    expect(buffer.after(2499)).toBeUndefined();
  });

  it('holds exactly the newest max(minEvents, young) ≤ maxEvents events under a long uneven load', () => {
    const limits = { minEvents: 10, minAgeMs: 1000, maxEvents: 50 };
    const buffer = new ReplayBuffer(limits);
    const times: number[] = [];
    let now = T0;
    for (let seq = 1; seq <= 5000; seq++) {
      now += seq % 200 < 100 ? 1 : 37; // bursts, then trickles
      times.push(now);
      buffer.push(seq, idLine(seq), BODY, now);
      const young = times.slice(-60).filter((t) => now - t <= limits.minAgeMs).length;
      const held = Math.min(limits.maxEvents, Math.max(limits.minEvents, young), seq);
      expect(buffer.size).toBe(held);
      expect(seqs(buffer.after(seq - held))).toEqual(range(seq - held + 1, seq));
      if (seq > held) {
        expect(buffer.after(seq - held - 1)).toBeUndefined();
      }
    }
    expect(buffer.newest?.seq).toBe(5000);
  });
});

/** The garbage collector, exposed at run time when node was not started with --expose-gc. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) {
    return exposed;
  }
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('ReplayBuffer memory', () => {
  it('lets go of the chunks that hold only dropped frames, so they can be collected', async () => {
    const gc = collector();
    const buffer = new ReplayBuffer({ minEvents: 1, minAgeMs: 0, maxEvents: 2 });
    const body = new Uint8Array(500).fill(0x78); // about two frames a chunk at first
    const chunks: WeakRef<ArrayBufferLike>[] = [];
    let last: ArrayBufferLike | undefined;
    for (let seq = 1; seq <= 200; seq++) {
      const frame = buffer.push(seq, idLine(seq), body, T0);
      if (frame.buffer !== last) {
        last = frame.buffer;
        chunks.push(new WeakRef(frame.buffer));
      }
    }
    last = undefined;
    await new Promise((resolve) => setImmediate(resolve)); // weak refs are kept until the job ends
    gc();
    expect(chunks.length).toBeGreaterThan(5);
    const alive = chunks.filter((r) => r.deref() !== undefined).length;
    expect(alive).toBeGreaterThanOrEqual(1);
    expect(alive).toBeLessThanOrEqual(2); // the chunks of events 199 and 200
    expect(buffer.after(198)?.map((f) => f.length)).toEqual([
      idLine(199).length + 500,
      idLine(200).length + 500,
    ]);
  });

  it('refuses an event out of order', () => {
    const buffer = filled({ minEvents: 3, minAgeMs: 0, maxEvents: 5 }, 4);
    expect(() => buffer.push(6, idLine(6), BODY, T0)).toThrow(/in order/);
  });
});

describe('ReplayBuffer.after(seq)', () => {
  const limits = { minEvents: 3, minAgeMs: 0, maxEvents: 5 };

  it('is undefined while nothing is held', () => {
    const buffer = new ReplayBuffer(limits);
    expect(buffer.size).toBe(0);
    expect(buffer.newest).toBeUndefined();
    expect(buffer.after(0)).toBeUndefined();
  });

  it('returns exactly the events after seq, in order', () => {
    const buffer = filled(limits, 8); // holds 4..8
    expect(buffer.size).toBe(5);
    expect(seqs(buffer.after(3))).toEqual([4, 5, 6, 7, 8]); // the client saw 3, the oldest dropped one
    expect(seqs(buffer.after(4))).toEqual([5, 6, 7, 8]);
    expect(seqs(buffer.after(6))).toEqual([7, 8]);
    expect(seqs(buffer.after(8))).toEqual([]); // up to date
  });

  it('is undefined when an event after seq was dropped (too old)', () => {
    const buffer = filled(limits, 8);
    expect(buffer.after(2)).toBeUndefined();
    expect(buffer.after(0)).toBeUndefined();
    expect(buffer.after(-5)).toBeUndefined();
  });

  it('is undefined for a seq the buffer never reached (too new: another numbering)', () => {
    const buffer = filled(limits, 8);
    expect(buffer.after(9)).toBeUndefined();
    expect(buffer.after(1_000_000)).toBeUndefined();
  });

  it('trimming by age keeps minEvents', () => {
    const buffer = filled({ minEvents: 3, minAgeMs: 1000, maxEvents: 100 }, 10);
    expect(buffer.size).toBe(10);
    buffer.trim(T0 + 1000);
    expect(buffer.size).toBe(10);
    buffer.trim(T0 + 1001);
    expect(buffer.size).toBe(3);
    expect(seqs(buffer.after(7))).toEqual([8, 9, 10]);
    expect(buffer.after(6)).toBeUndefined();
  });
});

describe('UserChannel ids', () => {
  const limits = { minEvents: 3, minAgeMs: 0, maxEvents: 5 };

  /** A stand-in connection that records the ids of the frames written to it. */
  function recorder(): { conn: Connection; ids: string[] } {
    const ids: string[] = [];
    const conn = {
      write: (frame: Uint8Array) => {
        ids.push(/^id: (.+)$/m.exec(new TextDecoder().decode(frame))?.[1] ?? 'none');
        return true;
      },
    } as unknown as Connection;
    return { conn, ids };
  }

  it('are `<nonce>-<seq>`, increasing, and resume only within their own channel', () => {
    const channel = new UserChannel('u1', limits);
    const { conn, ids } = recorder();
    expect(channel.attach(conn, undefined)).toEqual({ fresh: true });
    for (let i = 0; i < 8; i++) {
      channel.publish(eventBody('batch_enqueued', { n: i }), T0);
    }
    const nonce = ids[0]?.split('-')[0] ?? '';
    expect(nonce).toMatch(/^[0-9a-f]{8}$/);
    expect(ids).toEqual(range(1, 8).map((n) => `${nonce}-${n}`));

    const replayOf = (id: string | undefined) => {
      const r = channel.attach(conn, id);
      return 'replay' in r
        ? r.replay.map((f) => Number(/^id: [0-9a-f]{8}-(\d+)\n/.exec(new TextDecoder().decode(f))?.[1]))
        : r;
    };
    expect(replayOf(ids[5])).toEqual([7, 8]);
    expect(replayOf(ids[7])).toEqual([]);
    expect(replayOf(ids[2])).toEqual([4, 5, 6, 7, 8]);
    expect(replayOf(ids[1])).toEqual({ resync: true }); // too old: event 3 was dropped
    expect(replayOf(`${nonce}-9`)).toEqual({ resync: true }); // too new

    // The same numbers in another channel (another user, or this user's channel before a restart).
    for (const key of ['u2', 'u1']) {
      const foreign = new UserChannel(key, limits);
      const other = recorder();
      foreign.attach(other.conn, undefined);
      for (let i = 0; i < 8; i++) {
        foreign.publish(eventBody('batch_enqueued', {}), T0);
      }
      expect(other.ids[6]).not.toBe(ids[6]);
      expect(replayOf(other.ids[6])).toEqual({ resync: true });
    }
    for (const garbage of [
      '',
      'x',
      '7',
      `${nonce}`,
      `${nonce}-`,
      `${nonce}-x`,
      ` ${nonce}-7`,
      `${nonce}-7 `,
    ]) {
      expect(replayOf(garbage)).toEqual({ resync: true });
    }
    expect(replayOf(`${nonce}-${'9'.repeat(40)}`)).toEqual({ resync: true });
    expect(replayOf(`${nonce.toUpperCase()}-7`)).toEqual(/[a-f]/.test(nonce) ? { resync: true } : [8]);
  });
});
