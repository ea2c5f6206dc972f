import { useState } from 'preact/hooks';
import { clearQueue, getQueueStatus, setProcessor } from '../api/queue.js';
import { html } from '../lib/html.js';
import { useLive } from '../lib/use-live.js';

/**
 * Pause or resume the processor, and clear the whole queue.
 * @param {{ onChange: () => void }} props called after each action
 */
export function ProcessorControls({ onChange }) {
  const status = useLive(getQueueStatus, ['queue_status', 'queue_cleared'], '');
  const [note, setNote] = useState({ ok: '', error: '' });
  const run = async (/** @type {() => Promise<string>} */ action) => {
    try {
      setNote({ ok: await action(), error: '' });
    } catch (err) {
      setNote({ ok: '', error: /** @type {Error} */ (err).message });
    }
    status.reload();
    onChange();
  };
  const started = status.data?.processor.is_started;
  const toggle = (/** @type {'pause' | 'resume'} */ verb) =>
    run(async () => {
      await setProcessor(verb);
      return verb === 'pause' ? 'Paused.' : 'Resumed.';
    });
  const clear = () => {
    if (confirm('Delete every item of the queue, everyone’s, and cancel the running one?')) {
      void run(async () => `Deleted ${(await clearQueue()).deleted} items.`);
    }
  };

  return html`<section class="card" aria-labelledby="processor-title">
    <h2 id="processor-title">Processor</h2>
    <p role="status">
      ${status.data ? `The processor is ${started ? 'running' : 'paused'}; ${status.data.queue.pending} pending, ${status.data.queue.in_progress} in progress.` : 'Loading…'}
    </p>
    <div class="row">
      ${
        started
          ? html`<button type="button" onClick=${() => toggle('pause')}>Pause</button>`
          : html`<button type="button" onClick=${() => toggle('resume')}>Resume</button>`
      }
      <button type="button" class="danger" onClick=${clear}>Clear the queue</button>
    </div>
    ${note.ok && html`<p class="ok">${note.ok}</p>`}
    ${note.error && html`<p class="error" role="alert">${note.error}</p>`}
  </section>`;
}
