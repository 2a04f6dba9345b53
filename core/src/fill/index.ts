/**
 * Model-free content-aware fill: multi-scale PatchMatch (Barnes et al. 2009) with Wexler-style
 * voting (Wexler et al. 2007). Removes objects and strokes, extends canvases for outpainting, and
 * pre-fills holes before diffusion. Pure TypeScript on typed arrays: runs in Node, browsers and
 * workers alike; yields to the event loop so progress and cancellation get through.
 */
import { computeBounds, createImage, type Mask, type RgbaImage } from '../image/image';
import { SdkError } from '../util/errors';
import { randomField, sweep, upsampleField, type Field } from './nnf';
import {
  baseLevel,
  CH,
  cropAround,
  downsample,
  holeDistance,
  onionFill,
  sourceCentres,
  targetCentres,
  type Level,
} from './pyramid';
import { seedState } from './random';
import { blendStructure, STRUCTURE_MIX, STRUCTURE_SIGMA } from './structure';
import { vote, voteBest, voteScratch } from './vote';

export interface FillOptions {
  /** Odd patch side in pixels, 3..31 (default 7). */
  patchSize?: number;
  /** Search-and-vote iterations per pyramid level, 1..100 (default 5; the finest level of a pyramid runs 40 %, the next 60 %). */
  iterations?: number;
  /** PRNG seed; the same seed, image and mask give the same pixels (default 0). */
  seed?: number;
  /** Same size as the image; pixels >= 128 are never copied from. */
  exclude?: Mask;
  /**
   * Share (0..1) of the fill's low frequencies taken from a smooth membrane of the hole's border
   * instead of the patches (structure.ts; default 0.5; 0: the patch result as it is).
   */
  structure?: number;
}

export interface FillHooks {
  onProgress?(done: number, total: number): void;
  /** Polled often; when it returns true the fill throws SdkError('cancelled'). */
  isCancelled?(): boolean;
}

/** Targets handled between cancellation checks. */
const CHUNK = 4096;
/** Time between yields to the event loop. */
const YIELD_MS = 25;
/** Confidence decay per pixel of distance into the hole (Wexler's gamma). */
const GAMMA = 1.3;
/**
 * Weight of hole pixels (current estimates) against known pixels in the patch distance. Below 1 so
 * a wrong early guess cannot hold the search in place.
 */
const HOLE_WEIGHT = 0.3;
/** Cost quantile that sets the vote's weight scale: coarse levels average, the finest is sharper. */
const COARSE_QUANTILE = 0.5;
const FINE_QUANTILE = 0.1;
/** Local search radius around each target at coarse levels (and at a single-level fill). */
const LOCAL_RADIUS = 64;
/** Random-search radius at the finest level of a pyramid, where the upsampled field is already good. */
const FINE_RADIUS = 16;
/** Share of `iterations` run at the finest level of a pyramid (it costs 4x the next level). */
const FINE_SHARE = 0.4;
/**
 * Share run at the level just above the finest when there are coarser ones (it costs 4x the
 * level above it, and starts from their field): 3 of 5 by default, same quality on models/photos.
 */
const NEXT_SHARE = 0.6;
/** Stop halving once the hole is at most this many patch radii thick. */
const DEPTH_IN_RADII = 2;

interface Tuning {
  readonly r: number;
  readonly iterations: number;
}

