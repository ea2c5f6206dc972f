import { useState } from 'preact/hooks';
import { listBoards } from '../api/boards.js';
import { listImages } from '../api/images.js';
import { listUsers } from '../api/users.js';
import { html } from '../lib/html.js';
import { useLive } from '../lib/use-live.js';
import { useMe } from '../lib/user-context.js';
import { BoardList } from './board-list.js';
import { ImageDetail } from './image-detail.js';
import { UploadForm } from './upload-form.js';

const PAGE = 48;

/** Your boards and images (admins may look at everyone's): thumbnails, the full image, upload. */
export function GalleryView() {
  const me = useMe();
  const [board, setBoard] = useState(/** @type {string | null} */ (null)); // null: all; 'none': uncategorized
  const [starred, setStarred] = useState(false);
  const [everyone, setEveryone] = useState(false);
  const [limit, setLimit] = useState(PAGE);
  const [open, setOpen] = useState(/** @type {import('../api/images.js').Image | null} */ (null));
  const owner = everyone ? 'all' : undefined;
  const images = useLive(
    () => listImages({ board_id: board, starred, limit, user_id: owner }),
    ['invocation_complete'],
    `${board}|${starred}|${limit}|${owner}`,
  );
  const boards = useLive(() => listBoards({ user_id: owner }), ['invocation_complete'], `${owner}`);
  // Whose each image is, when an admin looks at everyone's.
  const users = useLive(async () => (everyone ? listUsers() : []), [], `${everyone}`);
  const names = new Map((users.data ?? []).map((u) => [u.user_id, u.display_name || u.email]));
  const ownerOf = (/** @type {import('../api/images.js').Image} */ img) =>
    everyone ? (names.get(img.user_id) ?? img.user_id) : null;
  const refresh = () => {
    images.reload();
    boards.reload();
  };
  const items = images.data?.items ?? [];

  return html`<div class="gallery">
    <aside class="card boards" aria-labelledby="boards-title">
      <h2 id="boards-title">Boards</h2>
      ${
        me.user.is_admin &&
        html`<label class="check">
        <input type="checkbox" checked=${everyone} onChange=${(/** @type {import('preact').TargetedEvent<HTMLInputElement>} */ e) => setEveryone(e.currentTarget.checked)} />
        Everyone's images
      </label>`
      }
      <${BoardList} boards=${boards.data ?? []} selected=${board} onSelect=${setBoard} onChange=${refresh} />
    </aside>
    <section class="card images" aria-labelledby="images-title">
      <h2 id="images-title">Images ${images.data && html`<span class="muted">(${images.data.total})</span>`}</h2>
      <div class="row">
        <label class="check">
          <input type="checkbox" checked=${starred} onChange=${(/** @type {import('preact').TargetedEvent<HTMLInputElement>} */ e) => setStarred(e.currentTarget.checked)} />
          Starred only
        </label>
        <${UploadForm} boardId=${board && board !== 'none' ? board : null} onUploaded=${refresh} />
      </div>
      ${images.error && html`<p class="error" role="alert">Could not load the images: ${images.error}</p>`}
      <ul class="grid" data-testid="gallery-grid">
        ${items.map(
          (img) => html`<li key=${img.image_name}>
            <button type="button" class="thumb" onClick=${() => setOpen(img)}
              aria-label=${`Open image ${img.image_name}${everyone ? ` by ${ownerOf(img)}` : ''}`}>
              <img src=${img.thumbnail_url} alt="" loading="lazy" class=${img.width <= 128 ? 'pixel' : undefined} />
              ${img.starred && html`<span class="star" aria-hidden="true">★</span>`}
            </button>
            ${everyone && html`<span class="owner" data-testid="image-owner" title=${ownerOf(img)}>${ownerOf(img)}</span>`}
          </li>`,
        )}
      </ul>
      ${images.data && items.length === 0 && html`<p class="muted">No images here yet.</p>`}
      ${
        images.data &&
        images.data.total > items.length &&
        limit < 200 &&
        html`<button type="button" class="secondary" onClick=${() => setLimit(limit + PAGE)}>Show more</button>`
      }
    </section>
    ${
      open &&
      html`<${ImageDetail}
        image=${open}
        owner=${ownerOf(open)}
        boards=${boards.data ?? []}
        onClose=${() => setOpen(null)}
        onChange=${(/** @type {import('../api/images.js').Image | null} */ img) => {
          setOpen(img);
          refresh();
        }}
      />`
    }
  </div>`;
}
