import type { GraphContext } from '../../src/runtime/graph.ts';
import type { Graph } from '../../src/runtime/graph-schema.ts';

export const TINY_MODEL_KEY = 'tiny-sd';

export interface TextToImageOptions {
  model?: string;
  prompt?: string;
  negative?: string;
  seed?: number;
  width?: number;
  height?: number;
  steps?: number;
  board_id?: string;
}

/**
 * A valid text-to-image graph: main_model_loader → compel ×2 (positive, negative) → noise →
 * denoise_latents → l2i. Node ids: `model`, `positive`, `negative`, `noise`, `denoise`, `l2i`. Small
 * (64 × 64, 4 steps) so runtime tests stay fast. A fresh object on every call, so tests may change it.
 * @example const graph = textToImageGraph({ prompt: 'a red cube', seed: 7 });
 */
export function textToImageGraph(options: TextToImageOptions = {}): Graph {
  const edge = (from: string, out: string, to: string, input: string) => ({
    source: { node_id: from, field: out },
    destination: { node_id: to, field: input },
  });
  return {
    id: 'text-to-image',
    nodes: {
      model: { id: 'model', type: 'main_model_loader', model: { key: options.model ?? TINY_MODEL_KEY } },
      positive: { id: 'positive', type: 'compel', prompt: options.prompt ?? 'a photo of a cat' },
      negative: { id: 'negative', type: 'compel', prompt: options.negative ?? '' },
      noise: {
        id: 'noise',
        type: 'noise',
        seed: options.seed ?? 42,
        width: options.width ?? 64,
        height: options.height ?? 64,
      },
      denoise: {
        id: 'denoise',
        type: 'denoise_latents',
        steps: options.steps ?? 4,
        cfg_scale: 7.5,
        scheduler: 'euler',
        denoising_start: 0,
        denoising_end: 1,
      },
      l2i: {
        id: 'l2i',
        type: 'l2i',
        is_intermediate: false,
        ...(options.board_id === undefined ? {} : { board: { board_id: options.board_id } }),
      },
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
    ],
  };
}

/**
 * `textToImageGraph` made image-to-image: an `i2l` node (`i2l`) encodes `image_name` with the model's VAE
 * and feeds `denoise.latents`; `denoise` starts at `denoising_start` (strength 1 − start; default 0.5).
 * @example const graph = imageToImageGraph({ image_name: image.image_name, denoising_start: 0.5 });
 */
export function imageToImageGraph(
  options: TextToImageOptions & { image_name: string; denoising_start?: number },
): Graph {
  const graph = textToImageGraph(options);
  graph.nodes.i2l = { id: 'i2l', type: 'i2l', image: { image_name: options.image_name } };
  (graph.nodes.denoise as Record<string, unknown>).denoising_start = options.denoising_start ?? 0.5;
  graph.edges.push(
    { source: { node_id: 'model', field: 'vae' }, destination: { node_id: 'i2l', field: 'vae' } },
    { source: { node_id: 'i2l', field: 'latents' }, destination: { node_id: 'denoise', field: 'latents' } },
  );
  return graph;
}

/**
 * A validation context knowing the given models (default: the tiny model), owning the given boards and
 * reading the given images.
 */
export function graphContext(
  opts: { models?: string[]; boards?: string[]; images?: string[] } = {},
): GraphContext & { modelsAsked: string[]; boardsAsked: string[] } {
  const models = new Set(opts.models ?? [TINY_MODEL_KEY]);
  const boards = new Set(opts.boards ?? []);
  const images = new Set(opts.images ?? []);
  const modelsAsked: string[] = [];
  const boardsAsked: string[] = [];
  return {
    modelsAsked,
    boardsAsked,
    modelExists: (key) => {
      modelsAsked.push(key);
      return models.has(key);
    },
    boardOwned: (id) => {
      boardsAsked.push(id);
      return boards.has(id);
    },
    imageReadable: (name) => images.has(name),
  };
}

/**
 * The events of one item running `textToImageGraph` to completion, as `event:node[:step/total]` strings
 * (status changes as `status:<status>`): what the scheduler publishes to the owner and the admins.
 * @example expect(trace(events, itemId)).toEqual(textToImageTrace(2));
 */
export function textToImageTrace(steps: number): string[] {
  return [
    'status:in_progress',
    'started:model',
    'progress:model:0/1',
    'complete:model',
    'started:negative',
    'complete:negative',
    'started:noise',
    'complete:noise',
    'started:positive',
    'complete:positive',
    'started:denoise',
    ...Array.from({ length: steps }, (_, i) => `progress:denoise:${i + 1}/${steps}`),
    'complete:denoise',
    'started:l2i',
    'progress:l2i:0/1',
    'complete:l2i',
    'status:completed',
  ];
}
