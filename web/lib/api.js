import { readToken, storeToken } from './session.js';

/** A problem+json answer (API.md section 1), or a network failure (`status` 0). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ code?: string, detail?: string, errors?: { path: string, message: string }[] } | null} problem
   */
  constructor(status, problem) {
    const fields = problem?.errors?.map((e) => `${e.path || 'body'}: ${e.message}`).join('; ');
    super(fields || problem?.detail || (status === 0 ? 'The server cannot be reached.' : `HTTP ${status}`));
    this.status = status;
    this.code = problem?.code ?? null;
  }
}

/** @type {(() => void) | null} */
let onSessionEnd = null;

/**
 * What to do when a request that carried the current token gets a 401: the session is over. Nothing else
 * (a 500, a network error) ends it.
 * @param {(() => void) | null} handler
 */
export function setSessionEndHandler(handler) {
  onSessionEnd = handler;
}

/**
 * Calls the API under `/api/v1` with the stored bearer token, keeps every `X-Refreshed-Token`, and returns the
 * parsed JSON (null for 204). Throws ApiError.
 * @param {string} method
 * @param {string} path
 * @param {{ json?: unknown, form?: FormData }} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body = {}) {
  const token = readToken();
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (token) {
    headers.Authorization = `Bearer ${token}`;
  }
  if (body.json !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body.json !== undefined ? JSON.stringify(body.json) : body.form,
    });
  } catch {
    throw new ApiError(0, null);
  }
  const refreshed = res.headers.get('X-Refreshed-Token');
  if (refreshed && readToken() === token) {
    storeToken(refreshed);
  }
  if (!res.ok) {
    // Only the token still in use: a request sent with a token replaced meanwhile says nothing of the session.
    if (res.status === 401 && token && readToken() === token) {
      onSessionEnd?.();
    }
    throw new ApiError(res.status, await res.json().catch(() => null));
  }
  return res.status === 204 ? null : res.json();
}

/** @param {Record<string, string | number | boolean | null | undefined>} params */
export function query(params) {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : '';
}
