import { ImageCodecUnavailableError } from '../core/errors.ts';
import type { ImageCodec } from '../core/images.ts';
import { readPngText } from './png-text.ts';

const unavailable = async (): Promise<never> => {
  throw new ImageCodecUnavailableError('Image encoding is not available on this runtime.');
};

/**
 * The codec of runtimes without a native image library (the Deno entry): every encode and decode throws
 * `ImageCodecUnavailableError` (503 `unavailable` at the HTTP edge); only `readText` works.
 * @example const deps = { images: unavailableCodec, ... };
 */
export const unavailableCodec: ImageCodec = {
  encodePng: unavailable,
  thumbnail: unavailable,
  thumbnailOfPixels: unavailable,
  previewDataUrl: unavailable,
  decodeUpload: unavailable,
  readText: readPngText,
};
