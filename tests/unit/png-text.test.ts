import { crc32 as zlibCrc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { asciiJson, crc32, insertPngText, isPng, readPngText } from '../../src/images/png-text.ts';
import { sniffImageFormat } from '../../src/images/sniff.ts';
import { sharpCodec } from '../../src/node/sharp-images.ts';

const rgb = (w: number, h: number) => Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
const basePng = async () =>
  new Uint8Array(
    await sharp(rgb(8, 8), { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toBuffer(),
  );

describe('crc32', () => {
  it('is the CRC-32 of PNG and zlib', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const bytes = rgb(50, 50);
    expect(crc32(bytes)).toBe(zlibCrc32(bytes));
    expect(crc32(new Uint8Array())).toBe(0);
  });
});

describe('PNG text chunks', () => {
  it('round-trips keywords and values, before IEND, in a PNG that still decodes', async () => {
    const png = await basePng();
    const metadata = { prompt: 'a café at dusk ☕', seed: 42, steps: 4 };
    const tagged = insertPngText(png, { invokeai_metadata: asciiJson(metadata), Software: 'Easel' });
    expect(isPng(tagged)).toBe(true);
    const text = readPngText(tagged);
    expect(text).toEqual({ invokeai_metadata: asciiJson(metadata), Software: 'Easel' });
    expect(JSON.parse(text.invokeai_metadata ?? '')).toEqual(metadata);
    expect(new TextDecoder().decode(tagged.subarray(-8, -4))).toBe('IEND');
    const meta = await sharp(tagged).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([8, 8, 'png']);
  });

  it('writes through the sharp codec and reads back with codec.readText', async () => {
    const codec = sharpCodec();
    const png = await codec.encodePng(rgb(16, 8), 16, 8, { invokeai_metadata: '{"seed":1}' });
    expect(codec.readText(png)).toEqual({ invokeai_metadata: '{"seed":1}' });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([16, 8, 3]);
    expect(new Uint8Array(data)).toEqual(rgb(16, 8));
  });

  it('compresses at the configured zlib level (1 by default), for generated and uploaded images', async () => {
    // FLEVEL, the top two bits of the first IDAT's zlib header: 0 fastest (levels 0–1), 2 default (6), 3 best (7–9).
    const zlibLevel = (png: Uint8Array) => (png[Buffer.from(png).indexOf('IDAT') + 5] ?? 0) >> 6;
    const pixels = rgb(32, 32);
    const upload = await basePng();
    expect(zlibLevel(await sharpCodec().encodePng(pixels, 32, 32, {}))).toBe(0);
    expect(zlibLevel((await sharpCodec().decodeUpload(upload)).png)).toBe(0);
    expect(zlibLevel(await sharpCodec({ pngCompression: 6 }).encodePng(pixels, 32, 32, {}))).toBe(2);
    expect(zlibLevel((await sharpCodec({ pngCompression: 9 }).decodeUpload(upload)).png)).toBe(3);
  });

  it('skips chunks whose CRC is wrong', async () => {
    const tagged = insertPngText(await basePng(), { k: 'v' });
    const broken = tagged.slice();
    const at = broken.length - 12 - 4 - 1; // the last data byte of the tEXt chunk before IEND
    broken[at] = (broken[at] ?? 0) ^ 0xff;
    expect(readPngText(broken)).toEqual({});
  });

  it('escapes non-ASCII JSON so it survives Latin-1', () => {
    expect(asciiJson({ p: 'café ☕' })).toBe('{"p":"caf\\u00e9 \\u2615"}');
  });

  it('refuses bytes that are not a PNG and keywords PNG does not allow', async () => {
    expect(() => insertPngText(new Uint8Array([1, 2, 3]), { k: 'v' })).toThrow('not a PNG');
    expect(() => insertPngText(new Uint8Array(8).fill(0), { k: 'v' })).toThrow('not a PNG');
    await expect(async () => insertPngText(await basePng(), { '': 'v' })).rejects.toThrow('keyword');
    await expect(async () => insertPngText(await basePng(), { ['k'.repeat(80)]: 'v' })).rejects.toThrow(
      'keyword',
    );
    expect(readPngText(new Uint8Array([1, 2, 3]))).toEqual({});
  });
});

describe('sniffImageFormat', () => {
  it('names PNG, JPEG and WebP by their first bytes and nothing else', async () => {
    const img = sharp(rgb(8, 8), { raw: { width: 8, height: 8, channels: 3 } });
    expect(sniffImageFormat(new Uint8Array(await img.clone().png().toBuffer()))).toBe('png');
    expect(sniffImageFormat(new Uint8Array(await img.clone().jpeg().toBuffer()))).toBe('jpeg');
    expect(sniffImageFormat(new Uint8Array(await img.clone().webp().toBuffer()))).toBe('webp');
    expect(sniffImageFormat(new Uint8Array(await img.clone().gif().toBuffer()))).toBeNull();
    expect(sniffImageFormat(new TextEncoder().encode('RIFF....WAVE'))).toBeNull();
    expect(sniffImageFormat(new Uint8Array())).toBeNull();
  });
});
