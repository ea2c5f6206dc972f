import type { UploadFormat } from '../core/images.ts';
import { isPng } from './png-text.ts';

const startsWith = (bytes: Uint8Array, prefix: number[], at = 0) =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/**
 * The upload format named by a file's first bytes (its magic number), or `null` for any other file.
 * @example sniffImageFormat(bytes) === 'jpeg';
 */
export function sniffImageFormat(bytes: Uint8Array): UploadFormat | null {
  if (isPng(bytes)) {
    return 'png';
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
    return 'jpeg';
  }
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) {
    return 'webp';
  }
  return null;
}
