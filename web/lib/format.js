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
  const positive = prompts.find((n) => n.id === 'positive') ?? prompts[0] ?? {};
  return /** @type {[string, unknown][]} */ ([
    ['prompt', positive.prompt],
    ['seed', noise.seed],
    ['steps', denoise.steps],
    ['cfg', denoise.cfg_scale],
    ['size', noise.width && `${noise.width}×${noise.height}`],
    ['scheduler', denoise.scheduler],
    ['model', model.model?.key],
  ])
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => [k, String(v)]);
}
