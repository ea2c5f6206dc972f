import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

/** Every `.ts` file under `tests/`, relative to the repository root. */
function testSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else if (e.name.endsWith('.ts')) {
        out.push(relative(root, p));
      }
    }
  };
  walk(join(root, 'tests'));
  return out.sort();
}

/** The names a file declares with `let` at its top level: state its tests would share (docs/testing.md). */
function fileLevelLets(source: string): string[] {
  return [...source.matchAll(/^let\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1] as string);
}

describe('test files keep no state at file level (docs/testing.md)', () => {
  test('no file under tests/ declares a top-level let', () => {
    const found = testSources()
      .map((f) => [f, fileLevelLets(readFileSync(join(root, f), 'utf8'))] as const)
      .filter(([, lets]) => lets.length > 0);
    expect(found).toEqual([]);
  });

  test('the check finds a top-level let and ignores indented ones', () => {
    expect(
      fileLevelLets('let h: Harness;\nlet alice = 1;\ndescribe("x", () => {\n  let inner = 2;\n});\n'),
    ).toEqual(['h', 'alice']);
  });
});
