import type { FieldProblem } from '../core/errors.ts';
import { findCycle, sortNodes } from './graph-order.ts';
import { Graph, type GraphEdge, type GraphNode } from './graph-schema.ts';
import {
  BoardRef,
  canConnect,
  getInput,
  getInvocation,
  getOutput,
  ImageRef,
  type InvocationSpec,
  isValueInput,
  ModelRef,
  type ValueInput,
} from './invocations.ts';

/** What validation needs to know about the caller's world. */
export interface GraphContext {
  modelExists(key: string): boolean;
  boardOwned(boardId: string): boolean;
  /** Whether the caller may read the image (their own, or any for an admin). */
  imageReadable(imageName: string): boolean;
}

export interface ValidateGraphOptions {
  /** Inputs that will be given a value later (by batch data), so they do not count as missing. */
  provided?: (nodeId: string, field: string) => boolean;
}

/** Problems with one value; `path` is relative to the value (`''` for the value itself). */
export type ValueChecker = (value: unknown) => FieldProblem[];

/** Edges of a graph looked up by their endpoints (`slot(node, field)`). */
export interface GraphIndex {
  graph: Graph;
  incoming: Map<string, number[]>;
  outgoing: Map<string, number[]>;
}

const slot = (nodeId: string, field: string) => `${nodeId}\u0000${field}`;
const join = (prefix: string, rel: string) => (rel === '' ? prefix : `${prefix}.${rel}`);

function nodeOf(graph: Graph, nodeId: string): GraphNode | undefined {
  return Object.hasOwn(graph.nodes, nodeId) ? graph.nodes[nodeId] : undefined;
}

/** A node's literal value for `field`; `null` counts as not set. */
function literalOf(node: GraphNode, field: string): unknown {
  return Object.hasOwn(node, field) ? (node[field] ?? undefined) : undefined;
}

function push(map: Map<string, number[]>, key: string, i: number) {
  const list = map.get(key);
  if (list) {
    list.push(i);
  } else {
    map.set(key, [i]);
  }
}

/** Indexes the edges of a structurally valid graph by source and destination slot. */
export function indexGraph(graph: Graph): GraphIndex {
  const incoming = new Map<string, number[]>();
  const outgoing = new Map<string, number[]>();
  graph.edges.forEach((e, i) => {
    push(outgoing, slot(e.source.node_id, e.source.field), i);
    push(incoming, slot(e.destination.node_id, e.destination.field), i);
  });
  return { graph, incoming, outgoing };
}

/** The indexes of the edges into `nodeId.field`. */
export function edgesInto(index: GraphIndex, nodeId: string, field: string): number[] {
  return index.incoming.get(slot(nodeId, field)) ?? [];
}

function literalProblems(input: ValueInput, value: unknown, ctx: GraphContext): FieldProblem[] {
  const result = input.schema.safeParse(value);
  if (!result.success) {
    return result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  }
  if (input.kind === 'model') {
    const { key } = ModelRef.parse(value);
    return ctx.modelExists(key) ? [] : [{ path: '', message: `unknown model "${key}"` }];
  }
  if (input.kind === 'board') {
    const { board_id } = BoardRef.parse(value);
    return ctx.boardOwned(board_id) ? [] : [{ path: '', message: `unknown board "${board_id}"` }];
  }
  if (input.kind === 'image') {
    // Another user's image reads as unknown: the answer never tells whether it exists.
    const { image_name } = ImageRef.parse(value);
    return ctx.imageReadable(image_name) ? [] : [{ path: '', message: `unknown image "${image_name}"` }];
  }
  return [];
}

/** The value inputs fed, through edges, by the output that `field` of a primitive node forwards to. */
function forwardTargets(index: GraphIndex, nodeId: string, spec: InvocationSpec, field: string) {
  const out = spec.forwards && Object.hasOwn(spec.forwards, field) ? spec.forwards[field] : undefined;
  const outKind = out === undefined ? undefined : getOutput(spec, out);
  if (out === undefined || outKind === undefined) {
    return [];
  }
  const targets: { label: string; input: ValueInput }[] = [];
  for (const i of index.outgoing.get(slot(nodeId, out)) ?? []) {
    const { node_id, field: dstField } = (index.graph.edges[i] as GraphEdge).destination;
    const dst = nodeOf(index.graph, node_id);
    const dstSpec = dst && getInvocation(dst.type);
    const input = dstSpec && getInput(dstSpec, dstField);
    if (input && isValueInput(input) && canConnect(outKind, input.kind)) {
      targets.push({ label: `nodes.${node_id}.${dstField}`, input });
    }
  }
  return targets;
}

