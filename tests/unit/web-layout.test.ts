import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const WEB = join(import.meta.dirname, '../../web');

async function modules(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
    ),
  );
  return nested.flat();
}

describe('web/ layout', () => {
  it('calls the API only through the clients of web/api/', async () => {
    const offenders: string[] = [];
    for (const file of await modules(WEB)) {
      const path = relative(WEB, file);
      if (path.startsWith('api/') || path === 'lib/api.js') {
        continue;
      }
      const text = await readFile(file, 'utf8');
      const imported = [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'[./]*(?:lib\/)?api\.js'/g)]
        .flatMap((m) => (m[1] ?? '').split(','))
        .map((name) => name.trim());
      if (imported.includes('api') || imported.includes('query') || /\bapi\(\s*'[A-Z]+'/.test(text)) {
        offenders.push(path);
      }
    }
    expect(offenders).toEqual([]);
  });
});
