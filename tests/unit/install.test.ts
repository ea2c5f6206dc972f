import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('a quiet npm ci (npm 11 allowScripts)', () => {
  test('every dependency with an install script has a decision in allowScripts; only deno may run', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = [
      ...new Set(
        Object.entries(lock.packages)
          .filter(([, p]) => p.hasInstallScript)
          .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)),
      ),
    ].sort();
    const { allowScripts } = JSON.parse(read('package.json')) as { allowScripts: Record<string, boolean> };
    // onnxruntime-node's script downloads CUDA libraries (no network here); esbuild's and protobufjs's only
    // check. deno's links its platform binary in place of the Node shim (no download): without it, a
    // signal sent to `node_modules/.bin/deno` stops the shim and not the server (tests/unit/deno.test.ts).
    expect(allowScripts).toEqual(Object.fromEntries(withScripts.map((name) => [name, name === 'deno'])));
  });

  test('.npmrc holds only settings npm knows (an unknown key warns on every npm command)', () => {
    const keys = read('.npmrc')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.split('=')[0]);
    expect(keys).toEqual(['fund', 'audit']);
  });
});
