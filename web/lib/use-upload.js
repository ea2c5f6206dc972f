import { useState } from 'preact/hooks';
import { uploadImage } from '../api/images.js';

/**
 * A file input's `onChange` that uploads the chosen file into `boardId` (or uncategorized), with its busy
 * and error state; `onUploaded` gets the stored image. The input is emptied after each try.
 * @param {string | null} boardId
 * @param {(image: import('../api/images.js').Image) => void} onUploaded
 */
export function useUpload(boardId, onUploaded) {
  const [state, setState] = useState({ busy: false, error: '' });
  const upload = async (/** @type {Event} */ e) => {
    const input = /** @type {HTMLInputElement} */ (e.currentTarget);
    const file = input.files?.[0];
    if (!file) {
      return;
    }
    setState({ busy: true, error: '' });
    try {
      const image = await uploadImage(file, boardId);
      setState({ busy: false, error: '' });
      onUploaded(image);
    } catch (err) {
      setState({ busy: false, error: /** @type {Error} */ (err).message });
    }
    input.value = '';
  };
  return { state, upload };
}
