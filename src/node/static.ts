import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import type { Context, Hono } from 'hono';
import type { AppEnv } from '../http/types.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The browser modules the import map of `index.html` names, from `node_modules` (no build step). */
const VENDOR_FILES: Record<string, string> = {
  'preact.js': 'node_modules/preact/dist/preact.module.js',
  'preact-hooks.js': 'node_modules/preact/hooks/dist/hooks.module.js',
  'htm.js': 'node_modules/htm/dist/htm.module.js',
};

/** Paths the API and the operations routes own: the single-page fallback never answers them. */
const SERVER_PATHS = /^\/(api(\/|$)|health$|ready$|metrics$|docs$|openapi\.json$)/;

export interface WebUiOptions {
  /** The repository root, which holds `web/` and `node_modules/`. */
  projectRoot: string;
}

/** The Content-Security-Policy of the UI: its own origin only, plus the inline import map by its hash. */
function contentSecurityPolicy(indexHtml: string): string {
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(indexHtml)?.[1] ?? '';
  const hash = createHash('sha256').update(importMap).digest('base64');
  return [
    "default-src 'self'",
    `script-src 'self' 'sha256-${hash}'`,
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Whether `file` lies inside `dir` (no `..` escape). */
const inside = (dir: string, file: string) => {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
};

async function sendFile(c: Context<AppEnv>, file: string, headers: Record<string, string> = {}) {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) {
    return null;
  }
  const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const common = { ETag: etag, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', ...headers };
  if (c.req.header('If-None-Match') === etag) {
    return c.body(null, 304, common);
  }
  const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
  return c.body(await readFile(file), 200, { ...common, 'Content-Type': type });
}

/**
 * Serves the browser UI from the Node entry, after `createApp`'s routes: `web/` under `/assets/`, the
 * vendored Preact and htm under `/vendor/`, and `web/index.html` for `/` and any other GET that asks for
 * HTML (the single-page fallback). The API, `/health`, `/ready`, `/metrics`, `/docs` and `/openapi.json`
 * keep their answers, and unknown files stay problem+json 404s. Files are revalidated on every load
 * (`Cache-Control: no-cache` with an ETag).
 * @example const app = createApp(deps); mountWebUi(app, { projectRoot });
 */
export async function mountWebUi(app: Hono<AppEnv>, options: WebUiOptions): Promise<void> {
  const webRoot = resolve(options.projectRoot, 'web');
  const indexFile = join(webRoot, 'index.html');
  const csp = contentSecurityPolicy(await readFile(indexFile, 'utf8'));
  const pageHeaders = { 'Content-Security-Policy': csp, 'Referrer-Policy': 'no-referrer' };

  app.on(['GET', 'HEAD'], '*', async function webUi(c, next) {
    const path = c.req.path;
    if (path.startsWith('/assets/')) {
      const file = resolve(webRoot, `.${path.slice('/assets'.length)}`);
      const res = inside(webRoot, file) ? await sendFile(c, file) : null;
      return res ?? next();
    }
    if (path.startsWith('/vendor/')) {
      const vendored = VENDOR_FILES[path.slice('/vendor/'.length)];
      const res = vendored ? await sendFile(c, resolve(options.projectRoot, vendored)) : null;
      return res ?? next();
    }
    const wantsHtml = (c.req.header('Accept') ?? '').includes('text/html') || path === '/';
    if (SERVER_PATHS.test(path) || !wantsHtml) {
      return next();
    }
    return (await sendFile(c, indexFile, pageHeaders)) ?? next();
  });
}
