import { describe, expect, it } from 'vitest';
import { validateGraph } from '../../src/runtime/graph.ts';
import { topologicalOrder } from '../../src/runtime/graph-order.ts';
import { type Graph, GraphNode } from '../../src/runtime/graph-schema.ts';
import { canConnect, INVOCATION_TYPES, INVOCATIONS } from '../../src/runtime/invocations.ts';
import { graphContext, imageToImageGraph, textToImageGraph } from '../helpers/graphs.ts';

const ctx = graphContext({ boards: ['mine'] });

/** The text-to-image graph with some nodes changed (`undefined` deletes a field) and edges added. */
function t2i(change: Record<string, Record<string, unknown>> = {}, extraEdges: Graph['edges'] = []): Graph {
  const graph = textToImageGraph();
  for (const [id, fields] of Object.entries(change)) {
    const node = { ...(graph.nodes[id] ?? { id, type: '' }), ...fields };
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) {
        delete node[k];
      }
    }
    graph.nodes[id] = GraphNode.parse(node);
  }
  graph.edges.push(...extraEdges);
  return graph;
}

const edge = (from: string, out: string, to: string, input: string) => ({
  source: { node_id: from, field: out },
  destination: { node_id: to, field: input },
});

describe('invocations', () => {
  it('declares every type of API.md with its outputs', () => {
    expect(INVOCATION_TYPES).toEqual([
      'main_model_loader',
      'compel',
      'noise',
      'denoise_latents',
      'l2i',
      'i2l',
      'string',
      'integer',
      'float',
    ]);
    expect(Object.fromEntries(INVOCATION_TYPES.map((t) => [t, INVOCATIONS[t].outputs]))).toEqual({
      main_model_loader: { unet: 'unet', clip: 'clip', vae: 'vae' },
      compel: { conditioning: 'conditioning' },
      noise: { noise: 'noise' },
      denoise_latents: { latents: 'latents' },
      l2i: { image: 'image', width: 'integer', height: 'integer' },
      i2l: { latents: 'latents' },
      string: { value: 'string' },
      integer: { value: 'integer' },
      float: { value: 'float' },
    });
  });

  it('lets integers feed floats, and nothing else cross kinds', () => {
    expect(canConnect('integer', 'float')).toBe(true);
    expect(canConnect('float', 'integer')).toBe(false);
    expect(canConnect('clip', 'clip')).toBe(true);
    expect(canConnect('vae', 'clip')).toBe(false);
  });
});

