export * from './audit-log.ts';
export * from './boards.ts';
export * from './images.ts';
export * from './revoked-tokens.ts';
export * from './session-queue.ts';
export * from './users.ts';
