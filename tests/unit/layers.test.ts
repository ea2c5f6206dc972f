import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { importCycles, importGraph, LAYERS, layerViolations } from '../helpers/layers.ts';

const root = new URL('../../', import.meta.url).pathname;
const src = join(root, 'src');

describe('imports run one way, down (docs/architecture.md)', () => {
  test('no file under src/ imports a room above or beside its own', () => {
    expect(layerViolations(importGraph(src))).toEqual([]);
  });

  test('no import cycle, type-only imports included', () => {
    expect(importCycles(importGraph(src))).toEqual([]);
  });

  test('the checks find an upward import and a cycle', () => {
    const graph = new Map([
      ['core/a.ts', ['services/b.ts']],
      ['services/b.ts', ['core/a.ts']],
      ['worker/c.ts', ['worker/d.ts', 'http/types.ts']],
      ['worker/d.ts', ['worker/c.ts']],
    ]);
    expect(layerViolations(graph)).toEqual(['core/a.ts -> services/b.ts', 'worker/c.ts -> http/types.ts']);
    expect(importCycles(graph)).toEqual([
      ['core/a.ts', 'services/b.ts'],
      ['worker/c.ts', 'worker/d.ts'],
    ]);
  });
});

describe('the lint rule (biome.json) refuses exactly what the layers forbid', () => {
  test('a probe in each room importing each other room is flagged when, and only when, it goes against LAYERS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'easel-layers-'));
    try {
      copyFileSync(join(root, 'biome.json'), join(dir, 'biome.json'));
      const rooms = Object.keys(LAYERS).filter((r) => r !== 'deps');
      const targets: Record<string, string> = {
        ...Object.fromEntries(rooms.map((r) => [r, `../${r}/x.ts`])),
        deps: '../deps.ts',
        node: '../node/x.ts',
        app: '../app.ts',
        boot: '../boot.ts',
        env: '../env.ts',
      };
      const expected: string[] = [];
      for (const room of rooms) {
        mkdirSync(join(dir, 'src', room), { recursive: true });
        for (const [target, spec] of Object.entries(targets)) {
          const file = `src/${room}/probe-${target}.ts`;
          const from = target === room ? './x.ts' : spec;
          writeFileSync(join(dir, file), `import { x } from '${from}';\nexport const y = x;\n`);
          if (target !== room && !(LAYERS[room] ?? []).includes(target)) {
            expected.push(file);
          }
        }
      }
      const out = (() => {
        try {
          return execFileSync(
            join(root, 'node_modules/.bin/biome'),
            ['lint', '--reporter=json', '--max-diagnostics=none', '.'],
            {
              cwd: dir,
              stdio: ['ignore', 'pipe', 'ignore'],
            },
          ).toString();
        } catch (err) {
          return String((err as { stdout: Buffer }).stdout);
        }
      })();
      const flagged = (
        JSON.parse(out) as { diagnostics: { category: string; location: { path: string } }[] }
      ).diagnostics
        .filter((d) => d.category === 'lint/style/noRestrictedImports')
        .map((d) => d.location.path);
      expect(flagged.sort()).toEqual(expected.sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
