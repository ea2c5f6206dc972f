import { html } from '../lib/html.js';

/**
 * A labelled control: the label wraps it, so it needs no id.
 * @param {{ label: string, children: any }} props
 */
export function Field({ label, children }) {
  return html`<label class="field"><span>${label}</span>${children}</label>`;
}
