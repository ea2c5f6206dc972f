import { describe, expect, it } from 'vitest';
import { ChunkPool } from '../../src/channels/chunk-pool.ts';
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

describe('ReplayBuffer memory', () => {
  const text = (frame: Uint8Array) => new TextDecoder().decode(frame);
  const frameOf = (seq: number, body: Uint8Array) => `${idLine(seq)}${text(body)}`;

  it('reuses the chunks it lets go of: a buffer at its bound stops making new ones', () => {
    const pool = new ChunkPool();
    const buffer = new ReplayBuffer({ minEvents: 1, minAgeMs: 0, maxEvents: 100 }, pool);
    const body = new Uint8Array(500).fill(0x78); // 100 frames ≈ 50 KB: spread over a few chunks
    for (let seq = 1; seq <= 1000; seq++) {
      buffer.push(seq, idLine(seq), body, T0);
    }
    const madeAtBound = pool.made;
    for (let seq = 1001; seq <= 20_000; seq++) {
      buffer.push(seq, idLine(seq), body, T0);
    }
    expect(madeAtBound).toBeGreaterThan(3);
    expect(pool.made).toBe(madeAtBound);
    expect(buffer.after(19_998)?.map(text)).toEqual([frameOf(19_999, body), frameOf(20_000, body)]);
  });

  it('hands out copies: frames sent or replayed keep their bytes after their chunk is reused', () => {
    const pool = new ChunkPool();
    const buffer = new ReplayBuffer({ minEvents: 1, minAgeMs: 0, maxEvents: 20 }, pool);
    const bodyOf = (seq: number) => new TextEncoder().encode(`data: ${String(seq).repeat(seq % 50)}\n\n`);
    const sent: Uint8Array[] = [];
    const replayed: Uint8Array[] = [];
    for (let seq = 1; seq <= 3000; seq++) {
      sent.push(buffer.push(seq, idLine(seq), bodyOf(seq), T0));
      if (seq % 100 === 0) {
        replayed.push(...(buffer.after(seq - 5) ?? []));
      }
    }
    expect(pool.made).toBeLessThan(20); // the chunks were reused many times over…
    sent.forEach((frame, i) => {
      expect(text(frame)).toBe(frameOf(i + 1, bodyOf(i + 1))); // …and not one sent frame changed
    });
    expect(replayed.map(text)).toEqual(
      range(1, 30).flatMap((n) => range(n * 100 - 4, n * 100).map((seq) => frameOf(seq, bodyOf(seq)))),
    );
  });

  it('gives every chunk back when its channel is dropped, for the next buffer to use', () => {
    const pool = new ChunkPool();
    const first = new ReplayBuffer(DEFAULT_REPLAY_LIMITS, pool);
    for (let seq = 1; seq <= 500; seq++) {
      first.push(seq, idLine(seq), BODY, T0);
    }
    const made = pool.made;
    first.dispose();
    expect(pool.freeBytes).toBeGreaterThan(500 * BODY.length);
    const second = new ReplayBuffer(DEFAULT_REPLAY_LIMITS, pool);
    for (let seq = 1; seq <= 500; seq++) {
      second.push(seq, idLine(seq), BODY, T0);
    }
    expect(pool.made).toBe(made);
    expect(seqs(second.after(497))).toEqual([498, 499, 500]);
  });

  it('cuts chunks from arenas, apart from frames too large to share one', () => {
    const KiB = 1024;
    const pool = new ChunkPool(0, 64 * KiB); // chunks up to 16 KiB share an arena
    const chunks = [pool.take(16 * KiB), pool.take(8 * KiB), pool.take(16 * KiB), pool.take(16 * KiB)];
    expect(pool.arenas).toBe(1);
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(1);
    expect(chunks.map((c) => [c.byteOffset / KiB, c.length / KiB])).toEqual([
      [0, 16],
      [16, 8],
      [24, 16],
      [40, 16],
    ]);
    const next = pool.take(16 * KiB); // 8 KiB left: a new arena
    expect([pool.arenas, next.byteOffset, next.buffer === chunks[0]?.buffer]).toEqual([2, 0, false]);
    const large = pool.take(16 * KiB + 1);
    expect([large.byteOffset, large.buffer.byteLength, pool.arenas, pool.made]).toEqual([
      0,
      16 * KiB + 1,
      2,
      6,
    ]);
  });

  it('keeps at most maxBytes of free chunks', () => {
    const pool = new ChunkPool(4096);
    pool.release(new Uint8Array(2048));
    pool.release(new Uint8Array(2048));
    pool.release(new Uint8Array(1024)); // over the bound: left to the collector
    expect(pool.freeBytes).toBe(4096);
    expect(pool.take(2048).length).toBe(2048);
    expect(pool.take(1024).length).toBe(1024);
    expect(pool.made).toBe(1);
    expect(pool.freeBytes).toBe(2048);
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
