/**
 * `npx tsx bench/tiny-sd.ts [threads]`: the time of one 64×64 image (two prompt encodings, 20 Euler steps at
 * CFG 7.5, i.e. 20 UNet calls at batch 2, VAE decode) of the trained bundled model (models/tiny-sd, or the
 * folder in `TINY_SD_DIR`) in this process, as the inference child runs it. Prints the median and p90 of 30
 * runs after 3 warm-up runs.
 */
import { cpus, loadavg } from 'node:os';
import { loadDiffusionModel } from '../src/node/onnx-model.ts';
import { decodeLatents, denoise, encodePrompt, makeNoise } from '../src/runtime/pipeline.ts';

const threads = Number(process.argv[2] ?? 1);
const model = await loadDiffusionModel(process.env.TINY_SD_DIR ?? 'models/tiny-sd', {
  executionProvider: 'cpu',
  warn: () => {},
  threads,
});

async function image(seed: number) {
  const latents = await denoise(model, {
    positive: await encodePrompt(model, 'a red circle on a blue background'),
    negative: await encodePrompt(model, ''),
    noise: makeNoise(seed, 64, 64, model.manifest),
    steps: 20,
    cfgScale: 7.5,
    scheduler: 'euler',
    denoisingStart: 0,
    denoisingEnd: 1,
    seed,
  });
  return decodeLatents(model, latents);
}

for (let i = 0; i < 3; i++) {
  await image(i);
}
const ms: number[] = [];
for (let i = 0; i < 30; i++) {
  const t = performance.now();
  await image(100 + i);
  ms.push(performance.now() - t);
}
ms.sort((a, b) => a - b);
const at = (q: number) => (ms[Math.floor(q * (ms.length - 1))] as number).toFixed(1);
console.log(
  `tiny-sd 64×64, 20 euler steps, CFG 7.5, ${threads} thread(s): median ${at(0.5)} ms, p90 ${at(0.9)} ms` +
    ` (${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]?.toFixed(2)})`,
);
await model.release();
