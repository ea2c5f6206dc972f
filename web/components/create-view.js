import { html } from '../lib/html.js';
import { GenerateForm } from './generate-form.js';
import { ProgressPanel } from './progress-panel.js';
import { QueueView } from './queue-view.js';

/** The main page: the generation form and live progress side by side, the shared queue below. */
export function CreateView() {
  return html`<div class="create">
    <${GenerateForm} />
    <${ProgressPanel} />
  </div>
  <${QueueView} />`;
}
