import { useState } from 'preact/hooks';
import { getImage } from '../api/images.js';
import { getQueueItem } from '../api/queue.js';
import { useEvents } from '../lib/bus.js';
import { sessionValues, stageLabel, userLabel } from '../lib/format.js';
import { html } from '../lib/html.js';
import { useMe } from '../lib/user-context.js';
import { ImageActions } from './image-actions.js';

/** The statuses an item ends in. @type {import('../lib/constants.js').QueueStatus[]} */
const FINISHED = ['completed', 'failed', 'canceled'];

/**
 * @typedef {object} Progress
 * @property {number} itemId
 * @property {import('../api/queue.js').QueueItem | null} item the queue item, once fetched (owner name and values)
 * @property {string} node the running invocation's type (shown in words: `stageLabel`)
 * @property {number | null} step
 * @property {number | null} total
 * @property {number} percentage 0..1
 * @property {string | null} preview a data URL
 * @property {string} status
 * @property {import('../api/images.js').Image | null} image the finished image
 */

/**
 * The running item's progress from the event stream: your own (admins: anyone's, since only they receive
 * others' events), with the step, a progress bar and the step preview, then the finished image.
 */
export function ProgressPanel() {
  const me = useMe();
  const [p, setP] = useState(/** @type {Progress | null} */ (null));

  const track = (/** @type {any} */ data) => {
    if (data.user_id !== me.user.user_id && !me.user.is_admin) {
      return null;
    }
    if (p?.itemId === data.item_id) {
      return p;
    }
    const fresh = {
      itemId: data.item_id,
      item: null,
      node: '',
      step: null,
      total: null,
      percentage: 0,
      preview: null,
      status: 'in_progress',
      image: null,
    };
    getQueueItem(data.item_id).then(
      (item) => setP((cur) => (cur && cur.itemId === item.item_id ? { ...cur, item } : cur)),
      () => undefined,
    );
    return fresh;
  };

  useEvents(
    ['invocation_started', 'invocation_progress', 'invocation_complete', 'invocation_error'],
    (data, name) => {
      const cur = track(data);
      if (!cur) {
        return;
      }
      const next = { ...cur, node: data.invocation?.type ?? cur.node };
      if (name === 'invocation_progress' && data.invocation?.type === 'denoise_latents') {
        Object.assign(next, {
          step: data.step,
          total: data.total_steps,
          percentage: data.percentage,
          preview: data.image?.dataURL ?? next.preview,
        });
      } else if (name === 'invocation_complete' && data.result?.image?.image_name) {
        getImage(data.result.image.image_name).then(
          (image) => setP((c) => (c && c.itemId === data.item_id ? { ...c, image } : c)),
          () => undefined,
        );
      } else if (name === 'invocation_error') {
        next.status = 'failed';
      }
      setP(next);
    },
  );
  useEvents(['queue_item_status_changed'], (data) => {
    if (p && p.itemId === data.item_id && FINISHED.includes(data.status)) {
      setP({ ...p, status: data.status, percentage: data.status === 'completed' ? 1 : p.percentage });
    }
  });

  if (!p) {
    return html`<section class="card progress" aria-labelledby="progress-title">
      <h2 id="progress-title">Progress</h2>
      <p class="muted">Nothing of yours is running.</p>
    </section>`;
  }
  const values = sessionValues(p.item?.session ?? null);
  const owner = p.item && p.item.user_id !== me.user.user_id ? ` for ${userLabel(p.item)}` : '';
  return html`<section class="card progress" aria-labelledby="progress-title" data-testid="progress">
    <h2 id="progress-title">Progress</h2>
    <p>
      Item #${p.itemId}${owner}: <strong data-testid="progress-status">${p.status.replace('_', ' ')}</strong>
    </p>
    <progress max="1" value=${p.percentage} aria-label="Progress of item ${p.itemId}"></progress>
    ${
      p.node &&
      p.status === 'in_progress' &&
      html`<p data-testid="progress-stage">${stageLabel(p.node, p.step, p.total)}</p>`
    }
    ${
      p.image
        ? html`<img class="result" data-testid="result-image" src=${p.image.image_url} alt="Finished image of item ${p.itemId}" width=${p.image.width} height=${p.image.height} />`
        : p.preview &&
          html`<img class="preview" data-testid="preview-image" src=${p.preview} alt="Preview of item ${p.itemId}" />`
    }
    ${p.image && html`<${ImageActions} image=${p.image} />`}
    ${values.length > 0 && html`<dl class="values" data-testid="progress-values">${values.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`}
  </section>`;
}
