/** A model Easel can run (API.md section 7). */
export interface ModelInfo {
  key: string;
  name: string;
  base: string;
  type: 'main';
  format: 'onnx';
  description: string;
}

/** The models found in `MODELS_DIR`. */
export interface ModelCatalog {
  list(): ModelInfo[];
  has(key: string): boolean;
  /** The folder holding the model's files, for the runtime; undefined for an unknown key. */
  folder(key: string): string | undefined;
}

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
