import { z } from '@hono/zod-openapi';
import type { FieldProblem } from '../core/errors.ts';
import {
  edgesInto,
  type GraphContext,
  indexGraph,
  ruleProblem,
  type ValueChecker,
  validateGraph,
  valueChecker,
} from '../runtime/graph.ts';
import { Graph, type GraphNode } from '../runtime/graph-schema.ts';
import { getInvocation } from '../runtime/invocations.ts';

export const MAX_RUNS = 10_000;
export const MAX_ITEMS = 100_000;
/** A hard ceiling on `runs × Π len(group)`, above any sensible queue size; quotas are checked by callers. */
export const MAX_BATCH_SESSIONS = 1_000_000;
/** Bad items reported per datum, and session rule problems per batch, before the rest are summarised. */
export const MAX_REPORTED = 10;

/** One field set across sessions: `items[k]` goes to the k-th session of its zip group. */
export const BatchDatum = z
  .strictObject({
    node_path: z.string().min(1).max(200),
    field_name: z.string().min(1).max(100),
    items: z.array(z.unknown()).min(1).max(MAX_ITEMS),
  })
  .openapi('BatchDatum');
export type BatchDatum = z.infer<typeof BatchDatum>;

/** Datums zipped together: their `items` arrays must have the same length. */
export const BatchGroup = z.array(BatchDatum).min(1).max(100);
export type BatchGroup = z.infer<typeof BatchGroup>;

export const Batch = z
  .object({
    batch_id: z.string().min(1).max(200).optional(),
    graph: Graph,
    workflow: z.record(z.string(), z.unknown()).nullable().optional(),
    data: z.array(BatchGroup).max(100).nullable().optional(),
    runs: z.number().int().min(1).max(MAX_RUNS).default(1),
    origin: z.string().max(300).nullable().optional(),
    destination: z.string().max(300).nullable().optional(),
  })
  .openapi('Batch');
export type Batch = z.infer<typeof Batch>;

export interface FieldValue {
  node_path: string;
  field_name: string;
  value: unknown;
}

/**
 * One session of an expanded batch. Sessions share unchanged nodes and the edges with the batch graph,
 * and sessions of different runs share their graph and field values: treat them as read-only.
 */
export interface ExpandedSession {
  fieldValues: FieldValue[];
  graph: Graph;
}

export type ExpandResult =
  | { ok: true; sessions: ExpandedSession[] }
  | { ok: false; problems: FieldProblem[] };

const slot = (nodeId: string, field: string) => `${nodeId}\u0000${field}`;

/**
 * How many sessions a batch expands to: `runs × Π len(group)`, a group's length being its shortest
 * `items`. Cheap, so quotas can be checked before expanding.
 * @example countSessions({ runs: 2, data: [[{ node_path: 'n', field_name: 'seed', items: [1, 2, 3] }]] }) // 6
 */
export function countSessions(batch: {
  runs?: number;
  data?: readonly (readonly { items: readonly unknown[] }[])[] | null;
}): number {
  let count = batch.runs ?? 1;
  for (const group of batch.data ?? []) {
    count *= Math.min(...group.map((d) => d.items.length));
  }
  return count;
}

function dataProblems(batch: Batch, ctx: GraphContext): FieldProblem[] {
  const index = indexGraph(batch.graph);
  const problems: FieldProblem[] = [];
  const seen = new Map<string, string>();
  (batch.data ?? []).forEach((group, g) => {
    const lengths = group.map((d) => d.items.length);
    if (lengths.some((n) => n !== lengths[0])) {
      problems.push({
        path: `data.${g}`,
        message: `the items of a zip group must all have the same length (got ${lengths.join(', ')})`,
      });
    }
    group.forEach(({ node_path, field_name, items }, d) => {
      const path = `data.${g}.${d}`;
      const target = `nodes.${node_path}.${field_name}`;
      const earlier = seen.get(slot(node_path, field_name));
      seen.set(slot(node_path, field_name), earlier ?? path);
      const check: ValueChecker | string = valueChecker(index, node_path, field_name, ctx);
      const [edge] = edgesInto(index, node_path, field_name);
      if (typeof check === 'string') {
        problems.push({ path, message: check });
      } else if (edge !== undefined) {
        problems.push({ path, message: `${target} is connected by edges.${edge}: batch data cannot set it` });
      } else if (earlier !== undefined) {
        problems.push({ path, message: `${target} is already set by ${earlier}` });
      } else {
        let bad = 0;
        items.forEach((item, i) => {
          const found = check(item);
          if (found.length > 0 && ++bad <= MAX_REPORTED) {
            for (const p of found) {
              problems.push({ path: `${path}.items.${i}${p.path ? `.${p.path}` : ''}`, message: p.message });
            }
          }
        });
        if (bad > MAX_REPORTED) {
          problems.push({ path: `${path}.items`, message: `${bad - MAX_REPORTED} more items do not fit` });
        }
      }
    });
  });
  return problems;
}

