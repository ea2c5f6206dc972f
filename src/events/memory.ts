import type { EventPublisher, ServerEvent } from './interface.ts';

/**
 * Records every event in order for tests to read, and passes it on to `next` if there is one.
 * @example const events = new MemoryEventPublisher(); …; expect(events.names()).toEqual(['batch_enqueued']);
 */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: ServerEvent[] = [];

  /** `next`, when given, also receives every event (a test can record and deliver). */
  constructor(private readonly next?: EventPublisher) {}

  publish(event: ServerEvent): void {
    this.events.push(event);
    this.next?.publish(event);
  }

  names(): string[] {
    return this.events.map((e) => e.name);
  }

  clear(): void {
    this.events.length = 0;
  }
}
