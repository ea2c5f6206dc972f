import { useState } from 'preact/hooks';
import { login } from '../api/auth.js';
import { html } from '../lib/html.js';

/**
 * Email, password and "remember me" (a 7-day token instead of 1 day).
 * @param {{ message: string, onDone: (result: import('../api/auth.js').SignedIn) => void }} props
 */
export function LoginPage({ message, onDone }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const form = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
    setBusy(true);
    setError('');
    try {
      onDone(
        await login({
          email: form.get('email'),
          password: form.get('password'),
          remember_me: form.get('remember_me') === 'on',
        }),
      );
    } catch (err) {
      setError(/** @type {Error} */ (err).message);
      setBusy(false);
    }
  };

  return html`<main class="centered">
    <form class="card auth-form" onSubmit=${submit}>
      <h1>Log in to Easel</h1>
      ${message && html`<p class="notice" role="status" data-testid="login-message">${message}</p>`}
      <label>Email <input name="email" type="email" autocomplete="username" required autofocus /></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
      <label class="check"><input name="remember_me" type="checkbox" /> Remember me for 7 days</label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>Log in</button>
    </form>
  </main>`;
}
