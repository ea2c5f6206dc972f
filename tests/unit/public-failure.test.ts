import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/runtime/interface.ts';
import { publicFailure, withoutPaths } from '../../src/runtime/public-failure.ts';

describe('withoutPaths', () => {
  it('cuts absolute paths to their last segment and leaves URLs, ratios and relative names alone', () => {
    expect(withoutPaths('Load model from /srv/easel/models/tiny-sd/unet/model.onnx failed')).toBe(
      'Load model from model.onnx failed',
    );
    expect(withoutPaths('file:///home/me/easel/src/x.ts:3:9 and C:\\Users\\me\\model.onnx')).toBe(
      'x.ts:3:9 and model.onnx',
    );
    expect(withoutPaths('see https://example.com/a/b, 64/128 steps, models/tiny-sd, /tmp')).toBe(
      'see https://example.com/a/b, 64/128 steps, models/tiny-sd, /tmp',
    );
  });
});

describe('publicFailure', () => {
  it('keeps a runtime error’s type and text without paths, drops its stack frames, and keeps the original as cause', () => {
    const original = new RuntimeError(
      'OrtError',
      'Load model from /srv/easel/models/unet/model.onnx failed',
      'Error: Load model from /srv/easel/models/unet/model.onnx failed\n    at run (/srv/easel/src/node/inference-child.ts:90:11)\n    at process.<anonymous> (node:internal/x:1:1)',
    );
    const shown = publicFailure(original, 'InternalError');
    expect([shown.errorType, shown.message, shown.traceback, shown.cause]).toEqual([
      'OrtError',
      'Load model from model.onnx failed',
      'Error: Load model from model.onnx failed',
      original,
    ]);
  });

  it('gives a traceback of frames only as null, and keeps a traceback without paths as it is', () => {
    const frames = new RuntimeError('X', 'boom', '    at a (/srv/a.ts:1:1)\n    at b (/srv/b.ts:2:2)');
    expect(publicFailure(frames, 'InternalError').traceback).toBeNull();
    expect(publicFailure(new RuntimeError('X', 'boom', 'trace line 1'), 'InternalError').traceback).toBe(
      'trace line 1',
    );
  });

  it('tells a failed statement without its SQL or parameters, and any other error by its message alone', () => {
    const statement = new DrizzleQueryError(
      'INSERT INTO users (password_hash) VALUES ($1)',
      ['pbkdf2-sha256$600000$salt$hash'],
      Object.assign(new Error('the database system is shutting down'), { code: '57P01' }),
    );
    const shown = publicFailure(statement, 'InternalError');
    expect([shown.errorType, shown.message, shown.traceback]).toEqual([
      'InternalError',
      'database query failed: the database system is shutting down',
      null,
    ]);
    const plain = publicFailure(new TypeError('x is not a function at /srv/easel/src/y.ts'), 'TypeError');
    expect([plain.errorType, plain.message, plain.traceback]).toEqual([
      'TypeError',
      'x is not a function at y.ts',
      null,
    ]);
  });
});
