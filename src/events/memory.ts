import type { EventPublisher, ServerEvent } from './interface.ts';

/**
 * Records every event in order; tests read `events`, and nothing is delivered anywhere.
 * @example const events = new MemoryEventPublisher(); …; expect(events.names()).toEqual(['batch_enqueued']);
 */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: ServerEvent[] = [];

  publish(event: ServerEvent): void {
    this.events.push(event);
  }

  names(): string[] {
    return this.events.map((e) => e.name);
  }

  clear(): void {
    this.events.length = 0;
  }
}
