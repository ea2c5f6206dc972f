import { useState } from 'preact/hooks';
import { getQueueStatus, listQueueItems } from '../api/queue.js';
import { QUEUE_STATUSES } from '../lib/constants.js';
import { html } from '../lib/html.js';
import { useLive } from '../lib/use-live.js';
import { QueueCounts } from './queue-counts.js';
import { QueueRow } from './queue-row.js';

/** Events after which the queue is read again; `queue_status` reaches everyone, so others' work shows too. */
/** @type {import('../lib/constants.js').ServerEvent[]} */
const QUEUE_EVENTS = [
  'queue_status',
  'queue_item_status_changed',
  'batch_enqueued',
  'queue_items_retried',
  'queue_items_canceled',
  'queue_cleared',
];
const PAGE = 50;

/** The shared queue: everyone's items in the order of work (others' values hidden), live in every tab. */
export function QueueView() {
  const [scope, setScope] = useState(/** @type {'me' | 'all'} */ ('all'));
  const [status, setStatus] = useState(/** @type {import('../lib/constants.js').QueueStatus | ''} */ (''));
  const [limit, setLimit] = useState(PAGE);
  const [actionError, setActionError] = useState('');
  const live = useLive(
    async () => {
      const [page, counts] = await Promise.all([
        listQueueItems({ limit, user: scope, status }),
        getQueueStatus(),
      ]);
      return { page, counts };
    },
    QUEUE_EVENTS,
    `${scope}|${status}|${limit}`,
  );

  const act = async (/** @type {() => Promise<unknown>} */ action) => {
    setActionError('');
    try {
      await action();
    } catch (err) {
      setActionError(/** @type {Error} */ (err).message);
    }
    live.reload();
  };
  const items = live.data?.page.items ?? [];

  return html`<section class="card queue" aria-labelledby="queue-title">
    <h2 id="queue-title">Queue</h2>
    ${live.data && html`<${QueueCounts} status=${live.data.counts} />`}
    <div class="row filters">
      <fieldset class="segmented">
        <legend>Show</legend>
        ${['mine', 'all'].map(
          (s) => html`<label class="check">
            <input type="radio" name="queue-scope" value=${s} checked=${(scope === 'me' ? 'mine' : 'all') === s}
              onChange=${() => setScope(s === 'mine' ? 'me' : 'all')} />
            ${s === 'mine' ? 'Mine' : 'All'}
          </label>`,
        )}
      </fieldset>
      <label class="field">
        <span>Status</span>
        <select value=${status} onChange=${(
          /** @type {import('preact').TargetedEvent<HTMLSelectElement>} */ e,
        ) =>
          setStatus(/** @type {import('../lib/constants.js').QueueStatus | ''} */ (e.currentTarget.value))}>
          <option value="">Any</option>
          ${QUEUE_STATUSES.map((s) => html`<option value=${s}>${s.replace('_', ' ')}</option>`)}
        </select>
      </label>
    </div>
    ${live.error && html`<p class="error" role="alert">Could not load the queue: ${live.error}</p>`}
    ${actionError && html`<p class="error" role="alert">${actionError}</p>`}
    <div class="table-wrap">
      <table class="stack" data-testid="queue-table">
        <thead>
          <tr><th scope="col">Item</th><th scope="col">Status</th><th scope="col">User</th>
            <th scope="col">Created</th><th scope="col">Values</th><th scope="col">Actions</th></tr>
        </thead>
        <tbody>
          ${items.map((item) => html`<${QueueRow} key=${item.item_id} item=${item} act=${act} />`)}
        </tbody>
      </table>
    </div>
    ${live.data && items.length === 0 && html`<p class="muted">The queue is empty.</p>`}
    ${
      live.data?.page.has_more &&
      limit < 200 &&
      html`<button type="button" class="secondary" onClick=${() => setLimit(limit + PAGE)}>Show more</button>`
    }
  </section>`;
}
