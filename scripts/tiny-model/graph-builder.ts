/**
 * A small ONNX graph builder over `onnx-proto`: named initializers from a seeded generator, nodes with
 * typed attributes, and `toBytes()` giving the same bytes for the same calls.
 */
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import type { Rng } from '../../src/runtime/rng.ts';

const { onnx } = onnxProto;

export const OPSET = 17;
const IR_VERSION = 8;

/** ONNX element types used here. */
export const ElemType = { float: 1, int32: 6, int64: 7 } as const;
export type ElemTypeName = keyof typeof ElemType;

/** An attribute value with its ONNX type spelled out (a bare number would be ambiguous). */
export type Attr = { int: number } | { float: number } | { ints: number[] } | { str: string };

/** A graph input or output: a name, an element type and dims (a string is a symbolic dim). */
export interface ValueSpec {
  name: string;
  type: ElemTypeName;
  dims: (number | string)[];
}

function attribute(name: string, value: Attr): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in value) {
    return { name, type: T.INT, i: value.int };
  }
  if ('float' in value) {
    return { name, type: T.FLOAT, f: value.float };
  }
  if ('ints' in value) {
    return { name, type: T.INTS, ints: value.ints };
  }
  return { name, type: T.STRING, s: new TextEncoder().encode(value.str) };
}

function valueInfo(spec: ValueSpec): OnnxTypes.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: ElemType[spec.type],
        shape: { dim: spec.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function floatBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    view.setFloat32(i * 4, values[i] as number, true);
  }
  return out;
}

/** Builds one graph; every method returns the name of the value it made. */
export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private counter = 0;

  constructor(
    private readonly name: string,
    private readonly rng: Rng,
  ) {}

  /** A float initializer from explicit values. */
  constant(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, dataType: ElemType.float, rawData: floatBytes(values) });
    return name;
  }

  /** An int64 initializer (shapes, axes). */
  ints(name: string, values: number[]): string {
    this.initializers.push({ name, dims: [values.length], dataType: ElemType.int64, int64Data: values });
    return name;
  }

  /** A float initializer of normals times `std` plus `mean`. */
  random(name: string, dims: number[], std: number, mean = 0): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      values[i] = mean + std * this.rng.normal();
    }
    return this.constant(name, dims, values);
  }

  /** A node with one output; `output` names it (graph outputs), else a fresh name is made. */
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    const out = output ?? `${type.toLowerCase()}_${this.counter++}`;
    this.nodes.push({
      name: `${type}_${this.nodes.length}`,
      opType: type,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** The serialized ModelProto (IR 8, opset 17). */
  toBytes(inputs: ValueSpec[], outputs: ValueSpec[]): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'easel build-tiny-model',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: inputs.map(valueInfo),
        output: outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
