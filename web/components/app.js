import { useCallback, useEffect, useState } from 'preact/hooks';
import { logout as endSession, getAuthStatus, getMe } from '../api/auth.js';
import { ApiError, setSessionEndHandler } from '../lib/api.js';
import { html } from '../lib/html.js';
import { clearToken, readToken, storeToken, watchSession } from '../lib/session.js';
import { LoginPage } from './login-page.js';
import { SetupPage } from './setup-page.js';
import { Shell } from './shell.js';

export const EXPIRED_MESSAGE = 'Your session has expired, please log in again';

/**
 * @typedef {{ phase: 'loading' } | { phase: 'error', message: string } | { phase: 'setup' } | { phase: 'login' }
 *   | { phase: 'ready', user: import('../api/users.js').User, multiuser: boolean }} AppState
 */

/** The entry: the setup page while no user exists, the login page without a session, else the shell. */
export function App() {
  const [state, setState] = useState(/** @type {AppState} */ ({ phase: 'loading' }));
  const [message, setMessage] = useState('');

  const toLogin = useCallback((/** @type {string} */ text) => {
    clearToken();
    setMessage(text);
    setState({ phase: 'login' });
  }, []);
  const expire = useCallback(() => toLogin(EXPIRED_MESSAGE), [toLogin]);

  const boot = useCallback(async () => {
    setState({ phase: 'loading' });
    try {
      const status = await getAuthStatus();
      if (status.setup_required) {
        setState({ phase: 'setup' });
      } else if (status.multiuser_enabled && !readToken()) {
        setState({ phase: 'login' });
      } else {
        const user = await getMe();
        setState({ phase: 'ready', user, multiuser: status.multiuser_enabled });
      }
    } catch (err) {
      // A 401 has already ended the session (the handler below); anything else is a server or network fault.
      if (!(err instanceof ApiError && err.status === 401)) {
        setState({ phase: 'error', message: /** @type {Error} */ (err).message });
      }
    }
  }, []);

  useEffect(() => {
    setSessionEndHandler(expire);
    void boot();
    return () => setSessionEndHandler(null);
  }, [boot, expire]);

  const userId = state.phase === 'ready' && state.multiuser ? state.user.user_id : null;
  useEffect(() => {
    if (!userId) {
      return undefined;
    }
    return watchSession(userId, (reason) => {
      if (reason === 'switched') {
        void boot();
      } else {
        toLogin(reason === 'expired' ? EXPIRED_MESSAGE : 'You were logged out in another tab.');
      }
    });
  }, [userId, boot, toLogin]);

  const signedIn = (/** @type {import('../api/auth.js').SignedIn} */ result) => {
    storeToken(result.token);
    setMessage('');
    setState({ phase: 'ready', user: result.user, multiuser: true });
  };
  const logout = async () => {
    await endSession().catch(() => undefined);
    toLogin('You have logged out.');
  };

  switch (state.phase) {
    case 'loading':
      return html`<p class="loading" role="status">Loading Easel…</p>`;
    case 'error':
      return html`<main class="centered">
        <p class="error" role="alert">${state.message}</p>
        <button type="button" onClick=${boot}>Try again</button>
      </main>`;
    case 'setup':
      return html`<${SetupPage} onDone=${signedIn} />`;
    case 'login':
      return html`<${LoginPage} message=${message} onDone=${signedIn} />`;
    default:
      return html`<${Shell}
        me=${{ user: state.user, multiuser: state.multiuser, logout }}
        onSessionEnd=${expire}
      />`;
  }
}
