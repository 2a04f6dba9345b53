/**
 * Planning an edit, as a pure function: (request facts, pack) -> plan. No pixels, no ORT, no
 * randomness (the caller resolves the seed), so a plan is snapshot-testable and a bug report is
 * a serialized request. The engine only executes plans.
 *
 * Context rules: pad the mask bounds by half their longer side (16 px .. native), grow to at least
 * the pack's native size around the mask, align to the VAE factor, clamp to the canvas; then scale
 * so the crop has about native^2 pixels (long side <= resolution.max), with model sides multiples
 * of resolution.multiple.
 */
import { SdkError } from '../util/errors';
import { DEFAULT_MAX_PIXELS } from '../image/codecs';
import { rect, size, type CanvasSpace, type LatentSpace, type ModelSpace, type Rect, type Size } from '../image/geometry';
import type { PackManifest } from '../packs/manifest';
import type { EditMode, Margins } from '../protocol/unions';
import { LIMITS } from '../protocol/fields';
import { SCHEDULER_NAMES, type SchedulerName } from '../samplers/types';

export interface PlanInput {
  imageSize: { width: number; height: number };
  /** Size and non-zero bounds of the user's mask (source-image pixels), when one was given. */
  mask?: { width: number; height: number; bounds: Rect<CanvasSpace> | null };
  mode: EditMode;
  expand?: Margins;
  prompt?: string;
  negativePrompt?: string;
  steps?: number;
  guidance?: number;
  scheduler?: SchedulerName;
  strength?: number;
  candidates?: number;
  /** Resolved base seed (the engine draws one when the user gave none). */
  seed: number;
  colorMatch?: boolean;
  /** How the generated region meets its surroundings (default color-match; colorMatch false = none). */
  blend?: 'color-match' | 'poisson' | 'none';
  previewEvery?: number;
  maxPixels?: number;
  search?: 'best-of-n' | 'guided';
}

export interface EditPlan {
  mode: EditMode;
  canvas: Size<CanvasSpace>;
  /** Where the source image's (0,0) lands on the canvas. */
  sourceOffset: { x: number; y: number };
  /** Bounds (canvas space) of what the model must generate. */
  generationBounds: Rect<CanvasSpace>;
  /** The crop that is sent through the model. */
  context: Rect<CanvasSpace>;
  model: Size<ModelSpace>;
  latent: Size<LatentSpace>;
  /** Grow the user's mask by this many canvas px before generating (halos, shadows). */
  generationGrow: number;
  /** Compositing mask = generation mask grown by this and feathered by that (canvas px). */
  compositeGrow: number;
  compositeFeather: number;
  /** Outpaint: the compositing mask never reaches into the source pixels. */
  protectSource: boolean;
  colorMatch: boolean;
  blend: 'color-match' | 'poisson' | 'none';
  colorRing: number;
  prompt: string;
  negativePrompt: string;
  scheduler: SchedulerName;
  steps: number;
  guidance: number;
  strength: number;
  seeds: number[];
  previewEvery: number;
  /** best-of-n: independent candidates; guided: reward-guided resampling at the same UNet budget. */
  search: 'best-of-n' | 'guided';
  /** Fractions of the steps after which guided search scores and resamples. */
  guidedCheckpoints: number[];
}

export { LIMITS } from '../protocol/fields';


function checkInt(name: string, v: number | undefined, [lo, hi]: readonly [number, number]): void {
  if (v !== undefined && (!Number.isInteger(v) || v < lo || v > hi)) {
    throw new SdkError('invalid_argument', `${name} must be an integer from ${lo} to ${hi}, got ${v}`);
  }
}

function alignUp(v: number, m: number): number {
  return Math.ceil(v / m) * m;
}

/** Grows [start, start+len) to `want` around its centre, then shifts/clamps it into [0, limit). */
function growSpan(start: number, len: number, want: number, limit: number): [number, number] {
  const target = Math.min(limit, Math.max(len, want));
  let s = Math.round(start + len / 2 - target / 2);
  s = Math.max(0, Math.min(limit - target, s));
  return [s, target];
}

