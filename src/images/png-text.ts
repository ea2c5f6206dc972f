// PNG tEXt chunks in portable code (no node:zlib): sharp cannot write them, so they are spliced in before
// IEND. Chunk layout (PNG spec 5.3): 4-byte big-endian length, 4-byte type, data, CRC-32 of type + data.

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * The CRC-32 (ISO-HDLC, as PNG and zlib use) of some bytes.
 * @example crc32(new TextEncoder().encode('123456789')) === 0xcbf43926;
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Whether the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

interface Chunk {
  type: string;
  /** Offset of the length field. */
  start: number;
  dataStart: number;
  dataEnd: number;
}

function* chunks(png: Uint8Array): Generator<Chunk> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8;
  while (at + 12 <= png.length) {
    const length = view.getUint32(at);
    const type = fromLatin1(png.subarray(at + 4, at + 8));
    const dataEnd = at + 8 + length;
    if (dataEnd + 4 > png.length) {
      return;
    }
    yield { type, start: at, dataStart: at + 8, dataEnd };
    at = dataEnd + 4;
  }
}

/** tEXt keywords are 1–79 Latin-1 printable characters. */
const KEYWORD = /^[\x20-\x7e\xa1-\xff]{1,79}$/;

/** Latin-1 bytes of a string; a character outside Latin-1 is written as `?` (tEXt is Latin-1 only). */
function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = c < 256 ? c : 0x3f;
  }
  return out;
}

/** A string from Latin-1 bytes (TextDecoder's `latin1` is windows-1252, which differs at 0x80–0x9f). */
function fromLatin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

/**
 * Adds one tEXt chunk per entry before the IEND chunk. Values are Latin-1, so JSON should be ASCII-escaped
 * first (`asciiJson`). Throws on bytes that are not a PNG or a keyword PNG does not allow.
 * @example const tagged = insertPngText(png, { invokeai_metadata: asciiJson(metadata) });
 */
export function insertPngText(png: Uint8Array, text: Record<string, string>): Uint8Array {
  if (!isPng(png)) {
    throw new Error('not a PNG');
  }
  const iend = [...chunks(png)].find((c) => c.type === 'IEND');
  if (!iend) {
    throw new Error('PNG without IEND');
  }
  const encoded = Object.entries(text).map(([keyword, value]) => {
    if (!KEYWORD.test(keyword)) {
      throw new Error(`invalid PNG text keyword "${keyword}"`);
    }
    const data = latin1(`${keyword}\0${value}`);
    const chunk = new Uint8Array(12 + data.length);
    const view = new DataView(chunk.buffer);
    view.setUint32(0, data.length);
    chunk.set(latin1('tEXt'), 4);
    chunk.set(data, 8);
    view.setUint32(8 + data.length, crc32(chunk, 4, 8 + data.length));
    return chunk;
  });
  const added = encoded.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(png.length + added);
  out.set(png.subarray(0, iend.start), 0);
  let at = iend.start;
  for (const chunk of encoded) {
    out.set(chunk, at);
    at += chunk.length;
  }
  out.set(png.subarray(iend.start), at);
  return out;
}

/**
 * The tEXt chunks of a PNG (keyword → value, Latin-1); chunks with a bad CRC are skipped.
 * @example JSON.parse(readPngText(png).invokeai_metadata ?? 'null');
 */
export function readPngText(png: Uint8Array): Record<string, string> {
  const text: Record<string, string> = {};
  if (!isPng(png)) {
    return text;
  }
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (const c of chunks(png)) {
    if (c.type !== 'tEXt' || view.getUint32(c.dataEnd) !== crc32(png, c.start + 4, c.dataEnd)) {
      continue;
    }
    const data = png.subarray(c.dataStart, c.dataEnd);
    const nul = data.indexOf(0);
    if (nul > 0) {
      text[fromLatin1(data.subarray(0, nul))] = fromLatin1(data.subarray(nul + 1));
    }
  }
  return text;
}

/**
 * JSON with every character beyond ASCII escaped (`\uXXXX`), so it survives a Latin-1 tEXt chunk and
 * `JSON.parse` gives back the same value.
 * @example asciiJson({ prompt: 'café' }) === '{"prompt":"caf\\u00e9"}';
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
