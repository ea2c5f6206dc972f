/**
 * OpenAI CLIP's byte-level BPE tokenizer (as `CLIPTokenizer` in transformers), built from the text of a
 * model folder's `tokenizer/vocab.json`, `merges.txt` and `special_tokens_map.json`. Portable: no file access.
 */

/** The three tokenizer files, as text. */
export interface TokenizerFiles {
  vocab: string;
  merges: string;
  specialTokensMap: string;
}

/** Turns a prompt into a fixed-length id row: `[start] + tokens + [end]`, padded or truncated. */
export interface ClipTokenizer {
  readonly startId: number;
  readonly endId: number;
  readonly padId: number;
  readonly length: number;
  /** The BPE tokens of a text, without start, end or padding. */
  tokens(text: string): string[];
  encode(text: string): Int32Array;
}

const PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/**
 * GPT-2's reversible map from the 256 byte values to printable unicode characters.
 * @example byteToUnicode()[32]; // 'Ġ'
 */
export function byteToUnicode(): string[] {
  const printable: number[] = [];
  const ranges: [number, number][] = [
    [0x21, 0x7e],
    [0xa1, 0xac],
    [0xae, 0xff],
  ];
  for (const [lo, hi] of ranges) {
    for (let b = lo; b <= hi; b++) {
      printable.push(b);
    }
  }
  const map: string[] = new Array(256);
  for (const b of printable) {
    map[b] = String.fromCodePoint(b);
  }
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (map[b] === undefined) {
      map[b] = String.fromCodePoint(256 + n);
      n++;
    }
  }
  return map;
}

type TokenSpec = string | { content: string };
const specContent = (spec: TokenSpec | undefined): string | undefined =>
  typeof spec === 'string' ? spec : spec?.content;

/**
 * A CLIP tokenizer over the given files; ids come from `vocab.json`, the pad token from
 * `special_tokens_map.json` (CLIP's start/end tokens are `<|startoftext|>` and `<|endoftext|>`).
 * @example const tok = createClipTokenizer(files); tok.encode('a red fox'); // Int32Array(77)
 */
export function createClipTokenizer(files: TokenizerFiles, length = 77): ClipTokenizer {
  const vocab = JSON.parse(files.vocab) as Record<string, number>;
  const special = JSON.parse(files.specialTokensMap) as Record<string, TokenSpec>;
  const idOf = (token: string): number => {
    const id = vocab[token];
    if (id === undefined) {
      throw new Error(`token ${JSON.stringify(token)} is not in vocab.json`);
    }
    return id;
  };
  const startToken = specContent(special.bos_token) ?? '<|startoftext|>';
  const endToken = specContent(special.eos_token) ?? '<|endoftext|>';
  const startId = idOf(startToken);
  const endId = idOf(endToken);
  const padId = idOf(specContent(special.pad_token) ?? endToken);
  const unkId = idOf(specContent(special.unk_token) ?? endToken);
  const ranks = new Map<string, number>();
  const lines = files.merges.split(/\r?\n/);
  let rank = 0;
  for (const line of lines) {
    if (line.startsWith('#version') || line.trim() === '') {
      continue;
    }
    ranks.set(line, rank++);
  }
  const bytesMap = byteToUnicode();
  const encoder = new TextEncoder();
  const cache = new Map<string, string[]>([
    [startToken, [startToken]],
    [endToken, [endToken]],
  ]);

  const bpe = (word: string): string[] => {
    const cached = cache.get(word);
    if (cached) {
      return cached;
    }
    const chars = Array.from(word);
    let parts = chars.map((c, i) => (i === chars.length - 1 ? `${c}</w>` : c));
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < parts.length - 1; i++) {
        const r = ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) {
        break;
      }
      const first = parts[best] as string;
      const second = parts[best + 1] as string;
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && parts[i] === first && parts[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(parts[i] as string);
        }
      }
      parts = merged;
    }
    cache.set(word, parts);
    return parts;
  };

  const tokens = (text: string): string[] => {
    const clean = text.replace(/\s+/gu, ' ').trim().toLowerCase();
    const out: string[] = [];
    for (const match of clean.matchAll(PATTERN)) {
      const word = Array.from(encoder.encode(match[0]), (b) => bytesMap[b] as string).join('');
      out.push(...bpe(word));
    }
    return out;
  };

  return {
    startId,
    endId,
    padId,
    length,
    tokens,
    encode(text) {
      const ids = new Int32Array(length).fill(padId);
      const body = tokens(text)
        .slice(0, length - 2)
        .map((t) => vocab[t] ?? unkId);
      ids[0] = startId;
      ids.set(body, 1);
      ids[body.length + 1] = endId;
      return ids;
    },
  };
}
