import { QUEUE_STATUSES } from '../lib/constants.js';
import { html } from '../lib/html.js';

/** @type {Record<import('../lib/constants.js').QueueStatus, string>} */
const LABELS = {
  pending: 'Pending',
  in_progress: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
};

/**
 * The queue's counts and yours, from `GET /queue/default/status`.
 * @param {{ status: import('../api/queue.js').QueueStatusCounts }} props
 */
export function QueueCounts({ status }) {
  return html`<div class="table-wrap"><table class="counts" data-testid="queue-counts">
    <caption>
      Items${status.processor.is_started ? '' : ' (the processor is paused)'}
    </caption>
    <thead>
      <tr><td></td>${QUEUE_STATUSES.map((s) => html`<th scope="col">${LABELS[s]}</th>`)}<th scope="col">Total</th></tr>
    </thead>
    <tbody>
      ${[
        { name: 'Queue', counts: status.queue },
        { name: 'Mine', counts: status.mine },
      ].map(
        ({ name, counts }) => html`<tr>
          <th scope="row">${name}</th>
          ${QUEUE_STATUSES.map((s) => html`<td>${counts[s]}</td>`)}
          <td>${counts.total}</td>
        </tr>`,
      )}
    </tbody>
  </table></div>`;
}
