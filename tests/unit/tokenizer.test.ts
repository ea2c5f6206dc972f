import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { byteToUnicode, createClipTokenizer } from '../../src/runtime/tokenizer.ts';

// The committed tiny vocabulary (512 byte symbols, 384 merges, specials 895/896). The expected ids were
// cross-checked with a Python port of OpenAI CLIP's simple_tokenizer.py (same regex, bytes_to_unicode, bpe).
const dir = 'models/tiny-sd/tokenizer/';
const read = (name: string) => readFileSync(`${dir}${name}`, 'utf8');
const tok = createClipTokenizer({
  vocab: read('vocab.json'),
  merges: read('merges.txt'),
  specialTokensMap: read('special_tokens_map.json'),
});
const START = 895;
const END = 896;

/** The ids between the start token and the first end token. */
const body = (text: string) => {
  const ids = Array.from(tok.encode(text));
  return ids.slice(1, ids.indexOf(END, 1));
};

describe('CLIP tokenizer on the tiny vocabulary', () => {
  it('reads the special ids from vocab.json and pads with the pad token', () => {
    expect([tok.startId, tok.endId, tok.padId]).toEqual([START, END, END]);
    const ids = tok.encode('');
    expect(ids).toHaveLength(77);
    expect(Array.from(ids.slice(0, 3))).toEqual([START, END, END]);
    expect(ids.every((v, i) => i === 0 || v === END)).toBe(true);
  });

  it('merges common words and falls back to byte symbols', () => {
    expect(tok.tokens('a photo of a red fox')).toEqual([
      'a</w>',
      'pho',
      'to</w>',
      'of</w>',
      'a</w>',
      'red</w>',
      'fox</w>',
    ]);
    expect(body('a photo of a red fox')).toEqual([320, 538, 527, 515, 320, 604, 651]);
    expect(body('sunset over the sea')).toEqual([745, 702, 339, 78, 85, 890, 514, 703]);
  });

  it('lower-cases, collapses whitespace, splits contractions, digits and punctuation', () => {
    expect(body("  The  QUICK brown fox's tail, 42!!")).toEqual([
      514, 598, 72, 66, 330, 65, 665, 86, 333, 651, 6, 338, 787, 72, 331, 267, 275, 273, 0, 256,
    ]);
    expect(tok.tokens('42!!')).toEqual(['4</w>', '2</w>', '!', '!</w>']);
  });

  it('encodes non-ASCII text as UTF-8 byte symbols', () => {
    expect(tok.tokens('café')).toEqual(['ca', 'f', 'Ã', '©</w>']);
    expect(body('café déjà vu')).toEqual([647, 69, 127, 358, 67, 127, 102, 73, 127, 510, 85, 340]);
    expect(body('ñ 日本')).toEqual([127, 365, 162, 245, 98, 162, 250, 361]);
  });

  it('keeps special tokens whole', () => {
    expect(tok.tokens('hello<|endoftext|>world')).toEqual([
      'h',
      'e',
      'l',
      'l',
      'o</w>',
      '<|endoftext|>',
      'w',
      'or',
      'l',
      'd</w>',
    ]);
  });

  it('truncates to 75 tokens between start and end', () => {
    const ids = tok.encode('red '.repeat(100));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(START);
    expect(Array.from(ids.slice(1, 76)).every((v) => v === 604)).toBe(true);
    expect(ids[76]).toBe(END);
    const exact = tok.encode('red '.repeat(75));
    expect(Array.from(exact)).toEqual(Array.from(ids));
    expect(tok.encode('red '.repeat(74))[75]).toBe(END);
  });

  it('maps the 256 bytes to distinct printable characters as GPT-2 does', () => {
    const map = byteToUnicode();
    expect(new Set(map).size).toBe(256);
    expect([map[33], map[32], map[0], map[255], map[160], map[173]]).toEqual(['!', 'Ġ', 'Ā', 'ÿ', 'ł', 'Ń']);
  });

  it('takes the pad token from special_tokens_map.json', () => {
    const padded = createClipTokenizer({
      vocab: read('vocab.json'),
      merges: read('merges.txt'),
      specialTokensMap: JSON.stringify({
        bos_token: '<|startoftext|>',
        eos_token: '<|endoftext|>',
        pad_token: '!',
      }),
    });
    expect(Array.from(padded.encode('a').slice(0, 5))).toEqual([START, 320, END, 0, 0]);
  });
});
