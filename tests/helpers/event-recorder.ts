import type { ServerEvent } from '../../src/core/events.ts';

/**
 * Records every event the hub publishes, in order, for tests to read and wait on.
 * @example const events = new EventRecorder(); hub.observe((e) => events.record(e)); await events.waitFor(…);
 */
export class EventRecorder {
  readonly events: ServerEvent[] = [];

  readonly #waiters: { match: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void }[] = [];

  record(event: ServerEvent): void {
    this.events.push(event);
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
