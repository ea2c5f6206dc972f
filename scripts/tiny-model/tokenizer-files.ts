/**
 * A small CLIP-format tokenizer: the 256 byte symbols, the same with `</w>`, merges that spell a list of
 * common prompt words left to right, then `<|startoftext|>` and `<|endoftext|>` (ids at the end, as in CLIP).
 */
import { byteToUnicode } from '../../src/runtime/tokenizer.ts';

const WORDS = `a an the of and in on with at by for to from is it this that
photo portrait painting drawing sketch render illustration art style detailed high quality
red blue green yellow orange purple pink black white gray gold silver
cat dog fox bird horse fish dragon robot woman man girl boy child
forest mountain river lake sea ocean beach city street house castle tower garden field
night day sunset sunrise sky cloud clouds rain snow fire water light dark
old new big small tall little beautiful cute happy sad
oil watercolor digital cinematic lighting sharp focus bokeh landscape
flower flowers tree trees stone wood glass metal space star stars moon sun
ing ed er est ly s es`.split(/\s+/);

/** The merges (`"a b"` pairs) for the word list, first use first, without repeats. */
export function tinyMerges(): string[] {
  const seen = new Set<string>();
  const merges: string[] = [];
  for (const word of WORDS) {
    const chars = Array.from(word);
    let left = chars[0] as string;
    for (let i = 1; i < chars.length; i++) {
      const right = i === chars.length - 1 ? `${chars[i]}</w>` : (chars[i] as string);
      const pair = `${left} ${right}`;
      if (!seen.has(pair)) {
        seen.add(pair);
        merges.push(pair);
      }
      left += right;
    }
  }
  return merges;
}

/** The four tokenizer files, by name, as text. */
export function tinyTokenizerFiles(): Record<string, string> {
  // CLIP lists the byte symbols printable bytes first, i.e. in code point order of their characters.
  const symbols = byteToUnicode().sort((a, b) => (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0));
  const merges = tinyMerges();
  const vocab: Record<string, number> = {};
  const tokens = [
    ...symbols,
    ...symbols.map((s) => `${s}</w>`),
    ...merges.map((m) => m.replace(' ', '')),
    '<|startoftext|>',
    '<|endoftext|>',
  ];
  for (const token of tokens) {
    vocab[token] ??= Object.keys(vocab).length;
  }
  const bos = {
    content: '<|startoftext|>',
    lstrip: false,
    normalized: true,
    rstrip: false,
    single_word: false,
  };
  const eos = { ...bos, content: '<|endoftext|>' };
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return {
    'vocab.json': json(vocab),
    'merges.txt': `#version: 0.2\n${merges.join('\n')}\n`,
    'special_tokens_map.json': json({
      bos_token: bos,
      eos_token: eos,
      pad_token: '<|endoftext|>',
      unk_token: eos,
    }),
    'tokenizer_config.json': json({
      tokenizer_class: 'CLIPTokenizer',
      model_max_length: 77,
      do_lower_case: true,
      bos_token: '<|startoftext|>',
      eos_token: '<|endoftext|>',
      pad_token: '<|endoftext|>',
      unk_token: '<|endoftext|>',
      add_prefix_space: false,
      errors: 'replace',
    }),
  };
}

/** How many ids the vocabulary has (the text encoder's embedding rows). */
export function tinyVocabSize(): number {
  return Object.keys(JSON.parse(tinyTokenizerFiles()['vocab.json'] as string)).length;
}
