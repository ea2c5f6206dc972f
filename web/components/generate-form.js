import { useEffect, useState } from 'preact/hooks';
import { listBoards } from '../api/boards.js';
import { listModels } from '../api/models.js';
import { enqueueBatch } from '../api/queue.js';
import { MAX_PROMPT_LENGTH, MAX_SEED, SCHEDULERS } from '../lib/constants.js';
import { buildBatch, randomSeed } from '../lib/graph.js';
import { html } from '../lib/html.js';
import { Field } from './field.js';

const SIZES = [64, 128, 256, 384, 512, 640, 768, 1024];

/** The generation form: it builds the text-to-image graph and enqueues it as one batch. */
export function GenerateForm() {
  const [models, setModels] = useState(/** @type {{ key: string, name: string }[]} */ ([]));
  const [boards, setBoards] = useState(/** @type {{ board_id: string, board_name: string }[]} */ ([]));
  const [randomize, setRandomize] = useState(true);
  const [vary, setVary] = useState('none');
  const [result, setResult] = useState({ ok: '', error: '' });
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    listModels().then(setModels, (err) => setResult({ ok: '', error: err.message }));
    listBoards().then(setBoards, () => setBoards([]));
  }, []);

  const submit = async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const f = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
    const num = (/** @type {string} */ k) => Number(f.get(k));
    const batch = buildBatch({
      model: String(f.get('model')),
      prompt: String(f.get('prompt')),
      negative: String(f.get('negative')),
      seed: randomize ? randomSeed() : num('seed'),
      randomSeed: randomize,
      steps: num('steps'),
      cfgScale: num('cfg_scale'),
      width: num('width'),
      height: num('height'),
      scheduler: String(f.get('scheduler')),
      runs: num('runs'),
      vary: /** @type {'prompt' | 'seed' | 'none'} */ (vary),
      list: String(f.get('list') ?? '').split('\n'),
      boardId: String(f.get('board') ?? '') || null,
    });
    setBusy(true);
    try {
      const res = await enqueueBatch(batch);
      const ids =
        res.item_ids.length === 1 ? `#${res.item_ids[0]}` : `#${res.item_ids[0]}–#${res.item_ids.at(-1)}`;
      setResult({ ok: `Queued ${res.enqueued === 1 ? 'item' : `${res.enqueued} items`} ${ids}.`, error: '' });
    } catch (err) {
      setResult({ ok: '', error: /** @type {Error} */ (err).message });
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="card generate" onSubmit=${submit} aria-labelledby="generate-title">
    <h2 id="generate-title">Generate</h2>
    <${Field} label="Model">
      <select name="model" required>
        ${models.map((m) => html`<option value=${m.key}>${m.name}</option>`)}
      </select>
    <//>
    <${Field} label="Prompt"><textarea name="prompt" rows="3" maxlength=${MAX_PROMPT_LENGTH} required></textarea><//>
    <${Field} label="Negative prompt"><textarea name="negative" rows="2" maxlength=${MAX_PROMPT_LENGTH}></textarea><//>
    <div class="row">
      <${Field} label="Seed">
        <input name="seed" type="number" min="0" max=${MAX_SEED} value="42" disabled=${randomize} />
      <//>
      <label class="check">
        <input type="checkbox" checked=${randomize} onChange=${(/** @type {import('preact').TargetedEvent<HTMLInputElement>} */ e) => setRandomize(e.currentTarget.checked)} />
        Random seed
      </label>
    </div>
    <div class="row">
      <${Field} label="Steps"><input name="steps" type="number" min="1" max="200" value="20" required /><//>
      <${Field} label="CFG scale"><input name="cfg_scale" type="number" min="0" max="30" step="0.5" value="7.5" required /><//>
      <${Field} label="Scheduler">
        <select name="scheduler">${SCHEDULERS.map((s) => html`<option>${s}</option>`)}</select>
      <//>
    </div>
    <div class="row">
      <${Field} label="Width">
        <select name="width">${SIZES.map((s) => html`<option selected=${s === 512}>${s}</option>`)}</select>
      <//>
      <${Field} label="Height">
        <select name="height">${SIZES.map((s) => html`<option selected=${s === 512}>${s}</option>`)}</select>
      <//>
      <${Field} label="Runs"><input name="runs" type="number" min="1" max="10000" value="1" required /><//>
    </div>
    <${Field} label="Board">
      <select name="board">
        <option value="">None (uncategorized)</option>
        ${boards.map((b) => html`<option value=${b.board_id}>${b.board_name}</option>`)}
      </select>
    <//>
    <fieldset class="vary">
      <legend>Batch: one session per line of</legend>
      ${['none', 'prompt', 'seed'].map(
        (v) => html`<label class="check">
          <input type="radio" name="vary" value=${v} checked=${vary === v} onChange=${() => setVary(v)} />
          ${v === 'none' ? 'nothing (single)' : `${v}s`}
        </label>`,
      )}
      ${
        vary !== 'none' &&
        html`<${Field} label=${vary === 'prompt' ? 'Prompts, one per line' : 'Seeds, one per line'}>
        <textarea name="list" rows="3" required></textarea>
      <//>`
      }
    </fieldset>
    ${result.error && html`<p class="error" role="alert">${result.error}</p>`}
    ${result.ok && html`<p class="ok" role="status" data-testid="enqueued">${result.ok}</p>`}
    <button type="submit" disabled=${busy || models.length === 0}>Generate</button>
  </form>`;
}
