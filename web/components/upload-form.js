import { useState } from 'preact/hooks';
import { uploadImage } from '../api/images.js';
import { html } from '../lib/html.js';

/**
 * Uploads a PNG, JPEG or WebP (stored as PNG) into the board shown, or uncategorized.
 * @param {{ boardId: string | null, onUploaded: () => void }} props
 */
export function UploadForm({ boardId, onUploaded }) {
  const [state, setState] = useState({ busy: false, error: '' });
  const upload = async (/** @type {Event} */ e) => {
    const input = /** @type {HTMLInputElement} */ (e.currentTarget);
    const file = input.files?.[0];
    if (!file) {
      return;
    }
    setState({ busy: true, error: '' });
    try {
      await uploadImage(file, boardId);
      setState({ busy: false, error: '' });
      onUploaded();
    } catch (err) {
      setState({ busy: false, error: /** @type {Error} */ (err).message });
    }
    input.value = '';
  };
  return html`<label class="field upload">
      <span>Upload an image${state.busy ? ' (uploading…)' : ''}</span>
      <input type="file" accept="image/png,image/jpeg,image/webp" onChange=${upload} disabled=${state.busy} />
    </label>
    ${state.error && html`<p class="error" role="alert">${state.error}</p>`}`;
}
