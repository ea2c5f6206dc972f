import type { ModelCatalog, ModelInfo } from '../core/models.ts';
/**
 * A catalog over a fixed list (the boot reads the list from disk at start); `folders` maps keys to folders.
 * @example const models = staticCatalog([{ key: 'tiny-sd', … }], { 'tiny-sd': './models/tiny-sd' });
 */
export function staticCatalog(models: ModelInfo[], folders: Record<string, string> = {}): ModelCatalog {
  const keys = new Set(models.map((m) => m.key));
  return {
    list: () => [...models],
    has: (key) => keys.has(key),
    folder: (key) => (keys.has(key) && Object.hasOwn(folders, key) ? folders[key] : undefined),
  };
}
