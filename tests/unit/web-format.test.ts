import { describe, expect, it } from 'vitest';
import { stageLabel } from '../../web/lib/format.js';

// The words the progress panel shows for a running item (web/lib/format.js).
describe('web/lib/format.js stageLabel', () => {
  it('names each stage of a run in words, never by its node type', () => {
    expect(stageLabel('main_model_loader')).toBe('Loading model');
    expect(stageLabel('compel')).toBe('Encoding prompt');
    expect(stageLabel('noise')).toBe('Preparing noise');
    expect(stageLabel('i2l')).toBe('Encoding starting image');
    expect(stageLabel('denoise_latents', 12, 20)).toBe('Denoising 12/20');
    expect(stageLabel('denoise_latents')).toBe('Denoising');
    expect(stageLabel('l2i')).toBe('Decoding image');
    expect(stageLabel('some_future_node')).toBe('Working');
  });
});
