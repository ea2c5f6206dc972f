import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelCatalog } from '../../src/boot.ts';
import { createJsonLogger } from '../../src/core/logger.ts';
import { nodeFiles } from '../../src/node/boot.ts';

describe('readModelCatalog', () => {
  it('reads one model per folder with a model.json, keyed by folder unless it says otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'easel-models-'));
    await mkdir(join(dir, 'tiny-sd'));
    await writeFile(
      join(dir, 'tiny-sd', 'model.json'),
      JSON.stringify({ name: 'Tiny SD', description: 'bundled' }),
    );
    await mkdir(join(dir, 'sd15'));
    await writeFile(join(dir, 'sd15', 'model.json'), JSON.stringify({ key: 'sd-1.5', base: 'sd-1' }));
    await mkdir(join(dir, 'broken'));
    await writeFile(join(dir, 'broken', 'model.json'), '{ nope');
    await mkdir(join(dir, 'exported'));
    await writeFile(
      join(dir, 'exported', 'model_index.json'),
      JSON.stringify({ _class_name: 'OnnxStableDiffusionPipeline' }),
    );
    await mkdir(join(dir, 'empty'));
    const logs: Record<string, unknown>[] = [];
    const logger = createJsonLogger({ level: 'warn', write: (l) => logs.push(JSON.parse(l)) });
    const catalog = await readModelCatalog(nodeFiles, dir, logger);
    expect(catalog.list()).toEqual([
      { key: 'exported', name: 'exported', base: 'sd-1', type: 'main', format: 'onnx', description: '' },
      { key: 'sd-1.5', name: 'sd15', base: 'sd-1', type: 'main', format: 'onnx', description: '' },
      { key: 'tiny-sd', name: 'Tiny SD', base: 'sd-1', type: 'main', format: 'onnx', description: 'bundled' },
    ]);
    expect(catalog.has('tiny-sd')).toBe(true);
    expect(catalog.has('broken')).toBe(false);
    expect([catalog.folder('sd-1.5'), catalog.folder('exported'), catalog.folder('broken')]).toEqual([
      `${dir}/sd15`,
      `${dir}/exported`,
      undefined,
    ]);
    expect(logs).toMatchObject([
      { level: 'warn', msg: 'skipping model folder', folder: 'broken' },
      { level: 'warn', msg: 'skipping model folder', folder: 'empty' },
    ]);
  });

  it('gives an empty catalog, with a warning, when the folder is missing', async () => {
    const logs: Record<string, unknown>[] = [];
    const logger = createJsonLogger({ level: 'warn', write: (l) => logs.push(JSON.parse(l)) });
    const catalog = await readModelCatalog(nodeFiles, '/nonexistent/models', logger);
    expect(catalog.list()).toEqual([]);
    expect(logs).toMatchObject([{ msg: 'models directory not found', models_dir: '/nonexistent/models' }]);
  });
});
