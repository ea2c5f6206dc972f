import { describe, expect } from 'vitest';
import { mountWebUi } from '../../src/node/static.ts';
import { test } from '../helpers/fixtures.ts';
import { projectRoot } from './spawn.ts';

// The web UI mounted after createApp's routes, as the Node entry does.
const it = test
  .extend('webUi', { scope: 'file', auto: true }, async ({ h }) => {
    await mountWebUi(h.app, { projectRoot });
  })
  .extend('user', { scope: 'file' }, ({ h }) => h.createUser());

const HTML = { Accept: 'text/html,application/xhtml+xml' };

describe('the web UI from the Node entry', () => {
  it('serves index.html at / with no-cache, a CSP allowing the import map, and an ETag', async ({ h }) => {
    const res = await h.app.request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(await res.text()).toContain('<script type="importmap">');
    const again = await h.app.request('/', { headers: { 'If-None-Match': res.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
  });

  it('answers the single-page routes with index.html when HTML is asked for', async ({ h }) => {
    for (const path of ['/gallery', '/admin', '/app/anything/deep']) {
      const res = await h.app.request(path, { headers: HTML });
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('<div id="app">');
    }
  });

  it('serves web/ under /assets and the three vendored modules with their types', async ({ h }) => {
    const cases: [string, string][] = [
      ['/assets/main.js', 'text/javascript; charset=utf-8'],
      ['/assets/styles.css', 'text/css; charset=utf-8'],
      ['/vendor/preact.js', 'text/javascript; charset=utf-8'],
      ['/vendor/preact-hooks.js', 'text/javascript; charset=utf-8'],
      ['/vendor/htm.js', 'text/javascript; charset=utf-8'],
    ];
    for (const [path, type] of cases) {
      const res = await h.app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
    }
  });

  it('keeps unknown files and other node_modules files as problem+json 404s, and never leaves web/', async ({
    h,
  }) => {
    for (const path of ['/assets/nope.js', '/vendor/zod.js']) {
      const res = await h.app.request(path, { headers: HTML });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toBe('application/problem+json');
    }
    for (const path of [
      '/assets/../package.json',
      '/assets/%2e%2e/package.json',
      '/assets/..%2fpackage.json',
    ]) {
      const res = await h.app.request(path);
      expect(await res.text(), path).not.toContain('"devDependencies"');
    }
  });

  it('leaves the API and the operations routes as they were', async ({ h, user }) => {
    const anonymous = await h.app.request('/api/v1/nope', { headers: HTML });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toBe('application/problem+json');
    const known = await h.app.request('/api/v1/nope', {
      headers: { ...HTML, Authorization: `Bearer ${user.token}` },
    });
    expect(known.status).toBe(404);
    expect(known.headers.get('content-type')).toBe('application/problem+json');
    const health = await h.app.request('/health', { headers: HTML });
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const docs = await h.app.request('/docs', { headers: HTML });
    expect(await docs.text()).not.toContain('<div id="app">');
    const json = await h.app.request('/openapi.json', { headers: HTML });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('does not answer a non-HTML request for an unknown path with the page', async ({ h }) => {
    const res = await h.app.request('/favicon.png', { headers: { Accept: 'image/png' } });
    expect(res.status).toBe(404);
  });
});
