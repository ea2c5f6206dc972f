/**
 * The seam between the portable pipeline (`pipeline.ts`, schedulers, tokenizer) and whatever runs the
 * networks: onnxruntime-node sessions in the inference child (`src/node/onnx-model.ts`), or a fake in tests.
 * Tensors are row-major float32 with their dimensions; nothing here imports a native package.
 */

export interface Tensor {
  data: Float32Array;
  dims: readonly number[];
}

/** What `model.json` says about a model folder (API.md section 7), plus what the pipeline needs. */
export interface ModelManifest {
  key: string;
  name: string;
  base: string;
  description: string;
  /** Latent channels of the UNet and the VAE (4 for SD 1.x). */
  latent_channels: number;
  /** Pixels per latent cell (8 for SD 1.x). */
  vae_scale_factor: number;
  /** The VAE's latent scaling (0.18215 for SD 1.x). */
  scaling_factor: number;
  /** diffusers' `timestep_spacing` for Euler/DDIM (`leading` for SD 1.5, `trailing` for SD-Turbo); default `leading`. */
  timestep_spacing?: 'leading' | 'trailing' | 'linspace';
}

/**
 * A loaded Stable-Diffusion-shaped model: tokenizer, text encoder, UNet, VAE decoder and, when the folder
 * has one, VAE encoder.
 * @example const ids = model.tokenize('a red fox'); const emb = await model.encodeText([ids]);
 */
export interface DiffusionModel {
  readonly manifest: ModelManifest;
  /** CLIP token ids, padded or truncated to the encoder's length (77). */
  tokenize(text: string): Int32Array;
  /** `[b, 77]` ids → `last_hidden_state` `[b, 77, d]`. */
  encodeText(ids: readonly Int32Array[]): Promise<Tensor>;
  /** `sample` `[b, c, h, w]`, one timestep for the whole batch, `encoder_hidden_states` `[b, 77, d]` → ε `[b, c, h, w]`. */
  predictNoise(sample: Tensor, timestep: number, context: Tensor): Promise<Tensor>;
  /** Scaled latents `[b, c, h, w]` (already divided by `scaling_factor`) → `[b, 3, 8h, 8w]` in about [-1, 1]. */
  decode(latents: Tensor): Promise<Tensor>;
  /**
   * Images `[b, 3, H, W]` in [-1, 1] → unscaled latents `[b, c, H/f, W/f]` (the mean of the latent
   * distribution: deterministic). Absent when the model has no VAE encoder.
   */
  encode?(image: Tensor): Promise<Tensor>;
  release(): Promise<void>;
}
