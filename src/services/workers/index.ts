export * from './list-workers.ts';
