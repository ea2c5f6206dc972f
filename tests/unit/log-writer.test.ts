import { describe, expect, it } from 'vitest';
import { batchedLineWriter } from '../../src/node/log-writer.ts';

describe('batched log lines', () => {
  it('writes the lines of one batch together, in order, and each line once', () => {
    const chunks: string[] = [];
    const scheduled: (() => void)[] = [];
    const out = batchedLineWriter({ write: (c: string) => chunks.push(c) }, (f) => scheduled.push(f));
    out.write('a');
    out.write('b');
    expect(chunks).toEqual([]);
    expect(scheduled).toHaveLength(1);
    scheduled.shift()?.();
    expect(chunks).toEqual(['a\nb\n']);
    out.write('c');
    out.flush();
    expect(chunks).toEqual(['a\nb\n', 'c\n']);
    for (const f of scheduled.splice(0)) {
      f();
    }
    expect(chunks).toEqual(['a\nb\n', 'c\n']);
  });

  it('writes at once when many lines are queued', () => {
    const chunks: string[] = [];
    const out = batchedLineWriter({ write: (c: string) => chunks.push(c) }, () => {});
    for (let i = 0; i < 512; i++) {
      out.write(String(i));
    }
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.split('\n')).toHaveLength(513);
  });
});
