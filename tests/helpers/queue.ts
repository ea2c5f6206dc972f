import { textToImageGraph } from './graphs.ts';
import type { Harness } from './harness.ts';

export const Q = '/api/v1/queue/default';

/** Enqueues a batch of `runs` text-to-image sessions for the token's user and returns the response body. */
export async function enqueue(
  h: Harness,
  token: string,
  opts: {
    runs?: number;
    prepend?: boolean;
    prompt?: string;
    origin?: string;
    destination?: string;
    batch_id?: string;
  } = {},
) {
  const res = await h.post(`${Q}/enqueue_batch`, {
    token,
    json: {
      batch: {
        graph: textToImageGraph({ prompt: opts.prompt ?? 'a red cube' }),
        runs: opts.runs ?? 1,
        ...(opts.origin ? { origin: opts.origin } : {}),
        ...(opts.destination ? { destination: opts.destination } : {}),
        ...(opts.batch_id ? { batch_id: opts.batch_id } : {}),
      },
      ...(opts.prepend === undefined ? {} : { prepend: opts.prepend }),
    },
  });
  if (res.status !== 201) {
    throw new Error(`enqueue failed: ${res.status} ${await res.text()}`);
  }
  return (await res.json()) as { batch: { batch_id: string }; item_ids: number[]; enqueued: number };
}
