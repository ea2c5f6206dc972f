import { SharedWorkers } from './shared.ts';

/**
 * The workers port of a process that runs no item (`ROLE=api`, or no runtime configured): pause, resume,
 * the worker list and wake-ups go to the database for the workers of other processes; `is_processing`
 * stays false.
 */
export class IdleWorkers extends SharedWorkers {}
