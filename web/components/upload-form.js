import { html } from '../lib/html.js';
import { useUpload } from '../lib/use-upload.js';

/**
 * Uploads a PNG, JPEG or WebP (stored as PNG) into the board shown, or uncategorized.
 * @param {{ boardId: string | null, onUploaded: () => void }} props
 */
export function UploadForm({ boardId, onUploaded }) {
  const { state, upload } = useUpload(boardId, () => onUploaded());
  return html`<label class="field upload">
      <span>Upload an image${state.busy ? ' (uploading…)' : ''}</span>
      <input type="file" accept="image/png,image/jpeg,image/webp" onChange=${upload} disabled=${state.busy} />
    </label>
    ${state.error && html`<p class="error" role="alert">${state.error}</p>`}`;
}
