/**
 * The name shown for an item's owner: the display name, else the email, else the user id.
 * @param {{ user_id: string, user_display_name: string | null, user_email: string | null }} item
 */
export const userLabel = (item) => item.user_display_name || item.user_email || item.user_id;

/** @param {string | null} iso */
export const formatTime = (iso) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }) : '';

/**
 * The generation parameters of a session graph (or of an image's metadata) as label/value pairs.
 * @param {{ graph?: { nodes?: Record<string, any> } } | null} session
 * @returns {[string, string][]}
 */
export function sessionValues(session) {
  const nodes = Object.values(session?.graph?.nodes ?? {});
  const byType = (/** @type {string} */ type) => nodes.find((n) => n.type === type) ?? {};
  const model = byType('main_model_loader');
  const noise = byType('noise');
  const denoise = byType('denoise_latents');
  const prompts = nodes.filter((n) => n.type === 'compel');
  const start = nodes.some((n) => n.type === 'i2l') ? 1 - (denoise.denoising_start ?? 0) : undefined;
  const positive = prompts.find((n) => n.id === 'positive') ?? prompts[0] ?? {};
  return /** @type {[string, unknown][]} */ ([
    ['prompt', positive.prompt],
    ['seed', noise.seed],
    ['steps', denoise.steps],
    ['cfg', denoise.cfg_scale],
    ['size', noise.width && `${noise.width}×${noise.height}`],
    ['scheduler', denoise.scheduler],
    ['strength', start === undefined ? undefined : Math.round(start * 100) / 100],
    ['model', model.model?.key],
  ])
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [k, String(v)]);
}

/** What each invocation of the text- or image-to-image graph does, as the progress panel says it. */
const STAGES = /** @type {Record<string, string>} */ ({
  main_model_loader: 'Loading model',
  compel: 'Encoding prompt',
  noise: 'Preparing noise',
  i2l: 'Encoding starting image',
  denoise_latents: 'Denoising',
  l2i: 'Decoding image',
});

/**
 * The running stage of an item in words ("Encoding prompt", "Denoising 12/20", "Decoding image"), from the
 * type of the invocation running and, while denoising, its step.
 * @param {string} type the invocation's type (`invocation.type` of the events)
 * @param {number | null} [step]
 * @param {number | null} [total]
 */
export function stageLabel(type, step = null, total = null) {
  const label = STAGES[type] ?? 'Working';
  return type === 'denoise_latents' && step !== null && total !== null ? `${label} ${step}/${total}` : label;
}
