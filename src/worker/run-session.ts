import type { EventPublisher } from '../core/events.ts';
import { topologicalOrder } from '../runtime/graph-order.ts';
import type { Graph } from '../runtime/graph-schema.ts';
import {
  type DecodedImage,
  type InferenceRuntime,
  RuntimeCanceled,
  RuntimeError,
  type RuntimeInvocationType,
  type RuntimeOutput,
} from '../runtime/interface.ts';
import { getInvocation, isValueInput } from '../runtime/invocations.ts';
import { publicFailure } from '../runtime/public-failure.ts';

/** The parts of a claimed queue item that running it needs. */
export interface SessionItem {
  itemId: number;
  queueId: string;
  batchId: string;
  sessionId: string;
  userId: string;
  graph: Graph;
}

/** The generation parameters of an image (API.md section 6 `metadata`), traced back through the graph. */
export interface GenerationMetadata {
  model: string | null;
  prompt: string | null;
  negative_prompt: string | null;
  seed: number | null;
  steps: number | null;
  cfg_scale: number | null;
  scheduler: string | null;
  width: number | null;
  height: number | null;
}

export interface SaveImageRequest {
  image: DecodedImage;
  nodeId: string;
  boardId: string | null;
  isIntermediate: boolean;
  metadata: GenerationMetadata;
}

export interface RunSessionDeps {
  runtime: InferenceRuntime;
  events: EventPublisher;
  /** Writes the image (files first, then its row) and returns its name. */
  saveImage(request: SaveImageRequest): Promise<{ image_name: string }>;
  /**
   * The stored file of an image the item's owner may read (an `i2l`'s input), or `null` when there is
   * none: not found, another user's (for a non-admin), or its file gone.
   */
  readImage(imageName: string): Promise<Uint8Array | null>;
  /** True once the item was canceled: no further node starts. */
  isCanceled(): boolean;
  /**
   * Told how long each step took, in ms: a runtime node by its type (the inference process's time and the
   * round trip to it; a type run twice, like `compel`, is told twice) and `save` (the image's encoding, files
   * and row).
   */
  onTimed?(step: string, ms: number): void;
  /**
   * Called once the session needs the runtime no more (what is left: saving, events); the rest of the
   * session waits for the promise it returns.
   */
  inferenceDone?: () => Promise<void>;
}

const RUNTIME_TYPES = new Set<string>([
  'main_model_loader',
  'compel',
  'noise',
  'i2l',
  'denoise_latents',
  'l2i',
]);

/** Messages of the progress event the scheduler itself sends before the long nodes that have no steps. */
const START_MESSAGES: Partial<Record<RuntimeInvocationType, (inputs: Record<string, unknown>) => string>> = {
  main_model_loader: (inputs) => `Loading model ${(inputs.model as { key: string }).key}`,
  l2i: () => 'Decoding image',
};

/**
 * Runs a session's graph node by node in dependency order, publishing `invocation_started`, then
 * `invocation_progress` for long nodes, then `invocation_complete` (or `invocation_error`, rethrown as a
 * `RuntimeError`) to the owner and the admins. Returns normally when done, throws `RuntimeCanceled` when
 * the item was canceled. The session's tensors are freed in every case.
 * @example await runSession(item, { runtime, events, saveImage, readImage, isCanceled: () => false });
 */
export async function runSession(item: SessionItem, deps: RunSessionDeps): Promise<void> {
  const outputs = new Map<string, RuntimeOutput>();
  const resolved = new Map<string, Record<string, unknown>>();
  const sources = new Map<string, Map<string, string>>();
  const publish = (
    name: 'invocation_started' | 'invocation_progress' | 'invocation_complete' | 'invocation_error',
    nodeId: string,
    type: string,
    extra: Record<string, unknown> = {},
  ) =>
    deps.events.publish({
      name,
      queueId: item.queueId,
      ownerId: item.userId,
      data: {
        queue_id: item.queueId,
        item_id: item.itemId,
        batch_id: item.batchId,
        session_id: item.sessionId,
        user_id: item.userId,
        invocation: { id: nodeId, type },
        invocation_source_id: nodeId,
        ...extra,
      },
    });
  const order = topologicalOrder(item.graph);
  const lastRuntimeNode = order.findLast((id) =>
    RUNTIME_TYPES.has((item.graph.nodes[id] as Graph['nodes'][string]).type),
  );
  try {
    for (const nodeId of order) {
      if (deps.isCanceled()) {
        throw new RuntimeCanceled(`item ${item.itemId} was canceled`);
      }
      const node = item.graph.nodes[nodeId] as Graph['nodes'][string];
      const inputs = resolveInputs(item.graph, nodeId, outputs);
      resolved.set(nodeId, inputs);
      sources.set(nodeId, edgeSources(item.graph, nodeId));
      publish('invocation_started', nodeId, node.type);
      try {
        const began = performance.now();
        const output = await runNode(item, nodeId, node.type, inputs, deps, (p) =>
          publish('invocation_progress', nodeId, node.type, {
            step: p.step,
            total_steps: p.totalSteps,
            percentage: p.totalSteps > 0 ? p.step / p.totalSteps : 0,
            message: p.message,
            image: p.image,
          }),
        );
        if (RUNTIME_TYPES.has(node.type)) {
          deps.onTimed?.(node.type, performance.now() - began);
        }
        if (nodeId === lastRuntimeNode) {
          await deps.inferenceDone?.();
        }
        let result: Record<string, unknown>;
        if (node.type === 'l2i') {
          if (deps.isCanceled()) {
            throw new RuntimeCanceled(`item ${item.itemId} was canceled`);
          }
          const image = output.image as DecodedImage;
          const board = inputs.board as { board_id: string } | undefined;
          const saving = performance.now();
          const saved = await deps.saveImage({
            image,
            nodeId,
            boardId: board?.board_id ?? null,
            isIntermediate: inputs.is_intermediate === true,
            metadata: traceMetadata(nodeId, resolved, sources),
          });
          deps.onTimed?.('save', performance.now() - saving);
          outputs.set(nodeId, { image: saved, width: image.width, height: image.height });
          result = {
            type: 'image_output',
            image: { image_name: saved.image_name },
            width: image.width,
            height: image.height,
          };
        } else {
          outputs.set(nodeId, output);
          result = { type: `${node.type}_output`, ...plainValues(output) };
        }
        publish('invocation_complete', nodeId, node.type, { result });
      } catch (err) {
        if (err instanceof RuntimeCanceled) {
          throw err;
        }
        const failure = publicFailure(err, err instanceof Error ? err.name : 'Error');
        publish('invocation_error', nodeId, node.type, {
          error_type: failure.errorType,
          error_message: failure.message,
          error_traceback: failure.traceback,
        });
        throw failure;
      }
    }
  } finally {
    deps.runtime.endSession(item.sessionId);
  }
}

