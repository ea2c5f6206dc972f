import { useEffect, useState } from 'preact/hooks';
import { createBoard, deleteBoard } from '../api/boards.js';
import { getImage } from '../api/images.js';
import { html } from '../lib/html.js';

/**
 * A board's cover thumbnail: boards name their cover image, whose signed URL comes from the image itself.
 * @param {{ name: string | null }} props
 */
function Cover({ name }) {
  const [url, setUrl] = useState('');
  useEffect(() => {
    setUrl('');
    if (name) {
      getImage(name).then(
        (img) => setUrl(img.thumbnail_url),
        () => undefined,
      );
    }
  }, [name]);
  return url
    ? html`<img class="cover" src=${url} alt="" />`
    : html`<span class="cover empty" aria-hidden="true"></span>`;
}

/**
 * The board picker with counts and covers, plus "All" and "Uncategorized", and the forms to add and delete.
 * @param {{ boards: import('../api/boards.js').Board[], selected: string | null, onSelect: (id: string | null) => void, onChange: () => void }} props
 */
export function BoardList({ boards, selected, onSelect, onChange }) {
  const [error, setError] = useState('');
  const create = async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const form = /** @type {HTMLFormElement} */ (e.currentTarget);
    try {
      await createBoard(String(new FormData(form).get('board_name')));
      form.reset();
      setError('');
      onChange();
    } catch (err) {
      setError(/** @type {Error} */ (err).message);
    }
  };
  const remove = async (/** @type {import('../api/boards.js').Board} */ board) => {
    if (!confirm(`Delete the board "${board.board_name}"? Its images become uncategorized.`)) {
      return;
    }
    await deleteBoard(board.board_id).catch((/** @type {Error} */ err) => setError(err.message));
    onSelect(null);
    onChange();
  };
  const entry = (/** @type {string | null} */ id, /** @type {import('preact').ComponentChildren} */ label) =>
    html`<button type="button" class="board" aria-pressed=${selected === id} onClick=${() => onSelect(id)}>${label}</button>`;

  return html`<ul class="board-list">
      <li>${entry(null, 'All images')}</li>
      <li>${entry('none', 'Uncategorized')}</li>
      ${boards.map(
        (b) => html`<li key=${b.board_id}>
          ${entry(
            b.board_id,
            html`<${Cover} name=${b.cover_image_name} /> <span>${b.board_name}</span>
            <span class="count" aria-label=${`${b.image_count} images`}>${b.image_count}</span>`,
          )}
          <button type="button" class="icon danger" aria-label=${`Delete board ${b.board_name}`} onClick=${() => remove(b)}>×</button>
        </li>`,
      )}
    </ul>
    <form class="row" onSubmit=${create}>
      <label class="field"><span>New board</span><input name="board_name" maxlength="300" required /></label>
      <button type="submit">Add</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}`;
}
