import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest, longest first (seconds of wall time in a full run on the 2-core machine): each
 * starts servers, child processes or a browser. Vitest's own order runs projects by name, which left these
 * (all in `unit` but the browser ones) for the end, with one worker finishing them while the other idled.
 */
const LONGEST = [
  'tests/node/start.test.ts', // 30
  'tests/node/generation.test.ts', // 30
  'tests/node/cluster-processes.test.ts', // 29
  'tests/deno/server.test.ts', // 20
  'tests/e2e/ui.test.ts', // 19
  'tests/node/child-runtime.test.ts', // 19
  'tests/e2e/first-run.test.ts', // 13
];

/** Vitest's order, but the longest files first: less of a tail once the short ones run out. */
export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const i = LONGEST.indexOf(relative(spec.project.config.root, spec.moduleId));
      return i === -1 ? LONGEST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}