describe('validateGraph', () => {
  it('accepts the text-to-image graph and asks about its model', () => {
    const c = graphContext();
    expect(validateGraph(textToImageGraph(), c)).toEqual([]);
    expect(c.modelsAsked).toEqual(['tiny-sd']);
  });

  it("accepts a board the caller owns and InvokeAI's common fields on any node", () => {
    const graph = t2i({
      l2i: { board: { board_id: 'mine' }, is_intermediate: true, use_cache: false },
      noise: { use_cache: true, is_intermediate: true },
    });
    expect(validateGraph(graph, ctx)).toEqual([]);
  });

  it('falls back to defaults for optional inputs left out', () => {
    const graph = t2i({
      denoise: { steps: undefined, cfg_scale: undefined, scheduler: undefined, denoising_end: undefined },
      noise: { seed: undefined, width: undefined, height: undefined },
      positive: { prompt: undefined },
    });
    expect(validateGraph(graph, ctx)).toEqual([]);
  });

  it('reports the structure first when the graph is not graph-shaped', () => {
    expect(validateGraph({ nodes: { a: { id: 1 } }, edges: [{ source: { node_id: 'a' } }] }, ctx)).toEqual([
      { path: 'nodes.a.id', message: 'Invalid input: expected string, received number' },
      { path: 'nodes.a.type', message: 'Invalid input: expected string, received undefined' },
      { path: 'edges.0.source.field', message: 'Invalid input: expected string, received undefined' },
      { path: 'edges.0.destination', message: 'Invalid input: expected object, received undefined' },
    ]);
    expect(validateGraph('graph', ctx)).toEqual([
      { path: '', message: 'Invalid input: expected object, received string' },
    ]);
  });

  it('reports a node whose id differs from its key', () => {
    expect(validateGraph(t2i({ noise: { id: 'noise2' } }), ctx)).toEqual([
      { path: 'nodes.noise.id', message: 'must equal the node\'s key "noise"' },
    ]);
  });

  it('reports an unknown node type', () => {
    const graph = t2i({ extra: { id: 'extra', type: 'upscale', scale: 2 } });
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'nodes.extra.type', message: 'unknown node type "upscale"' },
    ]);
  });

  it('reports an unknown field', () => {
    expect(validateGraph(t2i({ noise: { colour: 'red' } }), ctx)).toEqual([
      { path: 'nodes.noise.colour', message: 'noise has no input "colour"' },
    ]);
  });

  it('reports a field of the wrong type', () => {
    expect(validateGraph(t2i({ denoise: { steps: 'ten', scheduler: 3 } }), ctx)).toEqual([
      { path: 'nodes.denoise.steps', message: 'Invalid input: expected number, received string' },
      {
        path: 'nodes.denoise.scheduler',
        message: 'Invalid option: expected one of "euler"|"euler_a"|"ddim"|"lcm"',
      },
    ]);
  });

  it('reports fields out of range', () => {
    const graph = t2i({
      denoise: { steps: 201, cfg_scale: 31, denoising_start: -0.5 },
      noise: { seed: 2 ** 32, width: 100, height: 2048 },
      positive: { prompt: 'x'.repeat(2001) },
    });
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'nodes.positive.prompt', message: 'Too big: expected string to have <=2000 characters' },
      { path: 'nodes.noise.seed', message: 'Too big: expected number to be <=4294967295' },
      { path: 'nodes.noise.width', message: 'Invalid number: must be a multiple of 8' },
      { path: 'nodes.noise.height', message: 'Too big: expected number to be <=1024' },
      { path: 'nodes.denoise.steps', message: 'Too big: expected number to be <=200' },
      { path: 'nodes.denoise.cfg_scale', message: 'Too big: expected number to be <=30' },
      { path: 'nodes.denoise.denoising_start', message: 'Too small: expected number to be >=0' },
    ]);
  });

  it('reports a non-integer where an integer is expected', () => {
    expect(validateGraph(t2i({ noise: { seed: 1.5 } }), ctx)).toEqual([
      { path: 'nodes.noise.seed', message: 'Invalid input: expected int, received number' },
    ]);
  });

  it('reports denoising_start not below denoising_end', () => {
    expect(validateGraph(t2i({ denoise: { denoising_start: 0.6, denoising_end: 0.6 } }), ctx)).toEqual([
      { path: 'nodes.denoise.denoising_end', message: 'must be greater than denoising_start (0.6)' },
    ]);
    expect(validateGraph(t2i({ denoise: { denoising_start: 1, denoising_end: undefined } }), ctx)).toEqual([
      { path: 'nodes.denoise.denoising_end', message: 'must be greater than denoising_start (1)' },
    ]);
  });

  it('refuses more than 50 steps with the lcm scheduler', () => {
    expect(validateGraph(t2i({ denoise: { scheduler: 'lcm', steps: 51 } }), ctx)).toEqual([
      { path: 'nodes.denoise.steps', message: 'must be at most 50 with the lcm scheduler' },
    ]);
    expect(validateGraph(t2i({ denoise: { scheduler: 'lcm', steps: 50 } }), ctx)).toEqual([]);
    expect(validateGraph(t2i({ denoise: { scheduler: 'euler', steps: 200 } }), ctx)).toEqual([]);
  });

  it('reports a connection input written as a literal', () => {
    expect(validateGraph(t2i({ l2i: { vae: 'my-vae' } }), ctx)).toEqual([
      { path: 'nodes.l2i.vae', message: '"vae" is a vae connection: it can only come from an edge' },
    ]);
  });

  it('reports an unknown model', () => {
    expect(validateGraph(t2i({ model: { model: { key: 'sdxl' } } }), ctx)).toEqual([
      { path: 'nodes.model.model', message: 'unknown model "sdxl"' },
    ]);
  });

  it('reports a malformed model reference', () => {
    expect(validateGraph(t2i({ model: { model: { name: 'tiny-sd' } } }), ctx)).toEqual([
      { path: 'nodes.model.model.key', message: 'Invalid input: expected string, received undefined' },
      { path: 'nodes.model.model', message: 'Unrecognized key: "name"' },
    ]);
  });

  it('reports a board the caller does not own', () => {
    const c = graphContext({ boards: ['mine'] });
    expect(validateGraph(t2i({ l2i: { board: { board_id: 'theirs' } } }), c)).toEqual([
      { path: 'nodes.l2i.board', message: 'unknown board "theirs"' },
    ]);
    expect(c.boardsAsked).toEqual(['theirs']);
  });

  it('accepts an i2l of an image the caller may read, and reports any other as unknown', () => {
    const graph = imageToImageGraph({ image_name: 'mine.png' });
    expect(validateGraph(graph, graphContext({ images: ['mine.png'] }))).toEqual([]);
    expect(validateGraph(graph, graphContext())).toEqual([
      { path: 'nodes.i2l.image', message: 'unknown image "mine.png"' },
    ]);
    graph.nodes.i2l = GraphNode.parse({ id: 'i2l', type: 'i2l', image: { name: 'x' } });
    expect(validateGraph(graph, graphContext())).toEqual([
      { path: 'nodes.i2l.image.image_name', message: 'Invalid input: expected string, received undefined' },
      { path: 'nodes.i2l.image', message: 'Unrecognized key: "name"' },
    ]);
  });

  it('lets an l2i image feed an i2l, and needs i2l’s image and vae', () => {
    const chained = t2i({ again: { id: 'again', type: 'i2l' } }, [
      edge('l2i', 'image', 'again', 'image'),
      edge('model', 'vae', 'again', 'vae'),
    ]);
    expect(validateGraph(chained, ctx)).toEqual([]);
    expect(validateGraph(t2i({ lone: { id: 'lone', type: 'i2l' } }), ctx)).toEqual([
      { path: 'nodes.lone.image', message: 'required input: give it a value or connect an edge' },
      { path: 'nodes.lone.vae', message: 'required input: connect an edge to it' },
    ]);
  });

  it('reports edges to missing nodes', () => {
    const graph = t2i({}, [
      edge('ghost', 'value', 'denoise', 'steps'),
      edge('model', 'unet', 'nowhere', 'unet'),
    ]);
    graph.nodes.denoise = GraphNode.parse({ ...graph.nodes.denoise, steps: undefined });
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'edges.8.source.node_id', message: 'no node "ghost" in the graph' },
      { path: 'edges.9.destination.node_id', message: 'no node "nowhere" in the graph' },
    ]);
  });

  it('reports edges to missing fields: an output on the source, an input on the destination', () => {
    const graph = t2i({ seed: { id: 'seed', type: 'integer', value: 7 } }, [
      edge('seed', 'seed', 'noise', 'seed'),
      edge('model', 'unet', 'denoise', 'unet2'),
      edge('noise', 'seed', 'l2i', 'noise'),
    ]);
    graph.nodes.noise = GraphNode.parse({ ...graph.nodes.noise, seed: undefined });
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'edges.8.source.field', message: 'integer has no output "seed"' },
      { path: 'edges.9.destination.field', message: 'denoise_latents has no input "unet2"' },
      { path: 'edges.10.source.field', message: 'noise has no output "seed"' },
      { path: 'edges.10.destination.field', message: 'l2i has no input "noise"' },
    ]);
  });

  it('reports a type mismatch on an edge', () => {
    const graph = textToImageGraph();
    graph.edges[0] = edge('model', 'vae', 'positive', 'clip');
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'edges.0', message: 'type mismatch: nodes.model.vae is vae, nodes.positive.clip takes clip' },
    ]);
  });

  it('lets an integer output feed a float input, but not a float an integer input', () => {
    const ok = t2i({ cfg: { id: 'cfg', type: 'integer', value: 5 }, denoise: { cfg_scale: undefined } }, [
      edge('cfg', 'value', 'denoise', 'cfg_scale'),
    ]);
    expect(validateGraph(ok, ctx)).toEqual([]);
    const bad = t2i({ steps: { id: 'steps', type: 'float', value: 5 }, denoise: { steps: undefined } }, [
      edge('steps', 'value', 'denoise', 'steps'),
    ]);
    expect(validateGraph(bad, ctx)).toEqual([
      {
        path: 'edges.8',
        message: 'type mismatch: nodes.steps.value is float, nodes.denoise.steps takes integer',
      },
    ]);
  });

  it('reports an input given both literally and by an edge', () => {
    const graph = t2i({ steps: { id: 'steps', type: 'integer', value: 5 } }, [
      edge('steps', 'value', 'denoise', 'steps'),
    ]);
    expect(validateGraph(graph, ctx)).toEqual([
      {
        path: 'edges.8.destination',
        message: 'nodes.denoise.steps also has a literal value: give it a value or an edge, not both',
      },
    ]);
  });

  it('reports two edges into one input', () => {
    const graph = t2i({}, [edge('negative', 'conditioning', 'denoise', 'positive_conditioning')]);
    expect(validateGraph(graph, ctx)).toEqual([
      {
        path: 'edges.8.destination',
        message: 'nodes.denoise.positive_conditioning is already connected by edges.3',
      },
    ]);
  });

  it('reports a primitive whose value does not fit the input it feeds', () => {
    const graph = t2i(
      {
        steps: { id: 'steps', type: 'integer', value: 500 },
        sched: { id: 'sched', type: 'string', value: 'dpm' },
      },
      [edge('steps', 'value', 'denoise', 'steps'), edge('sched', 'value', 'denoise', 'scheduler')],
    );
    graph.nodes.denoise = GraphNode.parse({ ...graph.nodes.denoise, steps: undefined, scheduler: undefined });
    expect(validateGraph(graph, ctx)).toEqual([
      {
        path: 'nodes.steps.value',
        message: 'does not fit nodes.denoise.steps: Too big: expected number to be <=200',
      },
      {
        path: 'nodes.sched.value',
        message:
          'does not fit nodes.denoise.scheduler: Invalid option: expected one of "euler"|"euler_a"|"ddim"|"lcm"',
      },
    ]);
  });

  it('reports a primitive whose default does not fit the input it feeds', () => {
    const graph = t2i({ steps: { id: 'steps', type: 'integer' }, denoise: { steps: undefined } }, [
      edge('steps', 'value', 'denoise', 'steps'),
    ]);
    expect(validateGraph(graph, ctx)).toEqual([
      {
        path: 'nodes.steps.value',
        message: 'the default 0 does not fit nodes.denoise.steps: Too small: expected number to be >=1',
      },
    ]);
  });

  it('reports missing required inputs: neither a literal nor an edge', () => {
    const graph = t2i({ model: { model: undefined } });
    graph.edges = graph.edges.filter(
      (e) => e.destination.field !== 'unet' && e.destination.field !== 'latents',
    );
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'nodes.model.model', message: 'required input: give it a value or connect an edge' },
      { path: 'nodes.denoise.unet', message: 'required input: connect an edge to it' },
      { path: 'nodes.l2i.latents', message: 'required input: connect an edge to it' },
    ]);
  });

  it('treats null as not set', () => {
    const graph = t2i({ l2i: { board: null, vae: null }, noise: { seed: null }, model: { model: null } });
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'nodes.model.model', message: 'required input: give it a value or connect an edge' },
    ]);
  });

  it('does not count inputs that will be provided as missing', () => {
    const graph = t2i({ model: { model: undefined } });
    expect(validateGraph(graph, ctx, { provided: (id, f) => id === 'model' && f === 'model' })).toEqual([]);
  });

  it('reports a cycle once, naming its nodes', () => {
    const graph: Graph = {
      nodes: {
        c: { id: 'c', type: 'integer' },
        b: { id: 'b', type: 'integer' },
        a: { id: 'a', type: 'integer' },
        d: { id: 'd', type: 'float' },
        x: { id: 'x', type: 'integer', value: 1 },
      },
      edges: [
        edge('a', 'value', 'b', 'value'),
        edge('b', 'value', 'c', 'value'),
        edge('c', 'value', 'a', 'value'),
        edge('c', 'value', 'd', 'value'),
      ],
    };
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'edges', message: 'the graph has a cycle: a → b → c → a' },
    ]);
  });

  it('reports a node feeding itself as a cycle', () => {
    const graph: Graph = {
      nodes: { n: { id: 'n', type: 'integer' } },
      edges: [edge('n', 'value', 'n', 'value')],
    };
    expect(validateGraph(graph, ctx)).toEqual([{ path: 'edges', message: 'the graph has a cycle: n → n' }]);
  });

  it('reports every problem at once', () => {
    const graph = t2i({ noise: { width: 65, colour: 'red' }, model: { model: { key: 'nope' } } }, [
      edge('noise', 'noise', 'l2i', 'latents'),
    ]);
    expect(validateGraph(graph, ctx)).toEqual([
      { path: 'nodes.model.model', message: 'unknown model "nope"' },
      { path: 'nodes.noise.width', message: 'Invalid number: must be a multiple of 8' },
      { path: 'nodes.noise.colour', message: 'noise has no input "colour"' },
      {
        path: 'edges.8',
        message: 'type mismatch: nodes.noise.noise is noise, nodes.l2i.latents takes latents',
      },
      { path: 'edges.8.destination', message: 'nodes.l2i.latents is already connected by edges.6' },
    ]);
  });
});

describe('topologicalOrder', () => {
  it('orders the text-to-image graph by dependency, ties by node id', () => {
    expect(topologicalOrder(textToImageGraph())).toEqual([
      'model',
      'negative',
      'noise',
      'positive',
      'denoise',
      'l2i',
    ]);
  });

  it('takes the lowest ready id first, whatever the key order', () => {
    const graph: Graph = {
      nodes: {
        z: { id: 'z', type: 'integer', value: 1 },
        c: { id: 'c', type: 'integer', value: 2 },
        a: { id: 'a', type: 'float' },
        b: { id: 'b', type: 'integer', value: 3 },
      },
      edges: [edge('z', 'value', 'a', 'value')],
    };
    expect(topologicalOrder(graph)).toEqual(['b', 'c', 'z', 'a']);
  });

  it('throws on a cycle', () => {
    const graph: Graph = {
      nodes: { a: { id: 'a', type: 'integer' }, b: { id: 'b', type: 'integer' } },
      edges: [edge('a', 'value', 'b', 'value'), edge('b', 'value', 'a', 'value')],
    };
    expect(() => topologicalOrder(graph)).toThrow('the graph has a cycle');
  });
});
