import { MAX_PROMPT_LENGTH } from './constants.js';
import { randomSeed } from './graph.js';

/**
 * The generate form's fields as typed (numbers as their text, so a field may be empty while edited).
 * @typedef {object} FormState
 * @property {string} model
 * @property {string} prompt one prompt; in prompt batch mode, one per line
 * @property {string} negative
 * @property {string} seed
 * @property {boolean} randomize a new random seed for every run
 * @property {string} steps
 * @property {string} cfgScale
 * @property {string} width
 * @property {string} height
 * @property {string} scheduler
 * @property {string} runs
 * @property {string} board a board id, or '' for none
 * @property {'none' | 'prompt' | 'seed'} vary what one line is in batch mode
 * @property {string} seeds in seed batch mode, one per line
 * @property {import('../api/images.js').Image | null} initImage the starting image (image-to-image)
 * @property {number} strength how much of the starting image is redrawn, 0 < strength ≤ 1
 */

/** @type {FormState} */
export const INITIAL_FORM = {
  model: '',
  prompt: '',
  negative: '',
  seed: '42',
  randomize: true,
  steps: '20',
  cfgScale: '7.5',
  width: '512',
  height: '512',
  scheduler: 'euler',
  runs: '1',
  board: '',
  vary: 'none',
  seeds: '',
  initImage: null,
  strength: 0.75,
};

/** @param {string} text */
const lines = (text) =>
  text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * The form with a starting image (or none); an image of a size the noise node takes (a multiple of 8, 64 to
 * 1024) sets the size too, otherwise the server resizes it to the size chosen.
 * @param {FormState} form
 * @param {import('../api/images.js').Image | null} image
 * @returns {FormState}
 */
export function withStartingImage(form, image) {
  const fits = image && [image.width, image.height].every((n) => n % 8 === 0 && n >= 64 && n <= 1024);
  return fits
    ? { ...form, initImage: image, width: String(image.width), height: String(image.height) }
    : { ...form, initImage: image };
}

/**
 * The form applied to what an image hands over (API.md section 6 `metadata`): its settings, seed included
 * (a fixed seed, one prompt), its seed only, or the image itself as the starting image.
 * @param {FormState} form
 * @param {import('./reuse.js').Reuse} reuse
 * @returns {FormState}
 */
export function applyReuse(form, { kind, image }) {
  if (kind === 'start') {
    return withStartingImage(form, image);
  }
  const meta = /** @type {Record<string, unknown>} */ (image.metadata ?? {});
  const text = (/** @type {string} */ key) => {
    const value = meta[key];
    return value === undefined || value === null || value === '' ? null : String(value);
  };
  const seed = text('seed');
  const seeded = seed === null ? {} : { seed, randomize: false };
  if (kind === 'seed') {
    return { ...form, ...seeded, vary: form.vary === 'seed' ? 'none' : form.vary };
  }
  /** @type {[keyof FormState, string][]} */
  const fields = [
    ['model', 'model'],
    ['prompt', 'prompt'],
    ['negative', 'negative_prompt'],
    ['steps', 'steps'],
    ['cfgScale', 'cfg_scale'],
    ['scheduler', 'scheduler'],
    ['width', 'width'],
    ['height', 'height'],
  ];
  const next = { ...form, ...seeded, vary: /** @type {const} */ ('none') };
  for (const [field, key] of fields) {
    const value = text(key);
    if (value !== null) {
      Object.assign(next, { [field]: value });
    }
  }
  return next;
}

/**
 * What `buildBatch` takes, from the form; or the problem to show. In prompt batch mode every line of the
 * prompt is a session; in seed batch mode every line of the seeds.
 * @param {FormState} form
 * @returns {{ values: import('./graph.js').GenerateValues } | { error: string }}
 */
export function toGenerateValues(form) {
  const prompts = form.vary === 'prompt' ? lines(form.prompt) : [form.prompt.trim()];
  if (prompts.length === 0 || prompts[0] === '') {
    return { error: 'Enter a prompt.' };
  }
  const long = prompts.findIndex((p) => p.length > MAX_PROMPT_LENGTH);
  if (long >= 0) {
    return { error: `Prompt ${long + 1} is longer than ${MAX_PROMPT_LENGTH} characters.` };
  }
  const seeds = lines(form.seeds);
  if (form.vary === 'seed' && seeds.length === 0) {
    return { error: 'Enter at least one seed.' };
  }
  const randomized = form.randomize && form.vary !== 'seed';
  return {
    values: {
      model: form.model,
      prompt: prompts[0] ?? '',
      negative: form.negative,
      seed: randomized ? randomSeed() : Number(form.seed),
      randomSeed: randomized,
      steps: Number(form.steps),
      cfgScale: Number(form.cfgScale),
      width: Number(form.width),
      height: Number(form.height),
      scheduler: form.scheduler,
      runs: Number(form.runs),
      vary: form.vary,
      list: form.vary === 'prompt' ? prompts : form.vary === 'seed' ? seeds : [],
      boardId: form.board || null,
      initImage: form.initImage?.image_name ?? null,
      strength: form.strength,
    },
  };
}