/**
 * Every problem with a batch: the graph (paths prefixed `graph.`), then the data (`data.<g>`,
 * `data.<g>.<d>`, `data.<g>.<d>.items.<i>`), then the size. Fields set by the data do not count as
 * missing in the graph.
 * @example const problems = validateBatch(Batch.parse(body.batch), ctx);
 */
export function validateBatch(batch: Batch, ctx: GraphContext): FieldProblem[] {
  const provided = new Set((batch.data ?? []).flat().map((d) => slot(d.node_path, d.field_name)));
  const problems = validateGraph(batch.graph, ctx, {
    provided: (nodeId, field) => provided.has(slot(nodeId, field)),
  }).map((p) => ({ path: p.path === '' ? 'graph' : `graph.${p.path}`, message: p.message }));
  problems.push(...dataProblems(batch, ctx));
  const count = countSessions(batch);
  if (count > MAX_BATCH_SESSIONS) {
    problems.push({
      path: batch.data?.length ? 'data' : 'runs',
      message: `the batch expands to ${count} sessions; the most is ${MAX_BATCH_SESSIONS}`,
    });
  }
  return problems;
}

/** Applies one combination of field values to the batch graph, copying only the nodes it changes. */
function applyValues(base: Graph, fieldValues: FieldValue[]): Graph {
  if (fieldValues.length === 0) {
    return base;
  }
  const nodes: Record<string, GraphNode> = { ...base.nodes };
  const copied = new Set<string>();
  for (const { node_path, field_name, value } of fieldValues) {
    if (!copied.has(node_path)) {
      copied.add(node_path);
      nodes[node_path] = { ...(nodes[node_path] as GraphNode) };
    }
    (nodes[node_path] as GraphNode)[field_name] = value;
  }
  return { ...base, nodes };
}

/**
 * Validates a batch (see `validateBatch`) and expands it into sessions, in API.md's order: `runs`
 * outermost; inside, the product of the zip groups with the first group outermost (as
 * `itertools.product`); inside a group, the datums zipped. Cross-input rules (denoising_start <
 * denoising_end) are checked on each combination of values, once per combination, not per run.
 * @example const r = expandBatch(batch, ctx); if (!r.ok) throw new ValidationError(r.problems);
 */
export function expandBatch(batch: Batch, ctx: GraphContext): ExpandResult {
  const problems = validateBatch(batch, ctx);
  if (problems.length > 0) {
    return { ok: false, problems };
  }
  // Each group becomes its rows: row r holds the r-th item of every datum, with where it came from.
  const groups = (batch.data ?? []).map((group, g) =>
    Array.from({ length: group[0]?.items.length ?? 0 }, (_, r) =>
      group.map(({ node_path, field_name, items }, d) => ({
        value: { node_path, field_name, value: items[r] } satisfies FieldValue,
        from: `data.${g}.${d}.items.${r}`,
      })),
    ),
  );
  const index = indexGraph(batch.graph);
  // Nodes with a cross-input rule whose values change from one combination to the next.
  const ruled = new Set(
    (batch.data ?? [])
      .flat()
      .map((d) => d.node_path)
      .filter((id) => getInvocation((batch.graph.nodes[id] as GraphNode).type)?.rule !== undefined),
  );
  const combos: ExpandedSession[] = [];
  const ruleProblems = new Map<string, FieldProblem>();
  const at = groups.map(() => 0);
  const total = countSessions({ data: batch.data });
  for (let c = 0; c < total; c++) {
    const rows = groups.flatMap((rows, g) => rows[at[g] as number] ?? []);
    const fieldValues = rows.map((row) => row.value);
    const graph = applyValues(batch.graph, fieldValues);
    for (const id of ruled) {
      const broken = ruleProblem(index, id, graph.nodes[id] as GraphNode);
      if (broken) {
        const mine = rows.filter((row) => row.value.node_path === id);
        const from = (mine.find((row) => row.value.field_name === broken.field) ?? mine[0])?.from ?? 'data';
        const message = `nodes.${id}.${broken.field}: ${broken.message}`;
        ruleProblems.set(`${from}\u0000${message}`, { path: from, message });
      }
    }
    combos.push({ fieldValues, graph });
    for (let g = groups.length - 1; g >= 0; g--) {
      at[g] = (at[g] as number) + 1;
      if ((at[g] as number) < (groups[g] as unknown[]).length) {
        break;
      }
      at[g] = 0;
    }
  }
  if (ruleProblems.size > 0) {
    const found = [...ruleProblems.values()];
    const shown = found.slice(0, MAX_REPORTED);
    if (found.length > MAX_REPORTED) {
      shown.push({ path: 'data', message: `${found.length - MAX_REPORTED} more combinations break a rule` });
    }
    return { ok: false, problems: shown };
  }
  const sessions: ExpandedSession[] = [];
  for (let run = 0; run < batch.runs; run++) {
    for (const { fieldValues, graph } of combos) {
      sessions.push({ fieldValues, graph });
    }
  }
  return { ok: true, sessions };
}
