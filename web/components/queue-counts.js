import { html } from '../lib/html.js';

const LABELS = [
  ['pending', 'Pending'],
  ['in_progress', 'Running'],
  ['completed', 'Completed'],
  ['failed', 'Failed'],
  ['canceled', 'Canceled'],
];

/**
 * The queue's counts and yours, from `GET /queue/default/status`.
 * @param {{ status: { queue: Record<string, number>, mine: Record<string, number>, processor: { is_started: boolean } } }} props
 */
export function QueueCounts({ status }) {
  return html`<div class="table-wrap"><table class="counts" data-testid="queue-counts">
    <caption>
      Items${status.processor.is_started ? '' : ' (the processor is paused)'}
    </caption>
    <thead>
      <tr><td></td>${LABELS.map(([, label]) => html`<th scope="col">${label}</th>`)}<th scope="col">Total</th></tr>
    </thead>
    <tbody>
      ${[
        ['Queue', status.queue],
        ['Mine', status.mine],
      ].map(
        ([name, counts]) => html`<tr>
          <th scope="row">${name}</th>
          ${LABELS.map(([key]) => html`<td>${/** @type {any} */ (counts)[key]}</td>`)}
          <td>${/** @type {any} */ (counts).total}</td>
        </tr>`,
      )}
    </tbody>
  </table></div>`;
}
