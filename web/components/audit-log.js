import { useState } from 'preact/hooks';
import { listAuditEntries } from '../api/audit.js';
import { listUsers } from '../api/users.js';
import { auditDetails, auditTarget } from '../lib/audit-text.js';
import { useEvents } from '../lib/bus.js';
import { AUDIT_ACTIONS } from '../lib/constants.js';
import { formatTime } from '../lib/format.js';
import { html } from '../lib/html.js';
import { useLive, usePoll } from '../lib/use-live.js';
import { Field } from './field.js';

/**
 * The stream's events that come with an audited queue action (admins receive everyone's); a canceled item
 * is caught by its `queue_item_status_changed` below.
 * @type {import('../lib/constants.js').ServerEvent[]}
 */
const AUDITED_EVENTS = ['batch_enqueued', 'queue_items_canceled', 'queue_items_retried', 'queue_cleared'];
/** Logins, account changes and deletions have no event: the log is read again this often while visible. */
const POLL_MS = 5000;

/**
 * The audit log, newest first, filtered by actor and action, a page at a time. It stays live: read again
 * after the queue events of audited actions, after `revision` changes (this page's own actions) and
 * every 5 s while the page is visible (see docs/web-ui.md).
 * @param {{ revision: number }} props
 */
export function AuditLog({ revision }) {
  const [filters, setFilters] = useState({ user_id: '', action: '' });
  const [older, setOlder] = useState(
    /** @type {{ items: import('../api/audit.js').AuditEntry[], next_cursor: string | null } | null} */ (
      null
    ),
  );
  const users = useLive(listUsers, [], `${revision}`);
  const first = useLive(
    () => listAuditEntries({ ...filters, limit: 50 }),
    AUDITED_EVENTS,
    `${JSON.stringify(filters)}|${revision}`,
  );
  useEvents(['queue_item_status_changed'], (data) => data.status === 'canceled' && first.reload());
  usePoll(first.reload, POLL_MS);
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
  // The first page is read again as entries arrive, so it may overlap the older pages already shown.
  const firstIds = new Set((first.data?.items ?? []).map((e) => e.id));
  const entries = [...(first.data?.items ?? []), ...(older?.items ?? []).filter((e) => !firstIds.has(e.id))];
  const names = new Map((users.data ?? []).map((u) => [u.user_id, u.display_name || u.email]));
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
      <table class="stack" data-testid="audit-table">
        <thead>
          <tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Actor</th>
            <th scope="col">Target</th><th scope="col">Details</th></tr>
        </thead>
        <tbody>
          ${entries.map((e) => {
            const target = auditTarget(e, names);
            const actor = e.actor_user_id;
            return html`<tr key=${e.id} data-action=${e.action}>
              <td data-label="When"><time datetime=${e.at}>${formatTime(e.at)}</time></td>
              <td data-label="Action">${e.action}</td>
              <td data-label="Actor" title=${actor ? (emails.get(actor) ?? actor) : ''}>${actor ? (names.get(actor) ?? actor) : '—'}</td>
              <td data-label="Target" data-testid="audit-target" title=${target.title}>${target.text}</td>
              <td class="values" data-label="Details" data-testid="audit-details">
                ${auditDetails(e, names).map(([k, v]) => html`<span class="kv"><span class="k">${k}</span> ${v}</span>`)}
              </td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
    ${cursor && html`<button type="button" class="secondary" onClick=${more}>Older entries</button>`}
  </section>`;
}
