import { expect, test } from 'vitest';
import { ChannelHub } from '../../src/channels/hub.ts';
import type { ServerEvent } from '../../src/core/events.ts';
import { createJsonLogger } from '../../src/core/logger.ts';

const cleared = (queueId: string): ServerEvent => ({
  name: 'queue_cleared',
  queueId,
  ownerId: null,
  data: {},
});

/** A promise with its resolve and reject at hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Whether `p` has settled, once the tasks already queued have run. */
async function settledYet(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.finally(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

test('shutdown waits for the queue_status count under way, and a count its closing database cut is not logged as a failure', async () => {
  const logs: Record<string, unknown>[] = [];
  const loads: string[] = [];
  const started = deferred<void>();
  const load = deferred<Record<string, number>>();
  const hub = new ChannelHub({
    clock: { now: () => new Date() },
    logger: createJsonLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line)) }),
    statusIntervalMs: 0,
    loadQueueStatus: (queueId) => {
      loads.push(queueId);
      started.resolve();
      return load.promise;
    },
  });
  hub.publish(cleared('first'));
  hub.publish(cleared('second'));
  await started.promise;

  const shutdown = hub.shutdown();
  expect(await settledYet(shutdown)).toBe(false);
  // What the server's database does once it closes under a read.
  load.reject(new Error('write CONNECTION_ENDED 127.0.0.1:5432'));
  await shutdown;

  expect(loads).toEqual(['first']); // the second queue is not counted after the close
  expect(logs.filter((l) => l.level === 'error')).toEqual([]);
});
