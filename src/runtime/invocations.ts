import { z } from '@hono/zod-openapi';
import { SamplerName } from './samplers.ts';

/**
 * The invocation types a graph may use (API.md section 3): their inputs, outputs and the kinds that
 * decide which edges are allowed. Pure data; validation lives in `graph.ts`.
 *
 * Defaults follow InvokeAI's invocations: `noise` seed 0 and 512 × 512; `denoise_latents` 10 steps,
 * cfg_scale 7.5, scheduler `euler`, denoising 0 → 1; `compel` an empty prompt; primitives `''`, 0, 0.
 * Every node also takes InvokeAI's common `is_intermediate` (default false) and `use_cache` (default
 * true), so graphs written for InvokeAI are accepted.
 */

/** Kinds a value can be written literally in a node (and, except `model`/`board`, flow on edges). */
export const VALUE_KINDS = ['string', 'integer', 'float', 'boolean', 'model', 'board', 'image'] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

/** Kinds that only flow on edges: handles to loaded models and tensors. */
export const CONNECTION_KINDS = ['unet', 'clip', 'vae', 'conditioning', 'noise', 'latents'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

export type Kind = ValueKind | ConnectionKind;

/** An input that may be written literally in the node, or come from an edge (never both). */
export interface ValueInput {
  kind: ValueKind;
  required: boolean;
  /** Checks a literal value (or a batch item) for this input. */
  schema: z.ZodType;
  /** Used by the runtime when the input is neither set nor connected. */
  default?: unknown;
}

/** An input that can only come from an edge. */
export interface ConnectionInput {
  kind: ConnectionKind;
  required: boolean;
}

export type InputSpec = ValueInput | ConnectionInput;

export interface InvocationSpec {
  inputs: Readonly<Record<string, InputSpec>>;
  outputs: Readonly<Record<string, Kind>>;
  /**
   * Inputs passed unchanged to an output (`input → output`): the primitives. A literal value on such an
   * input must also fit every input its output feeds.
   */
  forwards?: Readonly<Record<string, string>>;
  /**
   * A check across inputs. `get` gives an input's literal value or default, and `undefined` when it is
   * not known before the run (it comes from an edge or is still to be provided by batch data).
   */
  rule?: (get: (field: string) => unknown) => { field: string; message: string } | undefined;
}

/** The most steps the `lcm` scheduler can take. */
export const MAX_LCM_STEPS = 50;

export const ModelRef = z.strictObject({ key: z.string().min(1).max(200) }).openapi('ModelRef');
export type ModelRef = z.infer<typeof ModelRef>;
export const BoardRef = z.strictObject({ board_id: z.string().min(1).max(200) }).openapi('BoardRef');
export type BoardRef = z.infer<typeof BoardRef>;
export const ImageRef = z.strictObject({ image_name: z.string().min(1).max(200) }).openapi('ImageRef');
export type ImageRef = z.infer<typeof ImageRef>;

export const MAX_PROMPT_LENGTH = 2000;
export const MAX_STRING_LENGTH = 10_000;
export const Prompt = z.string().max(MAX_PROMPT_LENGTH);
export const Seed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
export const Dimension = z.number().int().min(64).max(1024).multipleOf(8);
export const Steps = z.number().int().min(1).max(200);
export const CfgScale = z.number().min(0).max(30);
export const Fraction = z.number().min(0).max(1);

const value = (kind: ValueKind, schema: z.ZodType, dflt?: unknown): ValueInput =>
  dflt === undefined ? { kind, required: true, schema } : { kind, required: false, schema, default: dflt };
const optional = (kind: ValueKind, schema: z.ZodType): ValueInput => ({ kind, required: false, schema });
const edge = (kind: ConnectionKind): ConnectionInput => ({ kind, required: true });
const optionalEdge = (kind: ConnectionKind): ConnectionInput => ({ kind, required: false });

/** InvokeAI's fields common to every invocation. */
const COMMON_INPUTS = {
  is_intermediate: value('boolean', z.boolean(), false),
  use_cache: value('boolean', z.boolean(), true),
} satisfies Record<string, InputSpec>;

export const INVOCATION_TYPES = [
  'main_model_loader',
  'compel',
  'noise',
  'denoise_latents',
  'l2i',
  'i2l',
  'string',
  'integer',
  'float',
] as const;
export type InvocationType = (typeof INVOCATION_TYPES)[number];

export const INVOCATIONS: Readonly<Record<InvocationType, InvocationSpec>> = {
  main_model_loader: {
    inputs: { model: value('model', ModelRef), ...COMMON_INPUTS },
    outputs: { unet: 'unet', clip: 'clip', vae: 'vae' },
  },
  compel: {
    inputs: { prompt: value('string', Prompt, ''), clip: edge('clip'), ...COMMON_INPUTS },
    outputs: { conditioning: 'conditioning' },
  },
  noise: {
    inputs: {
      seed: value('integer', Seed, 0),
      width: value('integer', Dimension, 512),
      height: value('integer', Dimension, 512),
      ...COMMON_INPUTS,
    },
    outputs: { noise: 'noise' },
  },
  denoise_latents: {
    inputs: {
      positive_conditioning: edge('conditioning'),
      negative_conditioning: edge('conditioning'),
      noise: edge('noise'),
      unet: edge('unet'),
      steps: value('integer', Steps, 10),
      cfg_scale: value('float', CfgScale, 7.5),
      scheduler: value('string', SamplerName, 'euler'),
      denoising_start: value('float', Fraction, 0),
      denoising_end: value('float', Fraction, 1),
      // A starting image's latents: image-to-image with strength 1 − denoising_start.
      latents: optionalEdge('latents'),
      ...COMMON_INPUTS,
    },
    outputs: { latents: 'latents' },
    rule: (get) => {
      const start = get('denoising_start');
      const end = get('denoising_end');
      if (typeof start === 'number' && typeof end === 'number' && start >= end) {
        return { field: 'denoising_end', message: `must be greater than denoising_start (${start})` };
      }
      const steps = get('steps');
      // LCM's schedule has 50 distinct timesteps (diffusers' LCMScheduler refuses more).
      return get('scheduler') === 'lcm' && typeof steps === 'number' && steps > MAX_LCM_STEPS
        ? { field: 'steps', message: `must be at most ${MAX_LCM_STEPS} with the lcm scheduler` }
        : undefined;
    },
  },
  l2i: {
    inputs: {
      latents: edge('latents'),
      vae: edge('vae'),
      board: optional('board', BoardRef),
      ...COMMON_INPUTS,
    },
    outputs: { image: 'image', width: 'integer', height: 'integer' },
  },
  i2l: {
    // An image the caller may read; resized to the noise's size where denoise_latents uses it.
    inputs: { image: value('image', ImageRef), vae: edge('vae'), ...COMMON_INPUTS },
    outputs: { latents: 'latents' },
  },
  string: {
    inputs: { value: value('string', z.string().max(MAX_STRING_LENGTH), ''), ...COMMON_INPUTS },
    outputs: { value: 'string' },
    forwards: { value: 'value' },
  },
  integer: {
    inputs: {
      value: value(
        'integer',
        z
          .number()
          .int()
          .min(-(2 ** 53) + 1)
          .max(2 ** 53 - 1),
        0,
      ),
      ...COMMON_INPUTS,
    },
    outputs: { value: 'integer' },
    forwards: { value: 'value' },
  },
  float: {
    inputs: { value: value('float', z.number(), 0), ...COMMON_INPUTS },
    outputs: { value: 'float' },
    forwards: { value: 'value' },
  },
};

/**
 * The spec of an invocation type, or undefined for an unknown one (safe against `__proto__` and friends).
 * @example getInvocation('noise')?.inputs.seed
 */
export function getInvocation(type: string): InvocationSpec | undefined {
  return Object.hasOwn(INVOCATIONS, type) ? INVOCATIONS[type as InvocationType] : undefined;
}

/** The input `field` of a spec, if it has one. */
export function getInput(spec: InvocationSpec, field: string): InputSpec | undefined {
  return Object.hasOwn(spec.inputs, field) ? spec.inputs[field] : undefined;
}

/** The kind of output `field` of a spec, if it has one. */
export function getOutput(spec: InvocationSpec, field: string): Kind | undefined {
  return Object.hasOwn(spec.outputs, field) ? spec.outputs[field] : undefined;
}

export function isValueInput(input: InputSpec): input is ValueInput {
  return 'schema' in input;
}

/**
 * Whether an output of kind `from` may feed an input of kind `to`: the same kind, or integer into float.
 * @example canConnect('integer', 'float') // true
 */
export function canConnect(from: Kind, to: Kind): boolean {
  return from === to || (from === 'integer' && to === 'float');
}
