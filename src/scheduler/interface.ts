/** What the queue asks of the processor that runs its items. */
export interface ProcessorStatus {
  is_started: boolean;
  is_processing: boolean;
}

/**
 * The processor port: pause and resume taking new items, report state, stop a running item.
 * @example await processor.cancel(itemId); const { is_started } = processor.status();
 */
export interface Processor {
  status(): ProcessorStatus;
  pause(): ProcessorStatus;
  resume(): ProcessorStatus;
  /** Stops the running item before its next step; a no-op when it is not running here. */
  cancel(itemId: number): void;
  /** Something was enqueued: a paused or idle processor may look for work. */
  wake(): void;
}
