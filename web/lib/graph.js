export const randomSeed = () => crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;

/**
 * @typedef {object} GenerateValues
 * @property {string} model
 * @property {string} prompt
 * @property {string} negative
 * @property {number} seed
 * @property {boolean} randomSeed whether `seed` was drawn at random (then every run draws its own)
 * @property {number} steps
 * @property {number} cfgScale
 * @property {number} width
 * @property {number} height
 * @property {string} scheduler
 * @property {number} runs
 * @property {'prompt' | 'seed' | 'none'} vary which field the list varies
 * @property {string[]} list one prompt or seed per session
 * @property {string | null} boardId
 * @property {string | null} [initImage] the starting image's name: image-to-image
 * @property {number} [strength] how much of the starting image is redrawn, 0 < strength ≤ 1
 */

const edge = (
  /** @type {string} */ from,
  /** @type {string} */ out,
  /** @type {string} */ to,
  /** @type {string} */ input,
) => ({
  source: { node_id: from, field: out },
  destination: { node_id: to, field: input },
});

/**
 * The text-to-image graph of API.md section 3 (model → prompts → noise → denoise → l2i), and the batch around
 * it: a list of prompts or seeds becomes a group of `data`, each entry one session, times `runs`. With a
 * starting image it is image-to-image: an `i2l` node encodes the image with the model's VAE into
 * `denoise.latents`, and `denoising_start` is 1 − strength.
 * @param {GenerateValues} v
 */
export function buildBatch(v) {
  const graph = {
    nodes: {
      model: { id: 'model', type: 'main_model_loader', model: { key: v.model } },
      positive: { id: 'positive', type: 'compel', prompt: v.prompt },
      negative: { id: 'negative', type: 'compel', prompt: v.negative },
      noise: { id: 'noise', type: 'noise', seed: v.seed, width: v.width, height: v.height },
      denoise: {
        id: 'denoise',
        type: 'denoise_latents',
        steps: v.steps,
        cfg_scale: v.cfgScale,
        scheduler: v.scheduler,
        denoising_start: 0,
        denoising_end: 1,
      },
      l2i: {
        id: 'l2i',
        type: 'l2i',
        is_intermediate: false,
        ...(v.boardId ? { board: { board_id: v.boardId } } : {}),
      },
      ...(v.initImage ? { i2l: { id: 'i2l', type: 'i2l', image: { image_name: v.initImage } } } : {}),
    },
    edges: [
      edge('model', 'clip', 'positive', 'clip'),
      edge('model', 'clip', 'negative', 'clip'),
      edge('model', 'unet', 'denoise', 'unet'),
      edge('positive', 'conditioning', 'denoise', 'positive_conditioning'),
      edge('negative', 'conditioning', 'denoise', 'negative_conditioning'),
      edge('noise', 'noise', 'denoise', 'noise'),
      edge('denoise', 'latents', 'l2i', 'latents'),
      edge('model', 'vae', 'l2i', 'vae'),
      ...(v.initImage
        ? [edge('model', 'vae', 'i2l', 'vae'), edge('i2l', 'latents', 'denoise', 'latents')]
        : []),
    ],
  };
  if (v.initImage) {
    // Hundredths, so that 0.7 does not become 0.30000000000000004.
    graph.nodes.denoise.denoising_start = Math.round((1 - (v.strength ?? 0.75)) * 100) / 100;
  }
  const items = v.list.map((s) => s.trim()).filter(Boolean);
  const data = [];
  if (v.vary === 'prompt' && items.length > 0) {
    data.push([{ node_path: 'positive', field_name: 'prompt', items }]);
  }
  if (v.vary === 'seed' && items.length > 0) {
    data.push([{ node_path: 'noise', field_name: 'seed', items: items.map(Number) }]);
  }
  let runs = v.runs;
  if (v.randomSeed && v.vary !== 'seed' && runs > 1) {
    // Runs of one seed would repeat one image: each run gets its own random seed instead.
    data.push([{ node_path: 'noise', field_name: 'seed', items: Array.from({ length: runs }, randomSeed) }]);
    runs = 1;
  }
  return { graph, runs, origin: 'easel-web', ...(data.length > 0 ? { data } : {}) };
}

/**
 * The seeds the sessions of a batch run with: those of its seed group, else the graph's one seed.
 * @param {ReturnType<typeof buildBatch>} batch
 * @returns {number[]}
 */
export function batchSeeds(batch) {
  const group = (batch.data ?? []).flat().find((d) => d.node_path === 'noise' && d.field_name === 'seed');
  return group ? group.items.map(Number) : [batch.graph.nodes.noise.seed];
}
