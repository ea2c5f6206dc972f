import { useEffect, useState } from 'preact/hooks';
import { listBoards } from '../api/boards.js';
import { listModels } from '../api/models.js';
import { enqueueBatch } from '../api/queue.js';
import { MAX_PROMPT_LENGTH, MAX_SEED, SCHEDULERS } from '../lib/constants.js';
import { applyReuse, INITIAL_FORM, toGenerateValues, withStartingImage } from '../lib/form-values.js';
import { batchSeeds, buildBatch } from '../lib/graph.js';
import { html } from '../lib/html.js';
import { useReuse } from '../lib/reuse.js';
import { useMe } from '../lib/user-context.js';
import { Field } from './field.js';
import { StartingImage } from './starting-image.js';

const SIZES = ['64', '128', '256', '384', '512', '640', '768', '1024'];

/** @typedef {import('../lib/form-values.js').FormState} FormState */
/** @typedef {import('preact').TargetedEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>} InputEvent */

/**
 * The form as last left, per user: switching to the gallery and back keeps what was typed (module state,
 * so a reload starts afresh).
 * @type {{ userId: string, form: FormState } | null}
 */
let kept = null;

/** @param {number[]} seeds */
const seedText = (seeds) =>
  seeds.length === 1
    ? `seed ${seeds[0]}`
    : `seeds ${seeds.slice(0, 4).join(', ')}${seeds.length > 4 ? ', …' : ''}`;

/**
 * The generation form: it builds the text-to-image graph and enqueues it as one batch. In batch mode each
 * line of the prompt (or of the seeds) is a session. With a random seed the seeds used are reported, and
 * unticking "Random seed" keeps the last one. An image's "Reuse settings" / "Reuse seed" fill it.
 */
