import type { Graph } from './graph-schema.ts';

/** Kahn's algorithm over the edges between existing nodes; ready nodes are taken by the lowest id. */
export function sortNodes(graph: Graph): { order: string[]; preds: Map<string, Set<string>> } {
  const preds = new Map<string, Set<string>>();
  const succs = new Map<string, Set<string>>();
  for (const id of Object.keys(graph.nodes)) {
    preds.set(id, new Set());
    succs.set(id, new Set());
  }
  for (const { source, destination } of graph.edges) {
    const p = preds.get(destination.node_id);
    const s = succs.get(source.node_id);
    if (p && s) {
      p.add(source.node_id);
      s.add(destination.node_id);
    }
  }
  const indegree = new Map([...preds].map(([id, p]) => [id, p.size]));
  // Kept in descending order so the lowest id is popped from the end.
  const ready = [...indegree].filter(([, d]) => d === 0).map(([id]) => id);
  ready.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  const order: string[] = [];
  for (let id = ready.pop(); id !== undefined; id = ready.pop()) {
    order.push(id);
    for (const next of succs.get(id) ?? []) {
      const d = (indegree.get(next) ?? 0) - 1;
      indegree.set(next, d);
      if (d === 0) {
        let at = ready.length;
        while (at > 0 && (ready[at - 1] as string) < next) {
          at--;
        }
        ready.splice(at, 0, next);
      }
    }
  }
  return { order, preds };
}

/** One cycle among the nodes Kahn's algorithm could not order, from its lowest id back to it. */
export function findCycle(graph: Graph, order: string[], preds: Map<string, Set<string>>): string[] {
  const done = new Set(order);
  const left = Object.keys(graph.nodes)
    .filter((id) => !done.has(id))
    .sort();
  // Every node left has a predecessor that is also left, so walking back must come round.
  const seen = new Map<string, number>();
  const walk: string[] = [];
  let at = left[0] as string;
  while (!seen.has(at)) {
    seen.set(at, walk.length);
    walk.push(at);
    at = [...(preds.get(at) ?? [])].filter((p) => !done.has(p)).sort()[0] as string;
  }
  const cycle = walk.slice(seen.get(at)).reverse();
  const start = cycle.indexOf([...cycle].sort()[0] as string);
  return [...cycle.slice(start), ...cycle.slice(0, start), cycle[start] as string];
}

/**
 * Node ids in dependency order (every edge's source before its destination), ties broken by the lowest
 * node id. Edges to missing nodes are ignored. Throws on a cycle: validate the graph first.
 * @example topologicalOrder(graph) // ['model', 'neg', 'noise', 'pos', 'denoise', 'l2i']
 */
export function topologicalOrder(graph: Graph): string[] {
  const { order } = sortNodes(graph);
  if (order.length !== Object.keys(graph.nodes).length) {
    throw new Error('the graph has a cycle');
  }
  return order;
}
