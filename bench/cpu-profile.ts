/**
 * `npx tsx bench/cpu-profile.ts <file.cpuprofile> [top] [--last=<s>]`: where a V8 CPU profile (`node
 * --cpu-prof`, or `npm run bench:api -- --cpu-prof=<dir>`) spent its time. Prints self time summed by
 * function, by file (node_modules collapsed to the package) and the inclusive time of Easel's own functions
 * (`src/`), each as a share of the samples that were not idle. `--last=<s>`: only the samples of the
 * profile's last `s` seconds (with `bench:api --quick --only=<route>`, `--last=3` is the route's warm-up and
 * run, without the start-up and `/health` before them).
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const lastArg = args.find((a) => a.startsWith('--last='));
const [file, topArg] = args.filter((a) => !a.startsWith('--'));
const LAST_US = lastArg ? Number(lastArg.slice(7)) * 1e6 : Number.POSITIVE_INFINITY;
if (!file) {
  throw new Error('usage: tsx bench/cpu-profile.ts <file.cpuprofile> [top]');
}
const TOP = Number(topArg ?? 30);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  for (const child of node.children ?? []) {
    parent.set(child, node.id);
  }
}

/** `pkg` for node_modules files, the path from `src/` or `bench/` on for the project's own. */
function fileOf(url: string): string {
  if (!url) {
    return '(native)';
  }
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const own = /\/(src|bench|tests)\/.*$/.exec(url);
  return own ? own[0].slice(1) : url.replace(/^file:\/\//, '');
}

const frameName = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${fileOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
const files = new Map<string, number>();
const inclusive = new Map<string, number>();
let busy = 0;
let idle = 0;
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

const times: number[] = [];
let t = 0;
for (const dt of profile.timeDeltas) {
  t += dt;
  times.push(t);
}
const since = t - LAST_US;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i] as number);
  const dt = profile.timeDeltas[i] ?? 0;
  if (!node || (times[i] as number) < since) {
    continue;
  }
  if (node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(program)') {
    idle += node.callFrame.functionName === '(idle)' ? dt : 0;
    if (node.callFrame.functionName === '(idle)') {
      continue;
    }
  }
  busy += dt;
  add(self, frameName(node), dt);
  add(files, fileOf(node.callFrame.url), dt);
  // Inclusive time of the project's own functions, each counted once per sample.
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id) as ProfileNode;
    const f = fileOf(n.callFrame.url);
    if (f.startsWith('src/')) {
      const name = frameName(n);
      if (!seen.has(name)) {
        seen.add(name);
        add(inclusive, name, dt);
      }
    }
  }
}

function print(title: string, m: Map<string, number>) {
  console.log(`\n## ${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(
      `${((100 * v) / busy).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`,
    );
  }
}

console.log(`busy ${(busy / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
print('self time by function', self);
print('self time by file or package', files);
print('inclusive time of src/ functions', inclusive);
