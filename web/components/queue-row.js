import { cancelItem, deleteItem, retryItems } from '../api/queue.js';
import { formatTime, sessionValues, userLabel } from '../lib/format.js';
import { html } from '../lib/html.js';
import { useMe } from '../lib/user-context.js';

/**
 * One queue item. Others' items come redacted from the server and say "Hidden for privacy"; the buttons
 * appear only on items the viewer may change (their own, or any for an admin).
 * @param {{ item: import('../api/queue.js').QueueItem, act: (action: () => Promise<unknown>) => void }} props
 */
export function QueueRow({ item, act }) {
  const me = useMe();
  const mayChange = !item.redacted && (me.user.is_admin || item.user_id === me.user.user_id);
  const name = userLabel(item);
  const values = item.redacted ? [] : sessionValues(item.session);
  const active = item.status === 'pending' || item.status === 'in_progress';
  const retryable = item.status === 'failed' || item.status === 'canceled';

  return html`<tr data-item-id=${item.item_id} class=${item.user_id === me.user.user_id ? 'mine' : undefined}>
    <td data-label="Item">${item.item_id}</td>
    <td data-label="Status"><span class=${`badge ${item.status}`}>${item.status.replace('_', ' ')}</span></td>
    <td data-label="User"><span class="user" title=${name} data-testid="queue-user">${name}</span></td>
    <td data-label="Created"><time datetime=${item.created_at}>${formatTime(item.created_at)}</time></td>
    <td class="values" data-label="Values" data-testid="queue-values">
      ${
        item.redacted
          ? html`<em>Hidden for privacy</em>`
          : values.map(([k, v]) => html`<span class="kv"><span class="k">${k}</span> ${v}</span>`)
      }
      ${item.error_message && html`<span class="kv error">${item.error_type}: ${item.error_message}</span>`}
    </td>
    <td>
      ${
        mayChange &&
        html`<div class="actions">
          ${
            active &&
            html`<button type="button" class="secondary" aria-label=${`Cancel item ${item.item_id}`}
            onClick=${() => act(() => cancelItem(item.item_id))}>Cancel</button>`
          }
          ${
            retryable &&
            html`<button type="button" class="secondary" aria-label=${`Retry item ${item.item_id}`}
            onClick=${() => act(() => retryItems([item.item_id]))}>Retry</button>`
          }
          <button type="button" class="danger" aria-label=${`Delete item ${item.item_id}`}
            onClick=${() => act(() => deleteItem(item.item_id))}>Delete</button>
        </div>`
      }
    </td>
  </tr>`;
}
