import { useState } from 'preact/hooks';
import { createUser, listUsers } from '../api/users.js';
import { html } from '../lib/html.js';
import { useLive } from '../lib/use-live.js';
import { Field } from './field.js';
import { UserRow } from './user-row.js';

/**
 * The accounts: create, and per user edit, promote or demote, deactivate, reset the password, delete.
 * @param {{ onChange: () => void }} props called after each action
 */
export function UsersAdmin({ onChange }) {
  const users = useLive(listUsers, [], '');
  const [note, setNote] = useState({ ok: '', error: '' });

  const run = async (/** @type {() => Promise<string>} */ action) => {
    try {
      setNote({ ok: await action(), error: '' });
    } catch (err) {
      setNote({ ok: '', error: /** @type {Error} */ (err).message });
    }
    users.reload();
    onChange();
  };
  const create = (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const form = /** @type {HTMLFormElement} */ (e.currentTarget);
    const f = new FormData(form);
    const displayName = String(f.get('display_name') ?? '').trim();
    void run(async () => {
      const user = await createUser({
        email: f.get('email'),
        password: f.get('password'),
        is_admin: f.get('is_admin') === 'on',
        ...(displayName ? { display_name: displayName } : {}),
      });
      form.reset();
      return `Created ${user.email}.`;
    });
  };

  return html`<section class="card" aria-labelledby="users-title">
    <h2 id="users-title">Users</h2>
    <div class="table-wrap">
      <table class="stack" data-testid="users-table">
        <thead>
          <tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">State</th>
            <th scope="col">Max pending</th><th scope="col">Last login</th><th scope="col">Actions</th></tr>
        </thead>
        <tbody>${(users.data ?? []).map((u) => html`<${UserRow} key=${u.user_id} user=${u} run=${run} />`)}</tbody>
      </table>
    </div>
    ${note.ok && html`<p class="ok" role="status">${note.ok}</p>`}
    ${(note.error || users.error) && html`<p class="error" role="alert">${note.error || users.error}</p>`}
    <form class="create-user" onSubmit=${create} aria-labelledby="create-user-title">
      <h3 id="create-user-title">Create a user</h3>
      <div class="row">
        <${Field} label="Email"><input name="email" type="email" required autocomplete="off" /><//>
        <${Field} label="Display name (optional)"><input name="display_name" maxlength="100" /><//>
        <${Field} label="Password"><input name="password" type="password" minlength="8" required autocomplete="new-password" /><//>
        <label class="check"><input name="is_admin" type="checkbox" /> Administrator</label>
      </div>
      <button type="submit">Create user</button>
    </form>
  </section>`;
}
