/** The image formats an upload may be in (found from the file's first bytes, not its declared type). */
export type UploadFormat = 'png' | 'jpeg' | 'webp';

/** Encodes and decodes images. The Node implementation is `src/node/sharp-images.ts`. */
export interface ImageCodec {
  /** A PNG of 8-bit RGB pixels (HWC, row-major), carrying `text` as tEXt chunks (keyword → value). */
  encodePng(
    rgb: Uint8Array,
    width: number,
    height: number,
    text: Record<string, string>,
  ): Promise<Uint8Array>;
  /** A WebP thumbnail of a PNG that fits in `maxSize` × `maxSize` (never enlarged). */
  thumbnail(png: Uint8Array, maxSize: number): Promise<Uint8Array>;
  /** The same from 8-bit RGB pixels (HWC), without a PNG to decode first. */
  thumbnailOfPixels(rgb: Uint8Array, width: number, height: number, maxSize: number): Promise<Uint8Array>;
  /** A small JPEG `data:` URL of 8-bit RGB pixels, for progress previews. */
  previewDataUrl(rgb: Uint8Array, width: number, height: number): Promise<string>;
  /**
   * Decodes an uploaded PNG, JPEG or WebP and re-encodes it as PNG without its metadata (EXIF, ICC, XMP),
   * turned upright by its EXIF orientation first. Throws `ImageDecodeError` when it cannot be decoded.
   */
  decodeUpload(bytes: Uint8Array): Promise<{ png: Uint8Array; width: number; height: number }>;
  /** The tEXt chunks of a PNG (keyword → value). */
  readText(png: Uint8Array): Record<string, string>;
}

/** Stores bytes by key (`images/<name>`, `thumbnails/<name>`). A `put` is whole or absent, never partial. */
export interface BlobStore {
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The bytes, or `null` when the key holds nothing. */
  get(key: string): Promise<Uint8Array | null>;
  /** Removes the key; removing an absent key is not an error. */
  delete(key: string): Promise<void>;
}

/** The bytes are not an image the codec can decode (corrupt, truncated, or too many pixels). */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

/** Which file of an image a signed URL reaches. */
export type ImageVariant = 'full' | 'thumbnail';

/** Signs and checks image URLs (`?exp=<unix seconds>&sig=<base64url HMAC-SHA256>`). */
export interface UrlSigner {
  /** The signature of one variant of one image until `exp`. */
  sign(imageName: string, variant: ImageVariant, exp: number): Promise<string>;
  /** Whether `sig` is the signature of this image, variant and `exp` (expiry is the caller's check). */
  verify(imageName: string, variant: ImageVariant, exp: number, sig: string): Promise<boolean>;
}
