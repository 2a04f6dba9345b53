/** Parsing and validating `byteedit edit` options into an EditRequest-shaped plan of work. */
import { parseArgs } from 'node:util';
import { SdkError } from '../util/errors';
import { EDIT_MODES, type EditMode, type Margins } from '../engine/types';
import { DEVICE_NAMES, type DeviceName } from '../runtime/types';
import { SCHEDULER_NAMES, type SchedulerName } from '../samplers/types';
import { LIMITS } from '../plan/plan';
import { parseRankWeights } from '../rewards/rank';
import type { RankWeights } from '../rewards/types';

export interface EditArgs {
  image: string;
  mask?: string;
  prompt?: string;
  negativePrompt?: string;
  mode: EditMode;
  expand?: Margins;
  pack?: string;
  steps?: number;
  guidance?: number;
  scheduler?: SchedulerName;
  strength?: number;
  candidates: number;
  seed?: number;
  device: DeviceName;
  out: string;
  json: boolean;
  colorMatch: boolean;
  maxPixels?: number;
  quiet: boolean;
  rank?: RankWeights;
  rewards: boolean;
  engine?: 'auto' | 'diffusion' | 'fill';
  prefill: boolean;
  search?: 'best-of-n' | 'guided';
  blend?: 'color-match' | 'poisson' | 'none';
}

export const EDIT_USAGE = `usage: byteedit edit --image IN --mask MASK [--prompt P] [--mode edit|erase|outpaint]
                     [--expand L,T,R,B] [--pack DIR] [--steps N] [--guidance G] [--scheduler S]
                     [--strength S] [--candidates K] [--seed S] [--device auto|cpu|webgpu|cuda]
                     [--negative-prompt P] [--no-color-match] [--max-pixels N]
                     [--rank aesthetic=A,alignment=B,coherence=C] [--no-rewards]
                     [--engine auto|diffusion|fill] [--prefill] [--search best-of-n|guided]
                     [--blend color-match|poisson|none]
                     --out OUT.png [--json]

  The mask is white (255) where to edit. Outpaint needs no mask: --expand gives the margins.
  K > 1 writes OUT-1.png ... OUT-K.png, best first by the weighted rewards (--rank).
  --engine fill erases and outpaints without a model (PatchMatch); auto uses it when the pack
  cannot do the mode. --prefill fills the hole first, then denoises from --strength (default 0.6).
  Without --pack the embedded default pack is used.`;

function bad(message: string): never {
  throw new SdkError('invalid_argument', message);
}

/** Accepts what Number() reads as a whole number ("150", "1e9"), so a cap can be written as 1e9. */
/** A value as typed, quoted only where it would not read back (empty, spaces). */
function shown(v: string): string {
  return /^\S+$/.test(v) ? v : JSON.stringify(v);
}

function int(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) bad(`--${name} must be a whole number from ${lo} to ${hi}, got ${shown(v)}`);
  return n === 0 ? 0 : n; // never -0
}

function num(name: string, v: string | undefined, lo: number, hi: number, openLo = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n > hi || (openLo ? n <= lo : n < lo)) bad(`--${name} must be a number ${openLo ? `above ${lo}` : `from ${lo}`} up to ${hi}, got ${shown(v)}`);
  return n;
}

/**
 * util.parseArgs reads "--steps -1" as a flag missing its value ("argument is ambiguous"): join a
 * value that looks like a negative number to its option, so the range check names the problem.
 */
function joinNegativeValues(argv: string[], stringOptions: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && stringOptions.has(a.slice(2)) && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

function oneOf<T extends string>(name: string, v: string | undefined, values: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) bad(`--${name} must be one of ${values.join(', ')}, got "${v}"`);
  return v as T;
}

