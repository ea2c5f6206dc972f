import sharp, { type Sharp } from 'sharp';
import { type ImageCodec, ImageDecodeError } from '../core/images.ts';
import { insertPngText, readPngText } from '../images/png-text.ts';

/** Uploads with more pixels than this are refused as undecodable (about 7000 × 7000). */
export const MAX_UPLOAD_PIXELS = 50_000_000;

const bytesOf = (buffer: Buffer) => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
const raw = (width: number, height: number) => ({ raw: { width, height, channels: 3 as const } });

/**
 * libwebp's effort for thumbnails (0–6, sharp's default 4): 2 takes about two thirds of the CPU time at the
 * same quality, for a slightly bigger file (bench:runtime; docs/runtime.md).
 */
const THUMBNAIL_EFFORT = 2;

/** A WebP that fits in `maxSize` × `maxSize`, never enlarged. */
async function webpThumbnail(image: Sharp, maxSize: number): Promise<Uint8Array> {
  const webp = await image
    .resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80, effort: THUMBNAIL_EFFORT })
    .toBuffer();
  return bytesOf(webp);
}

/**
 * 8-bit RGB pixels (HWC) of an image file (PNG, JPEG, WebP), alpha dropped and grey turned to RGB, and
 * stretched to `size` when given (lanczos3, as diffusers' image processor resizes). Throws
 * `ImageDecodeError` when the file cannot be decoded.
 * @example const { rgb } = await decodeRgb(png, { width: 512, height: 512 });
 */
export async function decodeRgb(
  bytes: Uint8Array,
  size?: { width: number; height: number },
): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  try {
    let image = sharp(bytes, { limitInputPixels: MAX_UPLOAD_PIXELS, failOn: 'error' })
      .removeAlpha()
      .toColourspace('srgb');
    if (size) {
      image = image.resize(size.width, size.height, { fit: 'fill' });
    }
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new Error(`decoded to ${info.channels} channels, not 3`);
    }
    return { rgb: bytesOf(data), width: info.width, height: info.height };
  } catch (err) {
    throw new ImageDecodeError(`The image could not be decoded: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The image codec on sharp (libvips, off the event loop): PNG at zlib level `pngCompression` (default 1, as
 * InvokeAI's `pil_compress_level`: at 512², about 60% of level 6's CPU time for a file a few percent to
 * about 3× bigger, the most for smooth images), WebP q80 thumbnails, JPEG q80 previews.
 * @example const images = sharpCodec({ pngCompression: 1 }); const png = await images.encodePng(rgb, 512, 512, {});
 */
export function sharpCodec({ pngCompression = 1 }: { pngCompression?: number } = {}): ImageCodec {
  return {
    async encodePng(rgb, width, height, text) {
      const png = await sharp(rgb, raw(width, height)).png({ compressionLevel: pngCompression }).toBuffer();
      return insertPngText(bytesOf(png), text);
    },
    thumbnail: (png, maxSize) => webpThumbnail(sharp(png), maxSize),
    thumbnailOfPixels: (rgb, width, height, maxSize) =>
      webpThumbnail(sharp(rgb, raw(width, height)), maxSize),
    async previewDataUrl(rgb, width, height) {
      const jpeg = await sharp(rgb, raw(width, height)).jpeg({ quality: 80 }).toBuffer();
      return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
    },
    async decodeUpload(bytes) {
      try {
        // rotate() with no angle applies the EXIF orientation; the output keeps no metadata.
        const { data, info } = await sharp(bytes, { limitInputPixels: MAX_UPLOAD_PIXELS, failOn: 'error' })
          .rotate()
          .png({ compressionLevel: pngCompression })
          .toBuffer({ resolveWithObject: true });
        return { png: bytesOf(data), width: info.width, height: info.height };
      } catch (err) {
        throw new ImageDecodeError(`The image could not be decoded: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
    readText: readPngText,
  };
}