/**
 * How a literal value for `nodeId.field` is checked: the input's schema, the model/board/image exists, and, for
 * a primitive, every input its output feeds. A string says why the field takes no literal value.
 * @example const check = valueChecker(indexGraph(g), 'noise', 'seed', ctx); if (typeof check !== 'string') check(42);
 */
export function valueChecker(
  index: GraphIndex,
  nodeId: string,
  field: string,
  ctx: GraphContext,
): ValueChecker | string {
  const node = nodeOf(index.graph, nodeId);
  if (!node) {
    return `no node "${nodeId}" in the graph`;
  }
  const spec = getInvocation(node.type);
  if (!spec) {
    return `node "${nodeId}" has an unknown type "${node.type}"`;
  }
  const input = getInput(spec, field);
  if (!input) {
    return `${node.type} has no input "${field}"`;
  }
  if (!isValueInput(input)) {
    return `"${field}" is a ${input.kind} connection: it can only come from an edge`;
  }
  const targets = forwardTargets(index, nodeId, spec, field);
  return (value) => {
    const own = literalProblems(input, value, ctx);
    if (own.length > 0) {
      return own;
    }
    return targets.flatMap(({ label, input: target }) =>
      literalProblems(target, value, ctx).map((p) => ({
        path: p.path,
        message: `does not fit ${label}: ${p.message}`,
      })),
    );
  };
}

const noneProvided = () => false;

/**
 * The cross-input rule of a node's type (e.g. denoising_start < denoising_end) on its literal values and
 * defaults; inputs from edges or still to be provided are not known, so they pass.
 * @example ruleProblem(index, 'denoise', node) // { field: 'denoising_end', message: '…' } or undefined
 */
export function ruleProblem(
  index: GraphIndex,
  nodeId: string,
  node: GraphNode,
  provided: (nodeId: string, field: string) => boolean = noneProvided,
): { field: string; message: string } | undefined {
  const spec = getInvocation(node.type);
  if (!spec?.rule) {
    return undefined;
  }
  return spec.rule((field) => {
    if (provided(nodeId, field) || edgesInto(index, nodeId, field).length > 0) {
      return undefined;
    }
    const literal = literalOf(node, field);
    if (literal !== undefined) {
      return literal;
    }
    const input = getInput(spec, field);
    return input && isValueInput(input) ? input.default : undefined;
  });
}

function nodeProblems(
  index: GraphIndex,
  ctx: GraphContext,
  key: string,
  node: GraphNode,
  provided: (nodeId: string, field: string) => boolean,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (node.id !== key) {
    problems.push({ path: `nodes.${key}.id`, message: `must equal the node's key "${key}"` });
  }
  const spec = getInvocation(node.type);
  if (!spec) {
    problems.push({ path: `nodes.${key}.type`, message: `unknown node type "${node.type}"` });
    return problems;
  }
  for (const [field, value] of Object.entries(node)) {
    if (
      field === 'id' ||
      field === 'type' ||
      ((value === null || value === undefined) && getInput(spec, field))
    ) {
      continue;
    }
    const check = valueChecker(index, key, field, ctx);
    if (typeof check === 'string') {
      problems.push({ path: `nodes.${key}.${field}`, message: check });
    } else {
      for (const p of check(value)) {
        problems.push({ path: join(`nodes.${key}.${field}`, p.path), message: p.message });
      }
    }
  }
  const broken = problems.length > 0 ? undefined : ruleProblem(index, key, node, provided);
  if (broken) {
    problems.push({ path: `nodes.${key}.${broken.field}`, message: broken.message });
  }
  return problems;
}

