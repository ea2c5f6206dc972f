/**
 * Conversions between the runtime's float32 tensors and what an ONNX session declares for an input or
 * output (float32 or float16 values, int32 or int64 ids).
 */
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../runtime/model.ts';

/** The name, element type and rank an ONNX session declares for one input or output. */
export interface PortInfo {
  name: string;
  type: string;
  rank: number;
}

/**
 * The declared input or output called `name` (or the one at `index` when no name matches).
 * @example const ids = port(session.inputMetadata, 'input_ids', 0);
 */
export function port(
  metadata: readonly ort.InferenceSession.ValueMetadata[],
  name: string,
  index: number,
): PortInfo {
  const found = metadata.find((m) => m.name === name) ?? metadata[index];
  if (!found) {
    throw new Error(`the model has no input or output ${name}`);
  }
  if (!found.isTensor) {
    return { name: found.name, type: 'float32', rank: 0 };
  }
  return { name: found.name, type: found.type, rank: found.shape.length };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp >= 0x1f) {
    return sign | (((x >>> 23) & 0xff) === 0xff && mant ? 0x7e00 : 0x7c00);
  }
  if (exp <= 0) {
    if (exp < -10) {
      return sign;
    }
    const m = (mant | 0x800000) >>> (1 - exp);
    return sign | ((m + 0x1000) >>> 13);
  }
  return sign | ((exp << 10) + ((mant + 0x1000) >>> 13));
}

function fromHalf(h: number): number {
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) {
    return sign * mant * 2 ** -24;
  }
  if (exp === 0x1f) {
    return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  }
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * A float tensor for an input declared float32 or float16.
 * @example feeds[p.name] = floatInput(p, latents.data, latents.dims);
 */
export function floatInput(p: PortInfo, data: Float32Array, dims: readonly number[]): ort.Tensor {
  if (p.type === 'float16') {
    return new ort.Tensor('float16', Uint16Array.from(data, toHalf), dims);
  }
  if (p.type !== 'float32') {
    throw new Error(`input ${p.name} has type ${p.type}; expected float32 or float16`);
  }
  return new ort.Tensor('float32', data, dims);
}

/**
 * An id tensor for an input declared int32 or int64.
 * @example feeds.input_ids = idsInput(p, ids, [1, 77]);
 */
export function idsInput(p: PortInfo, ids: Int32Array, dims: readonly number[]): ort.Tensor {
  if (p.type === 'int64') {
    return new ort.Tensor(
      'int64',
      BigInt64Array.from(ids, (v) => BigInt(v)),
      dims,
    );
  }
  if (p.type !== 'int32') {
    throw new Error(`input ${p.name} has type ${p.type}; expected int32 or int64`);
  }
  return new ort.Tensor('int32', ids, dims);
}

/**
 * A session output as a float32 tensor (float16 outputs are widened).
 * @example const eps = floatOutput(result[out.name]);
 */
export function floatOutput(value: ort.Tensor | undefined): Tensor {
  if (!value) {
    throw new Error('the model did not return the expected output');
  }
  if (value.type === 'float16') {
    return { data: Float32Array.from(value.data as Uint16Array, fromHalf), dims: [...value.dims] };
  }
  if (value.type !== 'float32') {
    throw new Error(`output has type ${value.type}; expected float32 or float16`);
  }
  return { data: value.data as Float32Array, dims: [...value.dims] };
}
