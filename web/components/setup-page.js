import { useState } from 'preact/hooks';
import { setup } from '../api/auth.js';
import { html } from '../lib/html.js';

/**
 * The first start: creates the administrator account (`POST /auth/setup`) and signs in with it.
 * @param {{ onDone: (result: import('../api/auth.js').SignedIn) => void }} props
 */
export function SetupPage({ onDone }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const form = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
    if (form.get('password') !== form.get('confirm')) {
      setError('The passwords differ.');
      return;
    }
    setBusy(true);
    setError('');
    const displayName = String(form.get('display_name') ?? '').trim();
    try {
      onDone(
        await setup({
          email: form.get('email'),
          password: form.get('password'),
          ...(displayName ? { display_name: displayName } : {}),
        }),
      );
    } catch (err) {
      setError(/** @type {Error} */ (err).message);
      setBusy(false);
    }
  };

  return html`<main class="centered">
    <form class="card auth-form" onSubmit=${submit}>
      <h1>Set up Easel</h1>
      <p>Create the administrator account. You can add other users afterwards.</p>
      <label>Email <input name="email" type="email" autocomplete="username" required autofocus /></label>
      <label>Display name (optional) <input name="display_name" maxlength="100" /></label>
      <label>
        Password (8 characters or more)
        <input name="password" type="password" autocomplete="new-password" minlength="8" required />
      </label>
      <label>
        Repeat the password
        <input name="confirm" type="password" autocomplete="new-password" minlength="8" required />
      </label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>Create the administrator</button>
    </form>
  </main>`;
}
