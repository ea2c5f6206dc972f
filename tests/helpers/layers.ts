import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The rooms of `src/` from the bottom up, and which rooms each may import (docs/architecture.md). A file
 * imports its own room freely; `node/` and the top-level files are the edge and may import any room.
 */
export const LAYERS: Record<string, string[]> = {
  core: [],
  db: ['core'],
  runtime: ['core'],
  models: ['core'],
  images: ['core', 'db'],
  queue: ['core', 'db', 'runtime'],
  channels: ['core', 'db'],
  worker: ['core', 'db', 'queue', 'runtime', 'images', 'models'],
  services: ['core', 'db', 'queue', 'runtime', 'images', 'models'],
  http: ['core', 'db', 'queue', 'runtime', 'images', 'models', 'channels', 'services', 'deps'],
  routes: ['core', 'db', 'queue', 'runtime', 'images', 'models', 'channels', 'services', 'http', 'deps'],
  deps: ['core', 'db', 'channels', 'http'],
};

/** The room of a file under `src/`: its first folder, `deps` for deps.ts, or null for the edge. */
export function roomOf(srcRelative: string): string | null {
  if (srcRelative === 'deps.ts') {
    return 'deps';
  }
  const [first, ...rest] = srcRelative.split('/');
  if (rest.length === 0 || first === 'node' || first === undefined) {
    return null;
  }
  return first;
}

/** Every relative import (static, type-only, re-export or dynamic) of every `.ts` file under `dir`. */
export function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
      } else if (p.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)].map((m) => m[1] as string);
        graph.set(
          relative(dir, p),
          specs.map((s) => relative(dir, resolve(dirname(p), s))),
        );
      }
    }
  };
  walk(dir);
  return graph;
}

/** Imports that go up or sideways against `LAYERS`, as `from -> to`. */
export function layerViolations(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    const room = roomOf(from);
    if (room === null) {
      continue;
    }
    for (const to of targets) {
      const target = roomOf(to);
      if (target === room) {
        continue;
      }
      if (target === null || !(LAYERS[room] ?? []).includes(target)) {
        found.push(`${from} -> ${to}`);
      }
    }
  }
  return found;
}

/** Every import cycle (type-only imports included), each as the files around it. */
export function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const to of graph.get(f) ?? []) {
      if (state.get(to) === 'open') {
        cycles.push(stack.slice(stack.indexOf(to)));
      } else if (!state.has(to) && graph.has(to)) {
        visit(to);
      }
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) {
    if (!state.has(f)) {
      visit(f);
    }
  }
  return cycles;
}
