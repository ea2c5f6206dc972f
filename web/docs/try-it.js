// The /docs page's "Try it": a form under every operation that sends the request from the browser, with the
// token of the signed-in web UI (or one pasted in), and shows the answer. Loaded as a module by the page
// (src/http/docs-page.ts); reads the same /openapi.json the page was made from. No innerHTML: every text
// the document or the server gives is set as text.
import { sampleOf } from './sample.js';

/** @typedef {Record<string, any>} Json */

const TOKEN_KEY = 'easel.token';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** Response headers worth showing. */
const SHOWN_HEADERS = [
  'content-type',
  'x-request-id',
  'x-refreshed-token',
  'retry-after',
  'allow',
  'location',
];
/** An event stream is read this long, then closed. */
const STREAM_MS = 3000;

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} children
 */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/** The token field at the top of the page, filled from the web UI's session when there is one. */
function tokenField() {
  const input = /** @type {HTMLInputElement} */ (
    el('input', { id: 'try-token', type: 'text', size: '60', autocomplete: 'off', spellcheck: 'false' })
  );
  input.value = localStorage.getItem(TOKEN_KEY) ?? '';
  input.placeholder = 'paste a token, or sign in to the web UI first';
  const box = el(
    'p',
    { class: 'try-token' },
    el('label', { for: 'try-token' }, 'Bearer token for “Try it”: '),
    input,
  );
  return { box, input };
}

/**
 * The form of one operation.
 * @param {string} method
 * @param {string} path
 * @param {Json} op
 * @param {Json} components
 * @param {HTMLInputElement} token
 */
function tryForm(method, path, op, components, token) {
  const form = /** @type {HTMLFormElement} */ (el('form', { class: 'try' }));
  /** @type {{ param: Json, input: HTMLInputElement }[]} */
  const params = [];
  for (const param of /** @type {Json[]} */ (op.parameters ?? [])) {
    if (!['path', 'query'].includes(param.in)) {
      continue;
    }
    const input = /** @type {HTMLInputElement} */ (el('input', { type: 'text', name: param.name }));
    input.required = param.required === true;
    input.placeholder = param.schema?.type ? String(param.schema.type) : '';
    params.push({ param, input });
    form.append(
      el('label', {}, `${param.name} (${param.in}${param.required ? ', required' : ''}) `, input),
      el('br'),
    );
  }
  const content = op.requestBody?.content ?? {};
  /** @type {HTMLTextAreaElement | null} */
  let jsonBody = null;
  /** @type {{ name: string, input: HTMLInputElement }[]} */
  const parts = [];
  if (content['application/json']) {
    jsonBody = /** @type {HTMLTextAreaElement} */ (
      el('textarea', { rows: '8', cols: '80', spellcheck: 'false' })
    );
    jsonBody.value = JSON.stringify(sampleOf(content['application/json'].schema ?? {}, components), null, 2);
    form.append(el('label', {}, 'JSON body', el('br'), jsonBody), el('br'));
  } else if (content['multipart/form-data']) {
    const schema = content['multipart/form-data'].schema ?? {};
    const properties = /** @type {Json} */ (schema.properties ?? {});
    for (const [name, prop] of Object.entries(properties)) {
      const binary = prop.format === 'binary' || prop.contentMediaType !== undefined;
      const input = /** @type {HTMLInputElement} */ (el('input', { type: binary ? 'file' : 'text', name }));
      parts.push({ name, input });
      form.append(el('label', {}, `${name} `, input), el('br'));
    }
  }
  const output = el('pre', { class: 'try-out', 'aria-live': 'polite' });
  form.append(el('button', { type: 'submit' }, `Send ${method.toUpperCase()}`), output);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const { param, input } of params) {
      if (param.in === 'path') {
        url = url.replace(`{${param.name}}`, encodeURIComponent(input.value));
      } else if (input.value !== '') {
        query.set(param.name, input.value);
      }
    }
    /** @type {Record<string, string>} */
    const headers = {};
    if (token.value.trim() !== '') {
      headers.Authorization = `Bearer ${token.value.trim()}`;
    }
    /** @type {BodyInit | undefined} */
    let body;
    if (jsonBody) {
      headers['Content-Type'] = 'application/json';
      body = jsonBody.value;
    } else if (parts.length > 0) {
      const data = new FormData();
      for (const { name, input } of parts) {
        const file = input.files?.[0];
        if (file) {
          data.append(name, file);
        } else if (input.type !== 'file' && input.value !== '') {
          data.append(name, input.value);
        }
      }
      body = data;
    }
    const target = query.size > 0 ? `${url}?${query}` : url;
    void send(method.toUpperCase(), target, headers, body, output, token);
  });
  return form;
}

/**
 * Sends the request and writes the answer into `output`; a refreshed token replaces the field's.
 * @param {string} method
 * @param {string} url
 * @param {Record<string, string>} headers
 * @param {BodyInit | undefined} body
 * @param {HTMLElement} output
 * @param {HTMLInputElement} token
 */
async function send(method, url, headers, body, output, token) {
  output.replaceChildren(`${method} ${url} …`);
  const abort = new AbortController();
  try {
    const res = await fetch(url, { method, headers, body, signal: abort.signal });
    const refreshed = res.headers.get('x-refreshed-token');
    if (refreshed) {
      token.value = refreshed;
    }
    const lines = [`HTTP ${res.status} ${res.statusText}`];
    for (const name of SHOWN_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) {
        lines.push(`${name}: ${value}`);
      }
    }
    const type = res.headers.get('content-type') ?? '';
    output.replaceChildren(`${lines.join('\n')}\n\n`);
    if (type.startsWith('image/')) {
      const img = el('img', { alt: url, src: URL.createObjectURL(await res.blob()) });
      output.append(img);
    } else if (type.startsWith('text/event-stream')) {
      output.append(await readStream(res, abort));
    } else {
      const text = await res.text();
      output.append(type.includes('json') && text !== '' ? JSON.stringify(JSON.parse(text), null, 2) : text);
    }
  } catch (err) {
    output.replaceChildren(`The request failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The first seconds of an event stream, then closes it.
 * @param {Response} res
 * @param {AbortController} abort
 */
async function readStream(res, abort) {
  const reader = res.body?.getReader();
  if (!reader) {
    return '';
  }
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => abort.abort(), STREAM_MS);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // Aborted after STREAM_MS: what came so far is the answer.
  } finally {
    clearTimeout(timer);
  }
  return `${text}\n(closed after ${STREAM_MS / 1000} s)`;
}

async function main() {
  const doc = /** @type {Json} */ (await (await fetch('/openapi.json')).json());
  const { box, input } = tokenField();
  document.querySelector('h2')?.before(box);
  for (const [path, item] of Object.entries(/** @type {Json} */ (doc.paths ?? {}))) {
    for (const method of METHODS) {
      const op = item[method];
      const row = document.getElementById(`${method}-${path}`);
      if (!op || !row) {
        continue;
      }
      const button = el('button', { type: 'button', class: 'try-open', 'aria-expanded': 'false' }, 'Try it');
      /** @type {HTMLFormElement | null} */
      let form = null;
      button.addEventListener('click', () => {
        form ??= tryForm(method, path, op, doc.components ?? {}, input);
        const open = form.isConnected;
        if (open) {
          form.remove();
        } else {
          row.append(form);
        }
        button.setAttribute('aria-expanded', String(!open));
      });
      row.firstElementChild?.append(' ', button);
    }
  }
}

void main();
