import type { EventPublisher, ServerEvent } from './interface.ts';

/**
 * Records every event in order for tests to read, and passes it on to `next` if there is one.
 * @example const events = new MemoryEventPublisher(); …; expect(events.names()).toEqual(['batch_enqueued']);
 */
export class MemoryEventPublisher implements EventPublisher {
  readonly events: ServerEvent[] = [];

  /** `next`, when given, also receives every event (a test can record and deliver). */
  constructor(private readonly next?: EventPublisher) {}

  readonly #waiters: { match: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void }[] = [];

  publish(event: ServerEvent): void {
    this.events.push(event);
    this.next?.publish(event);
    for (const w of [...this.#waiters]) {
      if (w.match(event)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  }

  /** The first event, already published or still to come, that matches: tests wait on events, not time. */
  waitFor(match: (e: ServerEvent) => boolean): Promise<ServerEvent> {
    const seen = this.events.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  names(): string[] {
    return this.events.map((e) => e.name);
  }

  clear(): void {
    this.events.length = 0;
  }
}
