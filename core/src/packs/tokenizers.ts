/**
 * Tokenizers a pack can name: CLIP's byte-level BPE (vocab.json + merges.txt, as shipped with
 * every SD text encoder) and a word-level tokenizer for small self-trained packs.
 * Both produce exactly `maxLength` ids: [start] tokens... [end] [pad]...
 */
import { SdkError } from '../util/errors';

export interface Tokenizer {
  readonly maxLength: number;
  encode(text: string): Int32Array;
}

/** CLIP's reversible byte -> printable character table. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const table: string[] = new Array(256);
  for (const b of bs) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  }
  return table;
}

const CLIP_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

export class ClipBpeTokenizer implements Tokenizer {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, string[]>();
  private readonly byteChars = bytesToUnicode();
  private readonly bos: number;
  private readonly eos: number;
  private readonly pad: number;

  constructor(
    private readonly vocab: Record<string, number>,
    merges: string,
    readonly maxLength: number,
    padToken = '<|endoftext|>',
  ) {
    const lines = merges.split('\n').filter((l) => l.length > 0 && !l.startsWith('#version'));
    lines.forEach((line, i) => this.ranks.set(line, i));
    const id = (tok: string): number => {
      const v = vocab[tok];
      if (v === undefined) throw new SdkError('pack_invalid', `tokenizer vocab.json has no "${tok}" token`);
      return v;
    };
    this.bos = id('<|startoftext|>');
    this.eos = id('<|endoftext|>');
    this.pad = id(padToken);
  }

  private bpe(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    const chars = Array.from(token);
    let word = [...chars.slice(0, -1), chars[chars.length - 1] + '</w>'];
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best]!;
      const b = word[best + 1]!;
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(word[i]!);
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }

  encode(text: string): Int32Array {
    const clean = text.replace(/\s+/g, ' ').trim().toLowerCase();
    const ids: number[] = [];
    const utf8 = new TextEncoder();
    for (const m of clean.matchAll(CLIP_PATTERN)) {
      const mapped = Array.from(utf8.encode(m[0]), (b) => this.byteChars[b]!).join('');
      for (const piece of this.bpe(mapped)) {
        const id = this.vocab[piece];
        if (id !== undefined) ids.push(id);
      }
    }
    return frame(ids, this.maxLength, this.bos, this.eos, this.pad);
  }
}

/** Lowercase, split on anything that is not [a-z0-9], look words up; unknown words -> <unk>. */
export class WordTokenizer implements Tokenizer {
  private readonly unk: number;
  private readonly bos: number;
  private readonly eos: number;
  private readonly pad: number;

  constructor(
    private readonly vocab: Record<string, number>,
    readonly maxLength: number,
  ) {
    const id = (tok: string): number => {
      const v = vocab[tok];
      if (v === undefined) throw new SdkError('pack_invalid', `word tokenizer vocab.json has no "${tok}" token (needs <pad>, <bos>, <eos>, <unk>)`);
      return v;
    };
    this.pad = id('<pad>');
    this.bos = id('<bos>');
    this.eos = id('<eos>');
    this.unk = id('<unk>');
  }

  encode(text: string): Int32Array {
    const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
    return frame(
      words.map((w) => this.vocab[w] ?? this.unk),
      this.maxLength,
      this.bos,
      this.eos,
      this.pad,
    );
  }
}

function frame(ids: number[], maxLength: number, bos: number, eos: number, pad: number): Int32Array {
  const out = new Int32Array(maxLength).fill(pad);
  const body = ids.slice(0, maxLength - 2);
  out[0] = bos;
  out.set(body, 1);
  out[body.length + 1] = eos;
  return out;
}
