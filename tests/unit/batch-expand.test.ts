import { describe, expect, it } from 'vitest';
import {
  Batch,
  countSessions,
  expandBatch,
  MAX_BATCH_SESSIONS,
  validateBatch,
} from '../../src/queue/batch-expand.ts';
import { GraphNode } from '../../src/runtime/graph-schema.ts';
import { graphContext, textToImageGraph } from '../helpers/graphs.ts';

const ctx = graphContext({ models: ['tiny-sd', 'tiny-sd-2'], boards: ['mine'] });

/** A parsed batch over the text-to-image graph. */
const batch = (rest: Record<string, unknown> = {}) => Batch.parse({ graph: textToImageGraph(), ...rest });
const datum = (node_path: string, field_name: string, items: unknown[]) => ({ node_path, field_name, items });

function problemsOf(b: Batch) {
  const result = expandBatch(b, ctx);
  if (result.ok) {
    throw new Error('expected problems');
  }
  return result.problems;
}

function sessionsOf(b: Batch) {
  const result = expandBatch(b, ctx);
  if (!result.ok) {
    throw new Error(JSON.stringify(result.problems));
  }
  return result.sessions;
}

describe('Batch schema', () => {
  it('defaults runs to 1 and keeps the optional fields', () => {
    const parsed = Batch.parse({
      graph: textToImageGraph(),
      origin: 'canvas',
      destination: null,
      workflow: null,
    });
    expect(parsed.runs).toBe(1);
    expect(parsed).toMatchObject({ origin: 'canvas', destination: null, workflow: null });
  });

  it('refuses runs outside 1…10000, and an empty group or items list', () => {
    const issues = (b: unknown) =>
      Batch.safeParse(b).error?.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    const graph = textToImageGraph();
    expect(issues({ graph, runs: 0 })).toEqual([
      { path: 'runs', message: 'Too small: expected number to be >=1' },
    ]);
    expect(issues({ graph, runs: 10_001 })).toEqual([
      { path: 'runs', message: 'Too big: expected number to be <=10000' },
    ]);
    expect(issues({ graph, data: [[]] })).toEqual([
      { path: 'data.0', message: 'Too small: expected array to have >=1 items' },
    ]);
    expect(issues({ graph, data: [[datum('noise', 'seed', [])]] })).toEqual([
      { path: 'data.0.0.items', message: 'Too small: expected array to have >=1 items' },
    ]);
  });
});

describe('countSessions', () => {
  it('is runs × the product of the group lengths', () => {
    expect(countSessions({})).toBe(1);
    expect(countSessions({ runs: 3, data: null })).toBe(3);
    expect(
      countSessions({
        runs: 2,
        data: [[datum('a', 'x', [1, 2]), datum('b', 'y', [3, 4])], [datum('c', 'z', [1, 2, 3])]],
      }),
    ).toBe(12);
  });
});

