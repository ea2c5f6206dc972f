import { z } from '@hono/zod-openapi';

export const MAX_NODES = 1000;
export const MAX_EDGES = 5000;
const Id = z.string().min(1).max(200);

/** A node on the wire: `{ id, type, ...inputs }`. Inputs are checked by `validateGraph`, not here. */
export const GraphNode = z.looseObject({ id: Id, type: z.string().min(1).max(100) }).openapi('GraphNode');
export type GraphNode = z.infer<typeof GraphNode>;

export const EdgeEndpoint = z.strictObject({ node_id: Id, field: z.string().min(1).max(100) });
export const GraphEdge = z
  .strictObject({ source: EdgeEndpoint, destination: EdgeEndpoint })
  .openapi('GraphEdge');
export type GraphEdge = z.infer<typeof GraphEdge>;

/** The structural shape of a graph (API.md section 3); `validateGraph` does the semantic checks. */
export const Graph = z
  .object({
    id: Id.optional(),
    nodes: z
      .record(Id, GraphNode)
      .refine((nodes) => Object.keys(nodes).length <= MAX_NODES, `a graph has at most ${MAX_NODES} nodes`),
    edges: z.array(GraphEdge).max(MAX_EDGES).default([]),
  })
  .openapi('Graph');
export type Graph = z.infer<typeof Graph>;
