/** Where the bearer token lives; every tab of the origin shares it. */
const TOKEN_KEY = 'easel.token';

/** The stored token, or null. */
export const readToken = () => localStorage.getItem(TOKEN_KEY);

/** @param {string} token */
export const storeToken = (token) => localStorage.setItem(TOKEN_KEY, token);

export const clearToken = () => localStorage.removeItem(TOKEN_KEY);

/**
 * The claims of a JWT, read without checking the signature (the server checks it): for the user id and the
 * expiry shown and watched by the UI.
 * @param {string | null} token
 * @returns {{ sub?: string, exp?: number } | null}
 */
export function tokenClaims(token) {
  const payload = token?.split('.')[1];
  if (!payload) {
    return null;
  }
  try {
    return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return null;
  }
}

/**
 * Calls `onEnd(reason)` once when this tab's session ends without a request: the token was removed
 * (`signed_out`) or replaced by another user's (`switched`) in another tab, or it expired (`expired`). It
 * listens to the `storage` event and checks every 5 seconds too. A refreshed token of the same user is not
 * an end. Returns the function that stops watching.
 * @param {string} userId
 * @param {(reason: 'signed_out' | 'switched' | 'expired') => void} onEnd
 */
export function watchSession(userId, onEnd) {
  let ended = false;
  const check = () => {
    const token = readToken();
    const claims = tokenClaims(token);
    const reason = !token
      ? 'signed_out'
      : claims?.sub !== userId
        ? 'switched'
        : (claims.exp ?? 0) * 1000 <= Date.now()
          ? 'expired'
          : null;
    if (reason && !ended) {
      ended = true;
      stop();
      onEnd(reason);
    }
  };
  const onStorage = (/** @type {StorageEvent} */ e) => {
    if (e.key === TOKEN_KEY || e.key === null) {
      check();
    }
  };
  window.addEventListener('storage', onStorage);
  const timer = setInterval(check, 5000);
  const stop = () => {
    window.removeEventListener('storage', onStorage);
    clearInterval(timer);
  };
  return stop;
}
