/**
 * `npm run model:build [-- --out DIR] [--profile tiny|large] [--layout optimum|script]`: writes the
 * generated tiny Stable-Diffusion-shaped model with random weights (default `$TMPDIR/easel-tiny-sd-random`:
 * the committed `models/tiny-sd` is the trained model of `scripts/train-tiny-sd/train.py`).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Profile, writeTinyModel } from './tiny-model/write.ts';

const DEFAULT_OUT = join(tmpdir(), 'easel-tiny-sd-random');
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: DEFAULT_OUT },
    profile: { type: 'string', default: 'tiny' },
    layout: { type: 'string', default: 'optimum' },
  },
});
const { out = DEFAULT_OUT, profile = 'tiny', layout = 'optimum' } = values;
if (profile !== 'tiny' && profile !== 'large') {
  throw new Error(`--profile must be tiny or large, not ${profile}`);
}
if (layout !== 'optimum' && layout !== 'script') {
  throw new Error(`--layout must be optimum or script, not ${layout}`);
}
const written = await writeTinyModel({ out, profile: profile as Profile, layout });
console.log(`wrote ${written.length} files to ${out}`);