function edgeProblems(index: GraphIndex, i: number): FieldProblem[] {
  const { graph } = index;
  const { source, destination } = graph.edges[i] as GraphEdge;
  const problems: FieldProblem[] = [];
  const src = nodeOf(graph, source.node_id);
  const dst = nodeOf(graph, destination.node_id);
  if (!src) {
    problems.push({ path: `edges.${i}.source.node_id`, message: `no node "${source.node_id}" in the graph` });
  }
  if (!dst) {
    problems.push({
      path: `edges.${i}.destination.node_id`,
      message: `no node "${destination.node_id}" in the graph`,
    });
  }
  const srcSpec = src && getInvocation(src.type);
  const dstSpec = dst && getInvocation(dst.type);
  const from = srcSpec && getOutput(srcSpec, source.field);
  const to = dstSpec && getInput(dstSpec, destination.field);
  if (src && srcSpec && !from) {
    problems.push({
      path: `edges.${i}.source.field`,
      message: `${src.type} has no output "${source.field}"`,
    });
  }
  if (dst && dstSpec && !to) {
    problems.push({
      path: `edges.${i}.destination.field`,
      message: `${dst.type} has no input "${destination.field}"`,
    });
  }
  if (!dst || !to) {
    return problems;
  }
  const target = `nodes.${destination.node_id}.${destination.field}`;
  if (from && !canConnect(from, to.kind)) {
    problems.push({
      path: `edges.${i}`,
      message: `type mismatch: nodes.${source.node_id}.${source.field} is ${from}, ${target} takes ${to.kind}`,
    });
  }
  const first = edgesInto(index, destination.node_id, destination.field)[0];
  if (first !== undefined && first < i) {
    problems.push({
      path: `edges.${i}.destination`,
      message: `${target} is already connected by edges.${first}`,
    });
  }
  // A literal on a connection input is reported with the node.
  if (isValueInput(to) && literalOf(dst, destination.field) !== undefined) {
    problems.push({
      path: `edges.${i}.destination`,
      message: `${target} also has a literal value: give it a value or an edge, not both`,
    });
  }
  return problems;
}

/** Required inputs that are neither set, connected nor provided, and primitive defaults that do not fit. */
function missingProblems(
  index: GraphIndex,
  ctx: GraphContext,
  key: string,
  node: GraphNode,
  provided: (nodeId: string, field: string) => boolean,
): FieldProblem[] {
  const spec = getInvocation(node.type);
  if (!spec) {
    return [];
  }
  const problems: FieldProblem[] = [];
  for (const [field, input] of Object.entries(spec.inputs)) {
    if (
      literalOf(node, field) !== undefined ||
      edgesInto(index, key, field).length > 0 ||
      provided(key, field)
    ) {
      continue;
    }
    if (input.required) {
      problems.push({
        path: `nodes.${key}.${field}`,
        message: isValueInput(input)
          ? 'required input: give it a value or connect an edge'
          : 'required input: connect an edge to it',
      });
    } else if (isValueInput(input) && input.default !== undefined) {
      const dflt = input.default;
      for (const { label, input: target } of forwardTargets(index, key, spec, field)) {
        for (const p of literalProblems(target, dflt, ctx)) {
          problems.push({
            path: `nodes.${key}.${field}`,
            message: `the default ${JSON.stringify(dflt)} does not fit ${label}: ${p.message}`,
          });
        }
      }
    }
  }
  return problems;
}

/**
 * Every problem with a graph, each with a dotted path (`nodes.n1.steps`, `edges.2.destination.field`):
 * its structure, unknown types and fields, literal values, models, boards and images, edges, missing
 * required inputs, and cycles (path `edges`). An empty list means the graph can be enqueued.
 * @example const problems = validateGraph(body.graph, { modelExists: models.has,
 *   boardOwned: (id) => mine.has(id), imageReadable: (name) => readable.has(name) });
 */
export function validateGraph(
  graph: unknown,
  ctx: GraphContext,
  options: ValidateGraphOptions = {},
): FieldProblem[] {
  const parsed = Graph.safeParse(graph);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  }
  const index = indexGraph(parsed.data);
  const provided = options.provided ?? noneProvided;
  const nodes = Object.entries(parsed.data.nodes);
  const problems = nodes.flatMap(([key, node]) => nodeProblems(index, ctx, key, node, provided));
  parsed.data.edges.forEach((_, i) => {
    problems.push(...edgeProblems(index, i));
  });
  for (const [key, node] of nodes) {
    problems.push(...missingProblems(index, ctx, key, node, provided));
  }
  const { order, preds } = sortNodes(parsed.data);
  if (order.length !== nodes.length) {
    problems.push({
      path: 'edges',
      message: `the graph has a cycle: ${findCycle(parsed.data, order, preds).join(' → ')}`,
    });
  }
  return problems;
}
