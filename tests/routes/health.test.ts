import { describe, expect } from 'vitest';
import { it } from '../helpers/fixtures.ts';
import { problem } from '../helpers/harness.ts';

describe('operations routes', () => {
  it('GET /health answers ok with the version', async ({ h }) => {
    const res = await h.get('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', version: '0.0.0-test' });
    expect(res.headers.get('x-request-id')).toMatch(/^[\w-]{8,}$/);
  });

  it('unknown public routes are 404 problems', async ({ h }) => {
    const res = await h.get('/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual(problem(res, 'not_found', 404, 'Not found', 'No route for GET /nope.'));
  });
});
