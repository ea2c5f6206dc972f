/**
 * `npm run model:build [-- --out DIR] [--profile tiny|large] [--layout optimum|script]`: writes the
 * generated tiny Stable-Diffusion-shaped model (default `models/tiny-sd`, the committed copy).
 */
import { parseArgs } from 'node:util';
import { type Profile, writeTinyModel } from './tiny-model/write.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'models/tiny-sd' },
    profile: { type: 'string', default: 'tiny' },
    layout: { type: 'string', default: 'optimum' },
  },
});
const { out = 'models/tiny-sd', profile = 'tiny', layout = 'optimum' } = values;
if (profile !== 'tiny' && profile !== 'large') {
  throw new Error(`--profile must be tiny or large, not ${profile}`);
}
if (layout !== 'optimum' && layout !== 'script') {
  throw new Error(`--layout must be optimum or script, not ${layout}`);
}
const written = await writeTinyModel({ out, profile: profile as Profile, layout });
console.log(`wrote ${written.length} files to ${out}`);
