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
}

/**
 * A catalog over a fixed list (the runtime reads the list from disk at start).
 * @example const models = staticCatalog([{ key: 'tiny-sd', … }]);
 */
export function staticCatalog(models: ModelInfo[]): ModelCatalog {
  const keys = new Set(models.map((m) => m.key));
  return { list: () => [...models], has: (key) => keys.has(key) };
}