async function runNode(
  item: SessionItem,
  nodeId: string,
  type: string,
  inputs: Record<string, unknown>,
  deps: RunSessionDeps,
  onProgress: (p: {
    step: number;
    totalSteps: number;
    message: string;
    image: null | { dataURL: string; width: number; height: number };
  }) => void,
): Promise<RuntimeOutput> {
  if (!RUNTIME_TYPES.has(type)) {
    // The primitives forward their value.
    return { value: inputs.value };
  }
  const runtimeType = type as RuntimeInvocationType;
  const startMessage = START_MESSAGES[runtimeType];
  if (startMessage) {
    onProgress({ step: 0, totalSteps: 1, message: startMessage(inputs), image: null });
  }
  const withFile = runtimeType === 'i2l' ? { ...inputs, image_file: await imageFile(inputs, deps) } : inputs;
  return deps.runtime.run(
    { sessionId: item.sessionId, nodeId, type: runtimeType, inputs: withFile },
    onProgress,
  );
}

/**
 * The file of an `i2l`'s image, read again now: the owner may have lost the right to it (or it was deleted)
 * since the enqueue, and an image from an edge (an earlier `l2i`) was never checked.
 */
async function imageFile(inputs: Record<string, unknown>, deps: RunSessionDeps): Promise<Uint8Array> {
  const name = (inputs.image as { image_name?: unknown } | undefined)?.image_name;
  if (typeof name !== 'string') {
    throw new RuntimeError('MissingInput', 'i2l got no image');
  }
  const file = await deps.readImage(name);
  if (!file) {
    throw new RuntimeError('ImageNotFound', `unknown image "${name}"`);
  }
  return file;
}

/** A node's inputs: each from its edge, else its literal value, else the invocation's default. */
function resolveInputs(
  graph: Graph,
  nodeId: string,
  outputs: Map<string, RuntimeOutput>,
): Record<string, unknown> {
  const node = graph.nodes[nodeId] as Graph['nodes'][string];
  const spec = getInvocation(node.type);
  if (!spec) {
    throw new RuntimeError('InvalidGraph', `node ${nodeId} has the unknown type ${node.type}`);
  }
  const inputs: Record<string, unknown> = {};
  for (const [field, input] of Object.entries(spec.inputs)) {
    if (Object.hasOwn(node, field)) {
      inputs[field] = node[field];
    } else if (isValueInput(input) && input.default !== undefined) {
      inputs[field] = input.default;
    }
  }
  for (const { source, destination } of graph.edges) {
    if (destination.node_id === nodeId) {
      inputs[destination.field] = outputs.get(source.node_id)?.[source.field];
    }
  }
  return inputs;
}

function edgeSources(graph: Graph, nodeId: string): Map<string, string> {
  return new Map(
    graph.edges
      .filter((e) => e.destination.node_id === nodeId)
      .map((e) => [e.destination.field, e.source.node_id]),
  );
}

/** The outputs that are plain values (not tensor handles or images), for `invocation_complete`'s result. */
function plainValues(output: RuntimeOutput): Record<string, unknown> {
  return Object.fromEntries(Object.entries(output).filter(([, v]) => v === null || typeof v !== 'object'));
}

/** Follows the l2i's latents back to its denoise node, and that node's inputs to the prompts, noise and model. */
function traceMetadata(
  l2iId: string,
  resolved: Map<string, Record<string, unknown>>,
  sources: Map<string, Map<string, string>>,
): GenerationMetadata {
  const from = (nodeId: string | undefined, field: string) =>
    nodeId === undefined ? undefined : sources.get(nodeId)?.get(field);
  const input = (nodeId: string | undefined, field: string) =>
    nodeId === undefined ? undefined : resolved.get(nodeId)?.[field];
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const denoise = from(l2iId, 'latents');
  const noise = from(denoise, 'noise');
  const model = input(from(denoise, 'unet'), 'model') as { key?: unknown } | undefined;
  return {
    model: str(model?.key),
    prompt: str(input(from(denoise, 'positive_conditioning'), 'prompt')),
    negative_prompt: str(input(from(denoise, 'negative_conditioning'), 'prompt')),
    seed: num(input(noise, 'seed')),
    steps: num(input(denoise, 'steps')),
    cfg_scale: num(input(denoise, 'cfg_scale')),
    scheduler: str(input(denoise, 'scheduler')),
    width: num(input(noise, 'width')),
    height: num(input(noise, 'height')),
  };
}
