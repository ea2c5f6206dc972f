import { createPgliteFolder } from '../db/pglite.ts';

// The child of `ensurePgliteFolder`: creates the folder given as its argument, then exits (its memory with it).
const folder = process.argv[2];
if (!folder) {
  throw new Error('usage: pglite-folder-child.ts <data folder>');
}
await createPgliteFolder(folder);
process.exit(0);
