import { describe, expect } from 'vitest';
import { it } from '../helpers/fixtures.ts';
import { problem } from '../helpers/harness.ts';

describe('GET /api/v1/models', () => {
  it('lists the catalog to any user', async ({ h }) => {
    const u = await h.createUser();
    const res = await h.get('/api/v1/models', { token: u.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      {
        key: 'tiny-sd',
        name: 'Tiny SD',
        base: 'sd-1',
        type: 'main',
        format: 'onnx',
        description: 'test model',
      },
    ]);
  });

  it('needs a token', async ({ h }) => {
    const res = await h.get('/api/v1/models');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(
      problem(res, 'unauthorized', 401, 'Unauthorized', 'A bearer token is required.'),
    );
  });
});
