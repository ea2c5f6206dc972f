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
