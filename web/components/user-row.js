import { useState } from 'preact/hooks';
import { deleteUser, updateUser } from '../api/users.js';
import { formatTime } from '../lib/format.js';
import { html } from '../lib/html.js';

/**
 * One account with its actions; "Edit" opens an inline form for the name, the quota and a new password.
 * @param {{ user: import('../api/users.js').User, run: (action: () => Promise<string>) => void }} props
 */
export function UserRow({ user, run }) {
  const [editing, setEditing] = useState(false);
  const patch = (/** @type {import('../api/users.js').UserChanges} */ changes, /** @type {string} */ done) =>
    run(async () => {
      await updateUser(user.user_id, changes);
      return done;
    });

  const save = (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const f = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
    const password = String(f.get('password') ?? '');
    const maxPending = String(f.get('max_pending') ?? '');
    setEditing(false);
    patch(
      {
        display_name: String(f.get('display_name')).trim(),
        max_pending: maxPending === '' ? null : Number(maxPending),
        ...(password ? { password } : {}),
      },
      `Saved ${user.email}${password ? ' (password reset; their sessions ended)' : ''}.`,
    );
  };
  const remove = () => {
    if (confirm(`Delete ${user.email}? Their items and images stay.`)) {
      run(async () => {
        await deleteUser(user.user_id);
        return `Deleted ${user.email}.`;
      });
    }
  };

  return html`<tr data-user-id=${user.user_id}>
    <td data-label="User"><strong>${user.display_name}</strong><br /><span class="muted">${user.email}</span></td>
    <td data-label="Role">${user.is_admin ? 'Administrator' : 'User'}</td>
    <td data-label="State">${user.is_active ? 'Active' : 'Deactivated'}</td>
    <td data-label="Max pending">${user.max_pending}</td>
    <td data-label="Last login">${formatTime(user.last_login_at) || 'never'}</td>
    <td><div class="actions">
      <button type="button" class="secondary" aria-expanded=${editing} onClick=${() => setEditing(!editing)}>Edit</button>
      <button type="button" class="secondary" onClick=${() => patch({ is_admin: !user.is_admin }, `${user.is_admin ? 'Demoted' : 'Promoted'} ${user.email}.`)}>
        ${user.is_admin ? 'Demote' : 'Make admin'}
      </button>
      <button type="button" class="secondary" onClick=${() => patch({ is_active: !user.is_active }, `${user.is_active ? 'Deactivated' : 'Activated'} ${user.email}.`)}>
        ${user.is_active ? 'Deactivate' : 'Activate'}
      </button>
      <button type="button" class="danger" onClick=${remove}>Delete</button>
      ${
        editing &&
        html`<form class="edit-user" onSubmit=${save}>
          <label class="field"><span>Display name</span><input name="display_name" value=${user.display_name} maxlength="100" required /></label>
          <label class="field"><span>Max pending (empty: default)</span><input name="max_pending" type="number" min="0" /></label>
          <label class="field"><span>New password (optional)</span><input name="password" type="password" minlength="8" autocomplete="new-password" /></label>
          <button type="submit">Save</button>
        </form>`
      }
    </div></td>
  </tr>`;
}
