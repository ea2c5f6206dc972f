import { html } from '../lib/html.js';
import { useReuse } from '../lib/reuse.js';

/**
 * Download an image, fill the generate form with its settings (seed included) or only its seed, or make it
 * the starting image of an image-to-image run. These open the Create page; uploads have no settings or
 * seed, so they offer only Download and the starting image.
 * @param {{ image: import('../api/images.js').Image, onReuse?: () => void }} props `onReuse`: after a
 *   reuse (the gallery's dialog closes)
 */
export function ImageActions({ image, onReuse }) {
  const reuse = useReuse();
  const offer = (/** @type {import('../lib/reuse.js').Reuse['kind']} */ kind) => {
    reuse.offer({ kind, image });
    onReuse?.();
  };
  const meta = image.metadata ?? {};
  return html`<div class="row image-actions">
    <a class="button secondary" href=${image.image_url} download=${image.image_name}>Download</a>
    ${
      meta.prompt !== undefined &&
      html`<button type="button" class="secondary" onClick=${() => offer('settings')}>Reuse settings</button>`
    }
    ${
      meta.seed !== undefined &&
      html`<button type="button" class="secondary" onClick=${() => offer('seed')}>Reuse seed</button>`
    }
    <button type="button" class="secondary" onClick=${() => offer('start')}>Use as starting image</button>
  </div>`;
}
