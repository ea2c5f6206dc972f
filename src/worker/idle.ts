import type { ProcessorStatus, Workers } from '../core/workers.ts';

/**
 * A processor with no runtime behind it: it keeps the started/paused flag and never runs an item, so
 * `is_processing` stays false. The server uses it until a generation runtime is configured.
 */
export class IdleWorkers implements Workers {
  #started = true;

  status(): ProcessorStatus {
    return { is_started: this.#started, is_processing: false };
  }

  pause(): ProcessorStatus {
    this.#started = false;
    return this.status();
  }

  resume(): ProcessorStatus {
    this.#started = true;
    return this.status();
  }

  cancel(_itemId: number): void {}

  wake(): void {}
}
