/**
 * Prints the CLIP token ids (77 per prompt) of the prompts read as a JSON array from stdin, with the
 * tokenizer the server uses (`src/runtime/tokenizer.ts`) over a model folder's `tokenizer/` files, so the
 * Python trainer never re-implements BPE.
 * Usage: echo '["a red circle", ""]' | npx tsx scripts/train-tiny-sd/tokenize.ts models/tiny-sd/tokenizer
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClipTokenizer } from '../../src/runtime/tokenizer.ts';

const dir = process.argv[2] ?? 'models/tiny-sd/tokenizer';
const tok = createClipTokenizer({
  vocab: readFileSync(join(dir, 'vocab.json'), 'utf8'),
  merges: readFileSync(join(dir, 'merges.txt'), 'utf8'),
  specialTokensMap: readFileSync(join(dir, 'special_tokens_map.json'), 'utf8'),
});
const prompts = JSON.parse(readFileSync(0, 'utf8')) as string[];
const vocabSize = Object.keys(JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8'))).length;
process.stdout.write(
  JSON.stringify({
    vocabSize,
    ids: prompts.map((p) => Array.from(tok.encode(p))),
    tokens: prompts.map((p) => tok.tokens(p)),
  }),
);