export async function patchMatchFill(
  image: RgbaImage,
  mask: Mask,
  options: FillOptions = {},
  hooks: FillHooks = {},
): Promise<RgbaImage> {
  const { patchSize = 7, iterations = 5, seed = 0, exclude, structure = STRUCTURE_MIX } = options;
  validate(image, mask, patchSize, iterations, exclude);
  if (!(structure >= 0 && structure <= 1)) throw new SdkError('invalid_argument', `structure must be a number from 0 to 1, got ${structure}`);
  // Recomputed rather than trusted: a hand-built Mask may carry stale bounds.
  const bounds = computeBounds(mask.width, mask.height, mask.data);
  if (!bounds) {
    throw new SdkError('mask_empty', 'the mask selects no pixels: paint the area to fill (non-zero mask values)');
  }
  // Work only around the hole: its bounding box plus a source margin as large as the hole.
  const margin = Math.max(4 * patchSize, Math.max(bounds.width, bounds.height));
  const crop = cropAround(image.width, image.height, bounds, margin);
  const base = baseLevel(image.data, image.width, mask.data, exclude?.data ?? null, crop);
  // Patches must fit in the work region (only matters for tiny images).
  const r = Math.min((patchSize - 1) >> 1, (Math.min(crop.w, crop.h) - 1) >> 1);
  const tuning: Tuning = { r, iterations };
  const baseSources = hasSource(base) ? sourceCentres(base, r) : null;
  if (!baseSources || baseSources.list.length === 0) {
    throw new SdkError(
      'invalid_argument',
      'the mask and exclude region leave no patch to copy from: shrink the mask or the exclude region, or use a smaller patchSize',
    );
  }
  const baseDistance = holeDistance(base);
  const pyramid = buildPyramid({ level: base, sources: baseSources }, maxOf(baseDistance), tuning);
  const levels = pyramid.map((p) => p.level);

  const run = new Runner(hooks, levels.reduce((n, _l, i) => n + itersAt(i, levels.length, tuning), 0));
  let rng = seedState(seed);
  let prev: { level: Level; field: Field } | null = null;
  for (let li = levels.length - 1; li >= 0; li--) {
    const level = levels[li]!;
    const src = pyramid[li]!.sources;
    const tgt = targetCentres(level, r);
    const field: Field = {
      nnf: new Int32Array(level.w * level.h),
      cost: new Float32Array(level.w * level.h),
      isTarget: tgt.isTarget,
      targets: tgt.list,
      valid: src.valid,
      validList: src.list,
      weight: distanceWeights(level),
      columnsA: new Float64Array(2 * r + 1),
      columnsB: new Float64Array(2 * r + 1),
    };
    const conf = confidence(li === 0 ? baseDistance : holeDistance(level));
    const scratch = voteScratch(level);
    if (prev === null) {
      onionFill(level);
      rng = randomField(field, rng);
    } else {
      // The coarse match, upsampled, gives a sharper start than the upsampled coarse pixels.
      initFromCoarse(prev.level, level);
      rng = upsampleField(prev.level, prev.field, level, field, rng);
      vote(level, field, r, conf, scratch, -1);
    }
    const finest = li === 0;
    const refining = prev !== null && finest;
    const maxRadius = prev === null ? Math.max(level.w, level.h) : refining ? FINE_RADIUS : Math.max(4, Math.max(level.w, level.h) >> 2);
    const localRadius = refining ? 0 : LOCAL_RADIUS;
    const iters = itersAt(li, levels.length, tuning);
    for (let it = 0; it < iters; it++) {
      const dir: 1 | -1 = it % 2 === 0 ? 1 : -1;
      const n = field.targets.length;
      for (let from = 0; from < n; from += CHUNK) {
        rng = sweep(level, field, r, dir, from, Math.min(n, from + CHUNK), maxRadius, localRadius, rng);
        await run.checkpoint();
      }
      const last = it === iters - 1;
      // The very last reconstruction copies instead of averaging: averaging blurs texture.
      if (finest && last) voteBest(level, field, r, conf, scratch);
      else vote(level, field, r, conf, scratch, finest ? FINE_QUANTILE : COARSE_QUANTILE);
      run.step();
      await run.checkpoint();
    }
    prev = { level, field };
  }
  // The patches' detail on a smooth membrane's low frequencies (structure.ts).
  blendStructure(levels[0]!, STRUCTURE_SIGMA, structure);
  return compose(image, mask, levels[0]!, crop);
}