describe('expandBatch', () => {
  it('gives runs identical sessions when there is no data', () => {
    const b = batch({ runs: 3 });
    const sessions = sessionsOf(b);
    expect(sessions).toHaveLength(3);
    for (const s of sessions) {
      expect(s.fieldValues).toEqual([]);
      expect(s.graph).toEqual(textToImageGraph());
    }
  });

  it('orders runs, then groups (first outermost), then zipped datums', () => {
    const b = batch({
      runs: 2,
      data: [
        [datum('noise', 'seed', [1, 2]), datum('positive', 'prompt', ['cat', 'dog'])],
        [datum('denoise', 'steps', [5, 6, 7])],
      ],
    });
    const fv = (seed: number, prompt: string, steps: number) => [
      { node_path: 'noise', field_name: 'seed', value: seed },
      { node_path: 'positive', field_name: 'prompt', value: prompt },
      { node_path: 'denoise', field_name: 'steps', value: steps },
    ];
    const once = [
      fv(1, 'cat', 5),
      fv(1, 'cat', 6),
      fv(1, 'cat', 7),
      fv(2, 'dog', 5),
      fv(2, 'dog', 6),
      fv(2, 'dog', 7),
    ];
    const sessions = sessionsOf(b);
    expect(countSessions(b)).toBe(12);
    expect(sessions.map((s) => s.fieldValues)).toEqual([...once, ...once]);
    expect(
      sessions.map((s) => [
        s.graph.nodes.noise?.seed,
        s.graph.nodes.positive?.prompt,
        s.graph.nodes.denoise?.steps,
      ]),
    ).toEqual(
      once
        .map((values) => values.map((v) => v.value))
        .concat(once.map((values) => values.map((v) => v.value))),
    );
  });

  it('takes the product of three groups like itertools.product', () => {
    const b = batch({
      data: [
        [datum('noise', 'seed', [1, 2])],
        [datum('noise', 'width', [64, 128])],
        [datum('noise', 'height', [64, 72])],
      ],
    });
    expect(sessionsOf(b).map((s) => s.fieldValues.map((v) => v.value))).toEqual([
      [1, 64, 64],
      [1, 64, 72],
      [1, 128, 64],
      [1, 128, 72],
      [2, 64, 64],
      [2, 64, 72],
      [2, 128, 64],
      [2, 128, 72],
    ]);
  });

  it('applies values without touching the batch graph, copying only the changed nodes', () => {
    const b = batch({ data: [[datum('noise', 'seed', [7, 8])]] });
    const [first, second] = sessionsOf(b);
    expect(first?.graph.nodes.noise).toEqual({ id: 'noise', type: 'noise', seed: 7, width: 64, height: 64 });
    expect(second?.graph.nodes.noise?.seed).toBe(8);
    expect(b.graph.nodes.noise?.seed).toBe(42);
    expect(first?.graph.nodes.denoise).toBe(b.graph.nodes.denoise);
    expect(first?.graph.edges).toBe(b.graph.edges);
  });

  it('lets data provide a required input the graph leaves out, and checks each model', () => {
    const graph = textToImageGraph();
    graph.nodes.model = GraphNode.parse({ id: 'model', type: 'main_model_loader' });
    const b = Batch.parse({
      graph,
      data: [[datum('model', 'model', [{ key: 'tiny-sd' }, { key: 'tiny-sd-2' }])]],
    });
    expect(sessionsOf(b).map((s) => s.graph.nodes.model?.model)).toEqual([
      { key: 'tiny-sd' },
      { key: 'tiny-sd-2' },
    ]);
    const bad = Batch.parse({
      graph,
      data: [[datum('model', 'model', [{ key: 'tiny-sd' }, { key: 'sdxl' }])]],
    });
    expect(problemsOf(bad)).toEqual([{ path: 'data.0.0.items.1', message: 'unknown model "sdxl"' }]);
  });

  it('reports zipped items arrays of unequal length', () => {
    const b = batch({
      data: [[datum('noise', 'seed', [1, 2]), datum('positive', 'prompt', ['a', 'b', 'c'])]],
    });
    expect(problemsOf(b)).toEqual([
      { path: 'data.0', message: 'the items of a zip group must all have the same length (got 2, 3)' },
    ]);
  });

  it('reports a datum for a node that is not in the graph', () => {
    const b = batch({ data: [[datum('noise', 'seed', [1])], [datum('ghost', 'seed', [1])]] });
    expect(problemsOf(b)).toEqual([{ path: 'data.1.0', message: 'no node "ghost" in the graph' }]);
  });

  it('reports a datum for a field the node does not have', () => {
    const b = batch({ data: [[datum('noise', 'colour', ['red'])]] });
    expect(problemsOf(b)).toEqual([{ path: 'data.0.0', message: 'noise has no input "colour"' }]);
  });

  it('reports a datum for a connection input', () => {
    const b = batch({ data: [[datum('denoise', 'unet', ['x'])]] });
    expect(problemsOf(b)).toEqual([
      { path: 'data.0.0', message: '"unet" is a unet connection: it can only come from an edge' },
    ]);
  });

  it('reports a datum for an input fed by an edge', () => {
    const graph = textToImageGraph();
    graph.nodes.steps = GraphNode.parse({ id: 'steps', type: 'integer', value: 5 });
    graph.nodes.denoise = GraphNode.parse({ id: 'denoise', type: 'denoise_latents' });
    graph.edges.push({
      source: { node_id: 'steps', field: 'value' },
      destination: { node_id: 'denoise', field: 'steps' },
    });
    const b = Batch.parse({ graph, data: [[datum('denoise', 'steps', [5])]] });
    expect(problemsOf(b)).toEqual([
      { path: 'data.0.0', message: 'nodes.denoise.steps is connected by edges.8: batch data cannot set it' },
    ]);
  });

  it('reports two datums for the same field', () => {
    const b = batch({ data: [[datum('noise', 'seed', [1])], [datum('noise', 'seed', [2])]] });
    expect(problemsOf(b)).toEqual([
      { path: 'data.1.0', message: 'nodes.noise.seed is already set by data.0.0' },
    ]);
  });

  it('reports values that do not fit the input, by item', () => {
    const b = batch({
      data: [
        [datum('noise', 'seed', [1, 'two', -3])],
        [datum('l2i', 'board', [{ board_id: 'mine' }, { board_id: 'x' }, {}])],
      ],
    });
    expect(problemsOf(b)).toEqual([
      { path: 'data.0.0.items.1', message: 'Invalid input: expected number, received string' },
      { path: 'data.0.0.items.2', message: 'Too small: expected number to be >=0' },
      { path: 'data.1.0.items.1', message: 'unknown board "x"' },
      { path: 'data.1.0.items.2.board_id', message: 'Invalid input: expected string, received undefined' },
    ]);
  });

  it('summarises bad items past the first ten', () => {
    const b = batch({
      data: [
        [
          datum(
            'noise',
            'seed',
            Array.from({ length: 13 }, (_, i) => -1 - i),
          ),
        ],
      ],
    });
    const problems = problemsOf(b);
    expect(problems).toHaveLength(11);
    expect(problems[9]).toEqual({
      path: 'data.0.0.items.9',
      message: 'Too small: expected number to be >=0',
    });
    expect(problems[10]).toEqual({ path: 'data.0.0.items', message: '3 more items do not fit' });
  });

  it('checks a value set on a primitive against the inputs it feeds', () => {
    const graph = textToImageGraph();
    graph.nodes.sched = GraphNode.parse({ id: 'sched', type: 'string', value: 'euler' });
    graph.nodes.denoise = GraphNode.parse({ ...graph.nodes.denoise, scheduler: null });
    graph.edges.push({
      source: { node_id: 'sched', field: 'value' },
      destination: { node_id: 'denoise', field: 'scheduler' },
    });
    const b = Batch.parse({ graph, data: [[datum('sched', 'value', ['lcm', 'dpm'])]] });
    expect(problemsOf(b)).toEqual([
      {
        path: 'data.0.0.items.1',
        message:
          'does not fit nodes.denoise.scheduler: Invalid option: expected one of "euler"|"euler_a"|"ddim"|"lcm"',
      },
    ]);
  });

  it('checks denoising_start < denoising_end on each combination', () => {
    const b = batch({
      data: [[datum('denoise', 'denoising_start', [0, 0.5])], [datum('denoise', 'denoising_end', [1, 0.5])]],
    });
    expect(problemsOf(b)).toEqual([
      {
        path: 'data.1.0.items.1',
        message: 'nodes.denoise.denoising_end: must be greater than denoising_start (0.5)',
      },
    ]);
  });

  it('prefixes problems of the batch graph with graph.', () => {
    const graph = textToImageGraph();
    graph.nodes.denoise = GraphNode.parse({ ...graph.nodes.denoise, steps: 500 });
    graph.edges.pop();
    expect(problemsOf(Batch.parse({ graph, runs: 2 }))).toEqual([
      { path: 'graph.nodes.denoise.steps', message: 'Too big: expected number to be <=200' },
      { path: 'graph.nodes.l2i.vae', message: 'required input: connect an edge to it' },
    ]);
  });

  it('refuses a batch that would expand past the hard ceiling without expanding it', () => {
    const items = Array.from({ length: 1001 }, (_, i) => i);
    const b = batch({
      data: [[datum('noise', 'seed', items)], [datum('positive', 'prompt', items.map(String))]],
    });
    expect(countSessions(b)).toBe(1001 * 1001);
    expect(problemsOf(b)).toEqual([
      { path: 'data', message: `the batch expands to 1002001 sessions; the most is ${MAX_BATCH_SESSIONS}` },
    ]);
  });

  it('validates the same batch without expanding it', () => {
    expect(validateBatch(batch({ runs: 10_000, data: [[datum('noise', 'seed', [1, 2])]] }), ctx)).toEqual([]);
  });

  it('expands 100,000 sessions quickly', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => i);
    const b = batch({ runs: 10, data: [[datum('noise', 'seed', items)]] });
    const started = performance.now();
    const sessions = sessionsOf(b);
    const elapsed = performance.now() - started;
    expect(sessions).toHaveLength(100_000);
    expect(sessions[99_999]?.fieldValues).toEqual([{ node_path: 'noise', field_name: 'seed', value: 9999 }]);
    expect(sessions[10_000]?.graph).toBe(sessions[0]?.graph);
    expect(elapsed).toBeLessThan(5000);
  });
});
