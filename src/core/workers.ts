/** What the queue reports of the workers that run its items (API.md section 4, processor). */
export interface ProcessorStatus {
  is_started: boolean;
  is_processing: boolean;
}

/** One entry of `GET /api/v1/workers` (API.md section 8). */
export interface WorkerView {
  worker_id: string;
  node_id: string;
  device: string;
  state: 'idle' | 'busy' | 'gone';
  item_id: number | null;
  last_seen_at: string;
}

/** Per-worker counters for `/metrics`. */
export interface WorkerStats {
  workerId: string;
  nodeId: string;
  device: string;
  itemsDone: number;
  busySeconds: number;
}

/**
 * The workers port: pause and resume taking new items (for every process: the state is in the database),
 * report state, stop a running item, list the workers of every process.
 * @example workers.cancel(itemId); const { is_started } = await workers.status('default');
 */
export interface Workers {
  /** `is_started`: the queue is not paused (shared); `is_processing`: a worker of this process runs an item. */
  status(queueId: string): Promise<ProcessorStatus>;
  pause(queueId: string): Promise<ProcessorStatus>;
  resume(queueId: string): Promise<ProcessorStatus>;
  /** Stops the running item before its next step; a no-op when it is not running here. */
  cancel(itemId: number): void;
  /** Something was enqueued: idle workers of every process look for work. */
  wake(): void;
  /** Every worker of every process, by worker id. */
  list(): Promise<WorkerView[]>;
  /** Items done and busy seconds per worker, for `/metrics`. */
  stats(): Promise<WorkerStats[]>;
}
