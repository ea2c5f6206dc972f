import { describe, expect, test } from 'vitest';
import { type BootFiles, loadJwtSecret } from '../../src/boot.ts';
import { EnvError, parseEnv } from '../../src/env.ts';

/** Boot files over a map: `readText` of a missing path is "not found". */
function filesWith(entries: Record<string, string>): BootFiles & { written: Record<string, string> } {
  const written: Record<string, string> = {};
  const missing = new Error('missing');
  return {
    written,
    readText: async (p) => {
      const text = entries[p] ?? written[p];
      if (text === undefined) {
        throw missing;
      }
      return text;
    },
    createPrivate: async (p, text) => {
      written[p] = text;
    },
    listFolders: async () => [],
    isNotFound: (err) => err === missing,
  };
}

const env = parseEnv({ DATA_DIR: '/data' });

describe('the JWT secret kept in DATA_DIR', () => {
  test.each([
    ['empty', '\n'],
    ['5 bytes', 'abcde\n'],
    ['31 bytes', `${'x'.repeat(31)}\n`],
  ])('%s: refused, naming the file', async (_, text) => {
    const err = await loadJwtSecret(filesWith({ '/data/jwt-secret': text }), env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvError);
    expect((err as Error).message).toBe(
      '/data/jwt-secret holds a JWT secret shorter than 32 bytes; delete the file to generate a new one (every token becomes invalid) or set JWT_SECRET',
    );
  });

  test('32 bytes or more: used as it is', async () => {
    const secret = 'y'.repeat(32);
    expect(await loadJwtSecret(filesWith({ '/data/jwt-secret': `${secret}\n` }), env)).toBe(secret);
  });

  test('no file: a fresh 64-character secret is generated and kept', async () => {
    const files = filesWith({});
    const secret = await loadJwtSecret(files, env);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(files.written).toEqual({ '/data/jwt-secret': `${secret}\n` });
  });
});
