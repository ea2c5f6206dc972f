import { IdleWorkers } from './idle.ts';

/** The idle processor plus a record of what it was asked, for tests (wake-ups stay in the process). */
export class FakeWorkers extends IdleWorkers {
  readonly canceled: number[] = [];
  wakes = 0;

  override cancel(itemId: number): void {
    this.canceled.push(itemId);
  }

  override wake(): void {
    this.wakes++;
  }
}
