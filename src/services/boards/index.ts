export * from './create-board.ts';
export * from './delete-board.ts';
export * from './list-board-image-names.ts';
export * from './list-boards.ts';
export * from './owned-boards.ts';
export * from './schemas.ts';
export * from './update-board.ts';
