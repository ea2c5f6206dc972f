/** What the queue reports of the workers that run its items (API.md section 4, processor). */
export interface ProcessorStatus {
  is_started: boolean;
  is_processing: boolean;
}

/**
 * The workers port: pause and resume taking new items, report state, stop a running item.
 * @example workers.cancel(itemId); const { is_started } = workers.status();
 */
export interface Workers {
  status(): ProcessorStatus;
  pause(): ProcessorStatus;
  resume(): ProcessorStatus;
  /** Stops the running item before its next step; a no-op when it is not running here. */
  cancel(itemId: number): void;
  /** Something was enqueued: a paused or idle worker may look for work. */
  wake(): void;
}
