import { useState } from 'preact/hooks';
import { listAuditEntries } from '../api/audit.js';
import { listUsers } from '../api/users.js';
import { AUDIT_ACTIONS } from '../lib/constants.js';
import { formatTime } from '../lib/format.js';
import { html } from '../lib/html.js';
import { useLive } from '../lib/use-live.js';
import { Field } from './field.js';

/** The audit log, newest first, filtered by actor and action, a page at a time. */
export function AuditLog() {
  const [filters, setFilters] = useState({ user_id: '', action: '' });
  const [older, setOlder] = useState(
    /** @type {{ items: import('../api/audit.js').AuditEntry[], next_cursor: string | null } | null} */ (
      null
    ),
  );
  const users = useLive(listUsers, [], '');
  const first = useLive(() => listAuditEntries({ ...filters, limit: 50 }), [], JSON.stringify(filters));
  const [error, setError] = useState('');

  const set =
    (/** @type {'user_id' | 'action'} */ key) =>
    (/** @type {import('preact').TargetedEvent<HTMLSelectElement>} */ e) => {
      setOlder(null);
      setFilters({ ...filters, [key]: e.currentTarget.value });
    };
  const refresh = () => {
    setOlder(null);
    first.reload();
  };
  const cursor = older ? older.next_cursor : first.data?.next_cursor;
  const more = async () => {
    try {
      const page = await listAuditEntries({ ...filters, limit: 50, cursor });
      setOlder({ items: [...(older?.items ?? []), ...page.items], next_cursor: page.next_cursor });
    } catch (err) {
      setError(/** @type {Error} */ (err).message);
    }
  };
  const entries = [...(first.data?.items ?? []), ...(older?.items ?? [])];
  const emails = new Map((users.data ?? []).map((u) => [u.user_id, u.email]));

  return html`<section class="card" aria-labelledby="audit-title">
    <h2 id="audit-title">Audit log</h2>
    <div class="row">
      <${Field} label="Actor">
        <select value=${filters.user_id} onChange=${set('user_id')}>
          <option value="">Anyone</option>
          ${(users.data ?? []).map((u) => html`<option value=${u.user_id}>${u.email}</option>`)}
        </select>
      <//>
      <${Field} label="Action">
        <select value=${filters.action} onChange=${set('action')}>
          <option value="">Any</option>
          ${AUDIT_ACTIONS.map((a) => html`<option>${a}</option>`)}
        </select>
      <//>
      <button type="button" class="secondary" onClick=${refresh}>Refresh</button>
    </div>
    ${(error || first.error) && html`<p class="error" role="alert">${error || first.error}</p>`}
    <div class="table-wrap">
      <table data-testid="audit-table">
        <thead>
          <tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Actor</th>
            <th scope="col">Target</th><th scope="col">Details</th></tr>
        </thead>
        <tbody>
          ${entries.map(
            (e) => html`<tr key=${e.id}>
              <td><time datetime=${e.at}>${formatTime(e.at)}</time></td>
              <td>${e.action}</td>
              <td>${e.actor_user_id ? (emails.get(e.actor_user_id) ?? e.actor_user_id) : '—'}</td>
              <td>${e.target_type ? `${e.target_type} ${e.target_id ?? ''}` : '—'}</td>
              <td class="details">${e.details ? JSON.stringify(e.details) : ''}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${cursor && html`<button type="button" class="secondary" onClick=${more}>Older entries</button>`}
  </section>`;
}
