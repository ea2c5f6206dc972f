import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_CATALOG, type ErrorCode } from '../core/errors.ts';

interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
}

interface OpenApiDoc {
  info: { title: string; version: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** The page's "Try it" forms (web/docs/try-it.js), served with the web UI's files. */
export const TRY_IT_SCRIPT = '/assets/docs/try-it.js';

/**
 * The page's Content-Security-Policy: its inline styles, the "Try it" module from this origin and its
 * requests to it (images it shows as `blob:` URLs); nothing else, and no framing.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  "img-src 'self' blob:",
  "style-src 'unsafe-inline'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * An HTML page (nothing from other origins, works offline) listing every operation of the OpenAPI document,
 * its parameters, request schema and responses, plus the error codes; `TRY_IT_SCRIPT` adds a form to send each.
 * @example app.get('/docs', (c) => c.html(renderDocsPage(app.getOpenAPI31Document(spec))));
 */
export function renderDocsPage(document: { info: { title: string; version: string } }) {
  const doc = document as OpenApiDoc;
  const ops = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m] as Operation })),
  );
  const schemaRef = (op: Operation) => {
    const schema = op.requestBody?.content?.['application/json']?.schema as { $ref?: string } | undefined;
    return schema?.$ref?.split('/').at(-1) ?? (schema ? 'inline' : undefined);
  };
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${doc.info.title} ${doc.info.version} — API</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f}
code,pre{font:13px ui-monospace,monospace}pre{background:#f4f4f6;padding:.75rem;overflow:auto}
.op{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;width:4.5rem;font-weight:700}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left}
.try{margin:.5rem 0 .5rem 1rem}.try label{display:inline-block;margin:.15rem 0}.try-out:empty{display:none}
.try-out img{max-width:100%;display:block}.try-open{margin-left:.5rem}#try-token{font:13px ui-monospace,monospace}
</style>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<script type="module" src="${TRY_IT_SCRIPT}"></script>
</head>
<body>
<h1>${doc.info.title} API ${doc.info.version}</h1>
<p>The machine-readable document is <a href="/openapi.json">/openapi.json</a>. Send <code>Authorization: Bearer &lt;token&gt;</code>
to every <code>/api/v1</code> route but status, set-up and login. Mutating requests answer a fresh token in
<code>X-Refreshed-Token</code>. With the web UI served (<code>npm start</code>), every operation has a
<em>Try it</em> form that sends the request with the token of the signed-in UI, or one pasted in.</p>
<h2>Operations</h2>
${ops.map(
  ({ path, method, op }) => html`<div class="op" id="${method}-${path}">
<div><span class="m">${method.toUpperCase()}</span><code>${path}</code>${op.security?.length ? ' 🔒' : ''}</div>
<div>${op.summary ?? ''}</div>
${op.parameters?.length ? html`<div>Parameters: ${op.parameters.map((p) => html`<code>${p.name}</code> (${p.in}${p.required ? ', required' : ''}) `)}</div>` : ''}
${schemaRef(op) ? html`<div>Body: <a href="#schema-${schemaRef(op)}"><code>${schemaRef(op)}</code></a></div>` : ''}
<div>Responses: ${Object.entries(op.responses ?? {}).map(([status, r]) => html`<code>${status}</code> ${r.description ?? ''}; `)}</div>
</div>`,
)}
<h2>Schemas</h2>
${Object.entries(doc.components?.schemas ?? {}).map(
  ([name, schema]) => html`<h3 id="schema-${name}">${name}</h3><pre>${JSON.stringify(schema, null, 2)}</pre>`,
)}
<h2>Errors</h2>
<p>Every error is <code>application/problem+json</code>:
<code>{ type, title, status, detail, code, request_id, errors? }</code>.</p>
<table><tr><th>code</th><th>status</th><th>title</th></tr>
${(Object.keys(ERROR_CATALOG) as ErrorCode[]).map(
  (code) =>
    html`<tr id="error-${code}"><td><code>${code}</code></td><td>${ERROR_CATALOG[code].status as ContentfulStatusCode}</td><td>${ERROR_CATALOG[code].title}</td></tr>`,
)}
</table>
</body>
</html>`;
}