export function GenerateForm() {
  const [models, setModels] = useState(/** @type {{ key: string, name: string }[]} */ ([]));
  const [boards, setBoards] = useState(/** @type {{ board_id: string, board_name: string }[]} */ ([]));
  const me = useMe();
  const [form, setForm] = useState(() => (kept?.userId === me.user.user_id ? kept.form : INITIAL_FORM));
  useEffect(() => {
    kept = { userId: me.user.user_id, form };
  }, [form, me.user.user_id]);
  const [result, setResult] = useState({ ok: '', error: '' });
  const [busy, setBusy] = useState(false);
  const reuse = useReuse();

  useEffect(() => {
    listModels().then(
      (list) => {
        setModels(list);
        setForm((f) => (f.model ? f : { ...f, model: list[0]?.key ?? '' }));
      },
      (err) => setResult({ ok: '', error: err.message }),
    );
    listBoards().then(setBoards, () => setBoards([]));
  }, []);

  useEffect(() => {
    if (reuse.pending) {
      const applied = reuse.pending;
      setForm((f) => applyReuse(f, applied));
      setResult({ ok: '', error: '' });
      reuse.taken();
    }
  }, [reuse]);

  const set = (/** @type {Partial<FormState>} */ changes) => setForm((f) => ({ ...f, ...changes }));
  /** The props of a control bound to a text field of the form. */
  const bind = (/** @type {keyof FormState} */ key) => ({
    value: form[key],
    onInput: (/** @type {InputEvent} */ e) => set({ [key]: e.currentTarget.value }),
  });

  const submit = async (/** @type {SubmitEvent} */ e) => {
    e.preventDefault();
    const made = toGenerateValues(form);
    if ('error' in made) {
      setResult({ ok: '', error: made.error });
      return;
    }
    const batch = buildBatch(made.values);
    const seeds = batchSeeds(batch);
    setBusy(true);
    try {
      const res = await enqueueBatch(batch);
      const ids =
        res.item_ids.length === 1 ? `#${res.item_ids[0]}` : `#${res.item_ids[0]}–#${res.item_ids.at(-1)}`;
      const items = res.enqueued === 1 ? 'item' : `${res.enqueued} items`;
      setResult({ ok: `Queued ${items} ${ids} with ${seedText(seeds)}.`, error: '' });
      if (made.values.randomSeed) {
        set({ seed: String(seeds.at(-1)) });
      }
    } catch (err) {
      setResult({ ok: '', error: /** @type {Error} */ (err).message });
    } finally {
      setBusy(false);
    }
  };

  const chooseImage = (/** @type {import('../api/images.js').Image | null} */ image) =>
    setForm((f) => withStartingImage(f, image));
  const sizes = (/** @type {string} */ current) =>
    (SIZES.includes(current) ? SIZES : [...SIZES, current]).map((s) => html`<option>${s}</option>`);
  const batchPrompts = form.vary === 'prompt';

  return html`<form class="card generate" onSubmit=${submit} aria-labelledby="generate-title">
    <h2 id="generate-title">Generate</h2>
    <${Field} label="Model">
      <select name="model" required ...${bind('model')}>
        ${models.map((m) => html`<option value=${m.key}>${m.name}</option>`)}
      </select>
    <//>
    <${Field} label=${batchPrompts ? 'Prompts, one per line' : 'Prompt'}>
      <textarea name="prompt" rows=${batchPrompts ? 5 : 3} maxlength=${batchPrompts ? undefined : MAX_PROMPT_LENGTH}
        required ...${bind('prompt')}></textarea>
    <//>
    <${Field} label="Negative prompt"><textarea name="negative" rows="2" maxlength=${MAX_PROMPT_LENGTH} ...${bind('negative')}></textarea><//>
    <${StartingImage} image=${form.initImage} strength=${form.strength} onImage=${chooseImage}
      onStrength=${(/** @type {number} */ strength) => set({ strength })} />
    ${
      form.vary === 'seed'
        ? html`<${Field} label="Seeds, one per line"><textarea name="seeds" rows="3" required ...${bind('seeds')}></textarea><//>`
        : html`<div class="row">
          <${Field} label="Seed">
            <input name="seed" type="number" min="0" max=${MAX_SEED} required disabled=${form.randomize}
              placeholder=${form.randomize ? 'random' : ''} value=${form.randomize ? '' : form.seed}
              onInput=${(/** @type {InputEvent} */ e) => set({ seed: e.currentTarget.value })} />
          <//>
          <label class="check">
            <input type="checkbox" checked=${form.randomize} onChange=${(/** @type {import('preact').TargetedEvent<HTMLInputElement>} */ e) => set({ randomize: e.currentTarget.checked })} />
            Random seed
          </label>
        </div>`
    }
    <div class="row">
      <${Field} label="Steps"><input name="steps" type="number" min="1" max="200" required ...${bind('steps')} /><//>
      <${Field} label="CFG scale"><input name="cfg_scale" type="number" min="0" max="30" step="0.5" required ...${bind('cfgScale')} /><//>
      <${Field} label="Scheduler">
        <select name="scheduler" ...${bind('scheduler')}>${SCHEDULERS.map((s) => html`<option>${s}</option>`)}</select>
      <//>
    </div>
    <div class="row">
      <${Field} label="Width"><select name="width" ...${bind('width')}>${sizes(form.width)}</select><//>
      <${Field} label="Height"><select name="height" ...${bind('height')}>${sizes(form.height)}</select><//>
      <${Field} label="Runs"><input name="runs" type="number" min="1" max="10000" required ...${bind('runs')} /><//>
    </div>
    <${Field} label="Board">
      <select name="board" ...${bind('board')}>
        <option value="">None (uncategorized)</option>
        ${boards.map((b) => html`<option value=${b.board_id}>${b.board_name}</option>`)}
      </select>
    <//>
    <fieldset class="vary">
      <legend>Batch: one session per line of</legend>
      ${
        /** @type {const} */ (['none', 'prompt', 'seed']).map(
          (v) => html`<label class="check">
          <input type="radio" name="vary" value=${v} checked=${form.vary === v} onChange=${() => set({ vary: v })} />
          ${v === 'none' ? 'nothing (single)' : `the ${v}`}
        </label>`,
        )
      }
    </fieldset>
    ${result.error && html`<p class="error" role="alert">${result.error}</p>`}
    ${result.ok && html`<p class="ok" role="status" data-testid="enqueued">${result.ok}</p>`}
    <button type="submit" disabled=${busy || models.length === 0}>Generate</button>
  </form>`;
}