function validate(image: RgbaImage, mask: Mask, patchSize: number, iterations: number, exclude?: Mask): void {
  if (mask.width !== image.width || mask.height !== image.height) {
    throw new SdkError(
      'mask_size_mismatch',
      `mask is ${mask.width}x${mask.height} but the image is ${image.width}x${image.height}: resize the mask to the image`,
    );
  }
  if (exclude && (exclude.width !== image.width || exclude.height !== image.height)) {
    throw new SdkError(
      'mask_size_mismatch',
      `exclude mask is ${exclude.width}x${exclude.height} but the image is ${image.width}x${image.height}: resize it to the image`,
    );
  }
  if (!Number.isInteger(patchSize) || patchSize < 3 || patchSize > 31 || patchSize % 2 === 0) {
    throw new SdkError('invalid_argument', `patchSize must be an odd integer from 3 to 31, got ${patchSize}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 100) {
    throw new SdkError('invalid_argument', `iterations must be an integer from 1 to 100, got ${iterations}`);
  }
}

function hasSource(level: Level): boolean {
  for (let i = 0; i < level.hole.length; i++) if (!level.hole[i] && !level.excluded[i]) return true;
  return false;
}

/**
 * Halve until the hole is about a patch thick or the crop gets too small to hold a few patches.
 * Thin holes (strokes) stay single-level: at coarse scales they swell relative to their context,
 * and a poor coarse guess is hard to undo at full resolution.
 */
function buildPyramid(base: PyramidLevel, baseDepth: number, t: Tuning): PyramidLevel[] {
  const levels = [base];
  const size = 2 * t.r + 1;
  let depth = baseDepth;
  let top = base.level;
  while (depth > DEPTH_IN_RADII * t.r && Math.min(top.w, top.h) >= 6 * size) {
    const next = downsample(top);
    // A coarse hole grows by up to a pixel per level; stop before it leaves nothing to copy from.
    const sources = hasSource(next) ? sourceCentres(next, t.r) : null;
    if (!sources || sources.list.length === 0) break;
    top = next;
    levels.push({ level: next, sources });
    depth /= 2;
  }
  return levels;
}

interface PyramidLevel {
  readonly level: Level;
  readonly sources: { readonly valid: Uint8Array; readonly list: Int32Array };
}

function maxOf(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
}

/**
 * Iterations at level i (0 = finest): all at the coarsest levels (and a single level), fewer at
 * the finest and the one above it.
 */
function itersAt(i: number, count: number, t: Tuning): number {
  if (i === 0 && count > 1) return Math.max(1, Math.ceil(t.iterations * FINE_SHARE));
  if (i === 1 && count > 2) return Math.max(1, Math.ceil(t.iterations * NEXT_SHARE));
  return t.iterations;
}

function distanceWeights(level: Level): Float32Array {
  const weight = new Float32Array(level.w * level.h);
  for (let i = 0; i < weight.length; i++) weight[i] = level.hole[i] ? HOLE_WEIGHT : 1;
  return weight;
}

/** Wexler's confidence from the distance into the hole (overwrites `d`). */
function confidence(d: Float32Array): Float32Array {
  for (let i = 0; i < d.length; i++) d[i] = d[i]! === 0 ? 1 : Math.pow(GAMMA, -Math.min(d[i]!, 200));
  return d;
}

/** Hole pixels of a fine level start as their coarse parent's estimate. */
function initFromCoarse(coarse: Level, fine: Level): void {
  const { w, img, holeList } = fine;
  for (let k = 0; k < holeList.length; k++) {
    const q = holeList[k]!;
    const x = q % w;
    const y = (q - x) / w;
    const c = ((y >> 1) * coarse.w + (x >> 1)) * CH;
    for (let ch = 0; ch < CH; ch++) img[q * CH + ch] = coarse.img[c + ch]!;
  }
}

/** The output: the input everywhere, blended toward the fill by the mask's coverage. */
function compose(image: RgbaImage, mask: Mask, level: Level, crop: { x: number; y: number; w: number }): RgbaImage {
  const out = createImage(image.width, image.height, new Uint8ClampedArray(image.data));
  const d = out.data;
  const m = mask.data;
  const { img, holeList } = level;
  for (let k = 0; k < holeList.length; k++) {
    const q = holeList[k]!;
    const x = q % crop.w;
    const y = (q - x) / crop.w;
    const i = (crop.y + y) * image.width + crop.x + x;
    const a = m[i]! / 255;
    const o = i * 4;
    const qi = q * CH;
    d[o] = d[o]! + (img[qi]! - d[o]!) * a;
    d[o + 1] = d[o + 1]! + (img[qi + 1]! - d[o + 1]!) * a;
    d[o + 2] = d[o + 2]! + (img[qi + 2]! - d[o + 2]!) * a;
    d[o + 3] = d[o + 3]! + (img[qi + 3]! - d[o + 3]!) * a;
  }
  return out;
}

/** Progress, cancellation and cooperative yielding, in one place. */
class Runner {
  private done = 0;
  private lastYield = Date.now();

  constructor(
    private readonly hooks: FillHooks,
    private readonly total: number,
  ) {
    hooks.onProgress?.(0, total);
  }

  step(): void {
    this.done++;
    this.hooks.onProgress?.(this.done, this.total);
  }

  async checkpoint(): Promise<void> {
    if (this.hooks.isCancelled?.()) throw new SdkError('cancelled', 'fill cancelled');
    if (Date.now() - this.lastYield >= YIELD_MS) {
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      this.lastYield = Date.now();
      if (this.hooks.isCancelled?.()) throw new SdkError('cancelled', 'fill cancelled');
    }
  }
}
