import { html } from '../lib/html.js';
import { useUpload } from '../lib/use-upload.js';

/**
 * The starting image of an image-to-image run: upload one (it is stored as an uncategorized image of
 * yours), or take one from the gallery ("Use as starting image"); its strength is how much of it is redrawn
 * (`denoising_start` = 1 − strength, API.md section 3).
 * @param {{ image: import('../api/images.js').Image | null, strength: number,
 *   onImage: (image: import('../api/images.js').Image | null) => void, onStrength: (strength: number) => void }} props
 */
export function StartingImage({ image, strength, onImage, onStrength }) {
  const { state, upload } = useUpload(null, onImage);

  return html`<fieldset class="starting-image">
    <legend>Starting image (image-to-image)</legend>
    ${
      image &&
      html`<div class="row">
        <img class="start" data-testid="starting-image" src=${image.thumbnail_url} alt="The starting image"
          title=${image.image_name} width="96" height="96" />
        <label class="field strength">
          <span>Strength <output data-testid="strength">${strength.toFixed(2)}</output></span>
          <input type="range" min="0.05" max="1" step="0.05" value=${strength} aria-label="Strength"
            onInput=${(/** @type {import('preact').TargetedEvent<HTMLInputElement>} */ e) => onStrength(Number(e.currentTarget.value))} />
        </label>
        <button type="button" class="secondary" onClick=${() => onImage(null)}>Remove</button>
      </div>`
    }
    <label class="field">
      <span>${image ? 'Upload another' : 'Upload a starting image'}${state.busy ? ' (uploading…)' : ''}</span>
      <input type="file" accept="image/png,image/jpeg,image/webp" onChange=${upload} disabled=${state.busy} />
    </label>
    ${state.error && html`<p class="error" role="alert">${state.error}</p>`}
  </fieldset>`;
}
