import { useEffect, useRef, useState } from 'preact/hooks';
import { deleteImage, updateImage } from '../api/images.js';
import { formatTime } from '../lib/format.js';
import { html } from '../lib/html.js';
import { ImageActions } from './image-actions.js';

const PARAMS = [
  'model',
  'prompt',
  'negative_prompt',
  'seed',
  'steps',
  'cfg_scale',
  'scheduler',
  'width',
  'height',
];

/**
 * The full image in a modal dialog with its parameters: download, reuse its settings or seed, star, move to
 * a board, delete.
 * @param {{ image: import('../api/images.js').Image, owner: string | null, boards: import('../api/boards.js').Board[], onClose: () => void,
 *   onChange: (image: import('../api/images.js').Image | null) => void }} props
 */
export function ImageDetail({ image, owner, boards, onClose, onChange }) {
  const dialog = useRef(/** @type {HTMLDialogElement | null} */ (null));
  const [error, setError] = useState('');
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const patch = async (/** @type {{ board_id?: string | null, starred?: boolean }} */ changes) => {
    try {
      onChange(await updateImage(image.image_name, changes));
      setError('');
    } catch (err) {
      setError(/** @type {Error} */ (err).message);
    }
  };
  const remove = async () => {
    if (!confirm('Delete this image for good?')) {
      return;
    }
    try {
      await deleteImage(image.image_name);
      onChange(null);
    } catch (err) {
      setError(/** @type {Error} */ (err).message);
    }
  };
  const meta = image.metadata ?? {};

  return html`<dialog ref=${dialog} class="image-detail" onClose=${onClose} aria-labelledby="image-title">
    <h2 id="image-title">Image ${image.width}×${image.height}</h2>
    <a href=${image.image_url} target="_blank" rel="noopener">
      <img src=${image.image_url} alt="The full image" width=${image.width} height=${image.height} />
    </a>
    <dl class="values">
      ${PARAMS.filter((k) => meta[k] !== undefined && meta[k] !== null && meta[k] !== '').map(
        (k) => html`<dt>${k.replace('_', ' ')}</dt><dd>${String(meta[k])}</dd>`,
      )}
      ${owner && html`<dt>owner</dt><dd>${owner}</dd>`}
      <dt>created</dt><dd>${formatTime(image.created_at)}</dd>
    </dl>
    <${ImageActions} image=${image} onReuse=${() => dialog.current?.close()} />
    <div class="row">
      <button type="button" class="secondary" aria-pressed=${image.starred} onClick=${() => patch({ starred: !image.starred })}>
        ${image.starred ? '★ Starred' : '☆ Star'}
      </button>
      <label class="field">
        <span>Board</span>
        <select value=${image.board_id ?? ''} onChange=${(/** @type {import('preact').TargetedEvent<HTMLSelectElement>} */ e) => patch({ board_id: e.currentTarget.value || null })}>
          <option value="">Uncategorized</option>
          ${boards
            .filter((b) => b.user_id === image.user_id)
            .map((b) => html`<option value=${b.board_id}>${b.board_name}</option>`)}
        </select>
      </label>
      <button type="button" class="danger" onClick=${remove}>Delete</button>
      <form method="dialog"><button type="submit" class="secondary">Close</button></form>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </dialog>`;
}