export function planEdit(input: PlanInput, pack: PackManifest): EditPlan {
  const { mode } = input;
  if (!pack.modes.includes(mode)) {
    throw new SdkError('mode_unsupported', `pack ${pack.name} does not support mode "${mode}" (it supports ${pack.modes.join(', ')}); choose another mode or pack`);
  }
  checkInt('steps', input.steps, LIMITS.steps);
  checkInt('candidates', input.candidates, LIMITS.candidates);
  checkInt('previewEvery', input.previewEvery, LIMITS.previewEvery);
  if (input.guidance !== undefined && !(input.guidance >= LIMITS.guidance[0] && input.guidance <= LIMITS.guidance[1])) {
    throw new SdkError('invalid_argument', `guidance must be a number from ${LIMITS.guidance[0]} to ${LIMITS.guidance[1]}, got ${input.guidance}`);
  }
  if (input.strength !== undefined && !(input.strength > 0 && input.strength <= 1)) {
    throw new SdkError('invalid_argument', `strength must be in (0, 1], got ${input.strength}`);
  }
  if (input.blend !== undefined && !['color-match', 'poisson', 'none'].includes(input.blend)) {
    throw new SdkError('invalid_argument', `blend must be color-match, poisson or none, got ${JSON.stringify(input.blend)}`);
  }
  if (input.search !== undefined && input.search !== 'best-of-n' && input.search !== 'guided') {
    throw new SdkError('invalid_argument', `search must be best-of-n or guided, got ${JSON.stringify(input.search)}`);
  }
  if (input.scheduler !== undefined && !SCHEDULER_NAMES.includes(input.scheduler)) {
    throw new SdkError('invalid_argument', `unknown scheduler "${String(input.scheduler)}"; use one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  if (!Number.isInteger(input.seed) || input.seed < 0 || input.seed > 0xffffffff) {
    throw new SdkError('invalid_argument', `seed must be an integer from 0 to 4294967295, got ${input.seed}`);
  }
  const { width: iw, height: ih } = input.imageSize;
  if (input.mask && (input.mask.width !== iw || input.mask.height !== ih)) {
    throw new SdkError('mask_size_mismatch', `the mask is ${input.mask.width}x${input.mask.height} but the image is ${iw}x${ih}; the mask must have the image's size`);
  }

  let canvasW = iw;
  let canvasH = ih;
  let offset = { x: 0, y: 0 };
  let gen: Rect<CanvasSpace> | null = input.mask?.bounds ?? null;
  if (mode === 'outpaint') {
    const e = input.expand ?? { left: 0, top: 0, right: 0, bottom: 0 };
    for (const [k, v] of Object.entries(e)) checkInt(`expand.${k}`, v, LIMITS.expand);
    if (e.left + e.top + e.right + e.bottom === 0) {
      throw new SdkError('invalid_argument', 'outpaint needs at least one non-zero margin: --expand LEFT,TOP,RIGHT,BOTTOM (pixels)');
    }
    canvasW = iw + e.left + e.right;
    canvasH = ih + e.top + e.bottom;
    offset = { x: e.left, y: e.top };
    // The new area's bounds (canvas minus the source rectangle); a user mask is added to it.
    const hor = e.left > 0 || e.right > 0;
    const ver = e.top > 0 || e.bottom > 0;
    const x0 = e.left > 0 || ver ? 0 : e.left + iw;
    const x1 = e.right > 0 || ver ? canvasW : e.left;
    const y0 = e.top > 0 || hor ? 0 : e.top + ih;
    const y1 = e.bottom > 0 || hor ? canvasH : e.top;
    const area = rect<CanvasSpace>(x0, y0, x1 - x0, y1 - y0);
    if (gen) {
      const g = rect<CanvasSpace>(gen.x + offset.x, gen.y + offset.y, gen.width, gen.height);
      const gx0 = Math.min(area.x, g.x);
      const gy0 = Math.min(area.y, g.y);
      gen = rect<CanvasSpace>(gx0, gy0, Math.max(area.x + area.width, g.x + g.width) - gx0, Math.max(area.y + area.height, g.y + g.height) - gy0);
    } else gen = area;
  } else if (!input.mask) {
    throw new SdkError('invalid_argument', `mode "${mode}" needs a mask (white where to ${mode === 'erase' ? 'erase' : 'edit'})`);
  } else if (!gen) {
    throw new SdkError('mask_empty', 'the mask is empty (all black): paint the area to change in white (255)');
  }
  const maxPixels = input.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (canvasW * canvasH > maxPixels) {
    throw new SdkError('image_too_large', `the ${mode === 'outpaint' ? 'expanded canvas' : 'image'} is ${canvasW}x${canvasH}, over the ${(maxPixels / 1e6).toFixed(0)} MP limit; downscale it or raise the limit`);
  }

  const native = pack.resolution.native;
  const multiple = pack.resolution.multiple;
  const factor = pack.latent.scaleFactor;
  const maxSide = pack.resolution.max ?? 2 * native;
  const longest = Math.max(gen.width, gen.height);
  const pad = Math.min(native, Math.max(16, Math.round(longest / 2)));
  let cx = gen.x - pad;
  let cy = gen.y - pad;
  let cw = gen.width + 2 * pad;
  let ch = gen.height + 2 * pad;
  // Clamp to the canvas, then grow to native around the mask and align to the VAE factor.
  const x0 = Math.max(0, cx);
  const y0 = Math.max(0, cy);
  cw = Math.min(canvasW, cx + cw) - x0;
  ch = Math.min(canvasH, cy + ch) - y0;
  cx = x0;
  cy = y0;
  [cx, cw] = growSpan(cx, cw, alignUp(Math.max(cw, native), factor), canvasW);
  [cy, ch] = growSpan(cy, ch, alignUp(Math.max(ch, native), factor), canvasH);
  const context = rect<CanvasSpace>(cx, cy, cw, ch);

  let scale = Math.sqrt((native * native) / (cw * ch));
  scale = Math.min(scale, maxSide / Math.max(cw, ch), 4);
  const mw = Math.max(multiple, Math.round((cw * scale) / multiple) * multiple);
  const mh = Math.max(multiple, Math.round((ch * scale) / multiple) * multiple);

  const erase = mode === 'erase';
  const outpaint = mode === 'outpaint';
  const userPrompt = (input.prompt ?? '').trim();
  const prompt = erase ? (pack.erase?.prompt ?? '') : userPrompt;
  const negative = [erase ? pack.erase?.negativePrompt : '', input.negativePrompt].filter((s): s is string => !!s && s.trim().length > 0).join(', ');
  const candidates = input.candidates ?? 1;
  const base = input.seed;

  return {
    mode,
    canvas: size<CanvasSpace>(canvasW, canvasH),
    sourceOffset: offset,
    generationBounds: gen,
    context,
    model: size<ModelSpace>(mw, mh),
    latent: size<LatentSpace>(mw / factor, mh / factor),
    generationGrow: outpaint ? 0 : erase ? Math.max(2, Math.round(longest * 0.04)) : 0,
    compositeGrow: outpaint ? 0 : Math.max(1, Math.round(longest * 0.02)),
    compositeFeather: outpaint ? 0 : Math.min(32, Math.max(2, Math.round(longest * 0.04))),
    protectSource: outpaint,
    colorMatch: (input.blend ?? (input.colorMatch === false ? 'none' : 'color-match')) === 'color-match',
    blend: input.blend ?? (input.colorMatch === false ? 'none' : 'color-match'),
    colorRing: Math.max(4, Math.round(longest * 0.08)),
    prompt,
    negativePrompt: negative,
    scheduler: input.scheduler ?? pack.defaults.scheduler,
    steps: input.steps ?? pack.defaults.steps,
    guidance: input.guidance ?? pack.defaults.guidance,
    strength: input.strength ?? 1,
    seeds: Array.from({ length: candidates }, (_, i) => (base + i) >>> 0),
    previewEvery: input.previewEvery ?? 1,
    search: input.search ?? 'best-of-n',
    guidedCheckpoints: [0.25, 0.5],
  };
}