export function parseExpand(v: string): Margins {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length !== 4 || parts.some((p) => !/^\d+$/.test(p))) bad(`--expand takes four non-negative integers LEFT,TOP,RIGHT,BOTTOM in pixels, got "${v}"`);
  const [left, top, right, bottom] = parts.map(Number) as [number, number, number, number];
  for (const m of [left, top, right, bottom]) if (m > LIMITS.expand[1]) bad(`--expand margins must be at most ${LIMITS.expand[1]} px, got ${m}`);
  return { left, top, right, bottom };
}

const EDIT_OPTIONS = {
  image: { type: 'string' },
  mask: { type: 'string' },
  prompt: { type: 'string' },
  'negative-prompt': { type: 'string' },
  mode: { type: 'string' },
  expand: { type: 'string' },
  pack: { type: 'string' },
  steps: { type: 'string' },
  guidance: { type: 'string' },
  scheduler: { type: 'string' },
  strength: { type: 'string' },
  candidates: { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  'no-color-match': { type: 'boolean' },
  'max-pixels': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  rank: { type: 'string' },
  'no-rewards': { type: 'boolean' },
  engine: { type: 'string' },
  prefill: { type: 'boolean' },
  search: { type: 'string' },
  blend: { type: 'string' },
} as const;

const STRING_OPTIONS: ReadonlySet<string> = new Set(Object.entries(EDIT_OPTIONS).filter(([, o]) => o.type === 'string').map(([k]) => k));

export function parseEditArgs(argv: string[]): EditArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, STRING_OPTIONS),
      allowPositionals: false,
      options: EDIT_OPTIONS,
    });
  } catch (err) {
    bad(`${err instanceof Error ? err.message : String(err)}; see byteedit edit --help`);
  }
  const v = parsed.values;
  const mode = oneOf('mode', v.mode, EDIT_MODES) ?? 'edit';
  if (!v.image) bad('--image is required: the picture to edit (PNG or JPEG)');
  if (!v.out) bad('--out is required: where to write the result (.png or .jpg)');
  if (!/\.(png|jpe?g)$/i.test(v.out)) bad(`--out must end in .png, .jpg or .jpeg, got "${v.out}"`);
  if (mode !== 'outpaint' && !v.mask) bad(`--mask is required for --mode ${mode}: white (255) where to ${mode === 'erase' ? 'erase' : 'edit'}`);
  if (mode === 'outpaint' && !v.expand) bad('--mode outpaint needs --expand LEFT,TOP,RIGHT,BOTTOM (pixels to add on each side)');
  if (mode !== 'outpaint' && v.expand) bad('--expand only applies to --mode outpaint');
  return {
    image: v.image,
    mask: v.mask,
    prompt: v.prompt,
    negativePrompt: v['negative-prompt'],
    mode,
    expand: v.expand ? parseExpand(v.expand) : undefined,
    pack: v.pack,
    steps: int('steps', v.steps, ...LIMITS.steps),
    guidance: num('guidance', v.guidance, ...LIMITS.guidance),
    scheduler: oneOf('scheduler', v.scheduler, SCHEDULER_NAMES),
    strength: num('strength', v.strength, 0, 1, true),
    candidates: int('candidates', v.candidates, ...LIMITS.candidates) ?? 1,
    seed: int('seed', v.seed, 0, 0xffffffff),
    device: oneOf('device', v.device, DEVICE_NAMES.filter((d) => d !== 'wasm')) ?? 'auto',
    out: v.out,
    json: v.json ?? false,
    colorMatch: !v['no-color-match'],
    maxPixels: int('max-pixels', v['max-pixels'], 1, 1_000_000_000),
    quiet: v.quiet ?? false,
    rank: v.rank !== undefined ? parseRankWeights(v.rank) : undefined,
    rewards: !v['no-rewards'],
    engine: oneOf('engine', v.engine, ['auto', 'diffusion', 'fill'] as const),
    prefill: v.prefill ?? false,
    search: oneOf('search', v.search, ['best-of-n', 'guided'] as const),
    blend: oneOf('blend', v.blend, ['color-match', 'poisson', 'none'] as const),
  };
}
