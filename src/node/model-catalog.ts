import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import { type ModelCatalog, type ModelInfo, staticCatalog } from '../models/catalog.ts';

interface ModelJson {
  key?: string;
  name?: string;
  base?: string;
  description?: string;
}

/**
 * Reads `MODELS_DIR/<folder>/model.json` for every folder; the key defaults to the folder name. A missing
 * directory gives an empty catalog; an unreadable model.json is logged and skipped.
 */
export async function readModelCatalog(modelsDir: string, logger: Logger): Promise<ModelCatalog> {
  let folders: string[];
  try {
    folders = (await readdir(modelsDir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    logger.warn('models directory not found', { models_dir: modelsDir });
    return staticCatalog([]);
  }
  const models: ModelInfo[] = [];
  for (const folder of folders.sort()) {
    try {
      const meta = JSON.parse(await readFile(join(modelsDir, folder, 'model.json'), 'utf8')) as ModelJson;
      models.push({
        key: meta.key ?? folder,
        name: meta.name ?? folder,
        base: meta.base ?? 'sd-1',
        type: 'main',
        format: 'onnx',
        description: meta.description ?? '',
      });
    } catch (err) {
      logger.warn('skipping model folder', { folder, error: (err as Error).message });
    }
  }
  return staticCatalog(models);
}
