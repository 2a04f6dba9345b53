/**
 * Planning an edit, as a pure function: (request, facts about its pixels, pack profile) -> plan.
 * No pixels, no ORT, no randomness (the caller resolves the seed), so a plan is snapshot-testable
 * and a bug report is a serialized request. The plan decides the whole run: which engine makes the
 * pixels (the pack's diffusion models or the model-free fill), whether diffusion starts from a
 * pre-fill and at which strength, how many steps are reported, which rewards score the candidates
 * and with which weights, and the geometry (context.ts). The engine only executes plans.
 *
 * The request arrives checked by the protocol's parser (validateRequest): ranges, enums and the
 * rules between fields are not checked again here. What is checked here needs the pack or the
 * image: the mode against the pack, the mask's size, an empty mask, the canvas's pixel count and
 * outpaint's margins.
 */
import { SdkError } from '../protocol/errors';
import type { RequestParams } from '../protocol/fields';
import type { BlendMode, EditMode, RewardName, SchedulerName, SearchMode } from '../protocol/unions';
import { DEFAULT_MAX_PIXELS } from '../image/codecs';
import type { CanvasSpace, LatentSpace, ModelSpace, Rect, Size } from '../image/geometry';
import { resolveWeights } from '../rewards/rank';
import { contextCrop, layoutCanvas, type ContextRules } from './context';
import type { PlanningProfile } from './profile';

export { planningProfile, type PlanningProfile } from './profile';
export { LIMITS } from '../protocol/fields';

/** What the plan knows of the pixels: sizes and the mask's bounds, never the pixels themselves. */
export interface PixelFacts {
  imageSize: { width: number; height: number };
  /** Size and non-zero bounds (null: all black) of the user's mask, when one was given. */
  mask?: { width: number; height: number; bounds: Rect<CanvasSpace> | null };
}

/** The request as the protocol parsed it, the facts about its pixels, and the resolved seed. */
export interface PlanRequest extends RequestParams, PixelFacts {
  /** The base seed (the engine draws one when the request has none). */
  seed: number;
}

/** What the engine running the plan imposes. */
export interface PlanLimits {
  /** Its cap on canvas pixels, used when the request sets none (default DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
}

/** Which engine makes the pixels. */
export type PlannedEngine = 'diffusion' | 'fill';

/**
 * Which learned reward models score the candidates. The analytic coherence is always scored too
 * (and stands in for a learned coherence); `none`: nothing is scored, candidates keep index order.
 */
export type RewardSet = 'pack' | 'reward-pack' | 'analytic' | 'none';

export interface RewardPlan {
  set: RewardSet;
  /** The reward pack's reference, for set 'reward-pack'. */
  rewardPack?: string;
  /** Ranking weights: the mode's defaults overlaid with the request's. */
  weights: Record<RewardName, number>;
}

export interface EditPlan {
  mode: EditMode;
  engine: PlannedEngine;
  /** The pack whose models run (diffusion); null for the fill. */
  pack: string | null;
  /** Diffusion erase/outpaint: fill the hole model-free first (seed: seeds[0]), then denoise from `strength`. */
  prefill: boolean;
  rewards: RewardPlan;
  canvas: Size<CanvasSpace>;
  /** Where the source image's (0,0) lands on the canvas. */
  sourceOffset: { x: number; y: number };
  /** Bounds (canvas space) of what must be generated. */
  generationBounds: Rect<CanvasSpace>;
  /** The crop that is sent through the model (the fill: the region it fills and hands back). */
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
  blend: BlendMode;
  colorRing: number;
  prompt: string;
  negativePrompt: string;
  /** The sampler (diffusion; the fill has none and plans ddim, guidance 0, strength 1). */
  scheduler: SchedulerName;
  /** What the job reports as its steps: denoising steps, or the fill's progress steps (FILL_STEPS). */
  steps: number;
  guidance: number;
  strength: number;
  seeds: number[];
  previewEvery: number;
  /** best-of-n: independent candidates; guided: reward-guided resampling at the same UNet budget. */
  search: SearchMode;
  /** Fractions of the steps after which guided search scores and resamples. */
  guidedCheckpoints: number[];
}

/** Diffusion from a pre-filled hole starts this far up the noise schedule unless the request says. */
export const PREFILL_STRENGTH = 0.6;

/** The fill reports its progress in whole percents: 100 steps per candidate. */
export const FILL_STEPS = 100;

/**
 * The fill works at full resolution, so no model size matters: these rules only size the region
 * it fills and hands back (the hole padded by half its longer side, at least 256 px on a side).
 */
const FILL_CONTEXT: ContextRules = Object.freeze({ native: 256, multiple: 1, max: 1 << 14, latentScaleFactor: 1 });

const FILL_CANNOT_EDIT = 'the fill engine erases and outpaints; it cannot add content from a prompt: use a diffusion pack for edit';

/** Whether planning needs the pack's profile: every request but an explicit fill names a pack (or the default one). */
export function needsPack(request: Pick<RequestParams, 'engine'>): boolean {
  return request.engine !== 'fill';
}

/** The facts a plan needs from an image and its mask. */
export function pixelFacts(image: { width: number; height: number }, mask?: { width: number; height: number; bounds: Rect<CanvasSpace> | null }): PixelFacts {
  return { imageSize: { width: image.width, height: image.height }, ...(mask ? { mask: { width: mask.width, height: mask.height, bounds: mask.bounds } } : {}) };
}

/**
 * diffusion: asked for, or auto when the pack does the mode (and always for edit, which only
 * diffusion can do); fill: asked for, or auto for an erase or outpaint the pack cannot do.
 */
function chooseEngine(request: PlanRequest, profile: PlanningProfile | null): PlannedEngine {
  const { mode } = request;
  const choice = request.engine ?? 'auto';
  const supported = profile?.modes.includes(mode) ?? false;
  if (choice === 'fill' || (choice === 'auto' && !supported && mode !== 'edit')) {
    if (mode === 'edit') throw new SdkError('mode_unsupported', FILL_CANNOT_EDIT);
    return 'fill';
  }
  if (!profile) {
    throw new SdkError('mode_unsupported', mode === 'edit' ? 'mode edit needs a diffusion pack, and none was given (the fill engine erases and outpaints; it cannot add content from a prompt)' : `engine diffusion needs a pack, and none was given; use engine fill (or auto) to ${mode} without a model`);
  }
  if (!supported) {
    const fill = mode === 'edit' ? '' : `, or engine fill (or auto) to ${mode} without a model`;
    throw new SdkError('mode_unsupported', `pack ${profile.name} does not support mode "${mode}" (it supports ${profile.modes.join(', ')}); choose another mode or pack${fill}`);
  }
  return 'diffusion';
}

/** The pack's learned rewards only come with its models (diffusion); a reward pack serves either engine. */
function planRewards(request: PlanRequest, engine: PlannedEngine, profile: PlanningProfile | null): RewardPlan {
  const weights = resolveWeights(request.mode, request.rank);
  if (request.rewards === false) return { set: 'none', weights };
  if (request.rewardPack) return { set: 'reward-pack', rewardPack: request.rewardPack, weights };
  return { set: engine === 'diffusion' && profile?.hasRewards ? 'pack' : 'analytic', weights };
}

/**
 * Plans one edit. `profile` is the planning profile of the pack the request names (or the
 * engine's default pack); null when no pack is used (an explicit fill: see needsPack).
 */
export function planEdit(request: PlanRequest, profile: PlanningProfile | null, limits: PlanLimits = {}): EditPlan {
  const { mode } = request;
  const engine = chooseEngine(request, profile);
  const pack = engine === 'diffusion' ? profile : null;
  const { width: iw, height: ih } = request.imageSize;
  const mask = request.mask;
  if (mask && (mask.width !== iw || mask.height !== ih)) {
    throw new SdkError('mask_size_mismatch', `the mask is ${mask.width}x${mask.height} but the image is ${iw}x${ih}; the mask must have the image's size`);
  }
  const layout = layoutCanvas(mode, request.imageSize, mask?.bounds, request.expand);
  const { canvas, generationBounds: gen } = layout;
  const maxPixels = request.maxPixels ?? limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (canvas.width * canvas.height > maxPixels) {
    throw new SdkError('image_too_large', `the ${mode === 'outpaint' ? 'expanded canvas' : 'image'} is ${canvas.width}x${canvas.height}, over the ${(maxPixels / 1e6).toFixed(0)} MP limit; downscale it or raise the limit`);
  }
  const crop = contextCrop(gen, canvas, pack ? { ...pack.resolution, latentScaleFactor: pack.latentScaleFactor } : FILL_CONTEXT);

  const erase = mode === 'erase';
  const outpaint = mode === 'outpaint';
  const longest = Math.max(gen.width, gen.height);
  const prompt = erase ? (pack?.erase?.prompt ?? '') : (request.prompt ?? '').trim();
  const negative = [erase ? pack?.erase?.negativePrompt : '', request.negativePrompt].filter((s): s is string => !!s && s.trim().length > 0).join(', ');
  const blend = request.blend ?? (request.colorMatch === false ? 'none' : 'color-match');
  const prefill = engine === 'diffusion' && request.prefill === true && mode !== 'edit';
  const candidates = request.candidates ?? 1;

  return {
    mode,
    engine,
    pack: pack?.name ?? null,
    prefill,
    rewards: planRewards(request, engine, profile),
    ...layout,
    ...crop,
    generationGrow: outpaint ? 0 : erase ? Math.max(2, Math.round(longest * 0.04)) : 0,
    compositeGrow: outpaint ? 0 : Math.max(1, Math.round(longest * 0.02)),
    compositeFeather: outpaint ? 0 : Math.min(32, Math.max(2, Math.round(longest * 0.04))),
    protectSource: outpaint,
    colorMatch: blend === 'color-match',
    blend,
    colorRing: Math.max(4, Math.round(longest * 0.08)),
    prompt,
    negativePrompt: negative,
    scheduler: pack ? (request.scheduler ?? pack.defaults.scheduler) : 'ddim',
    steps: pack ? (request.steps ?? pack.defaults.steps) : FILL_STEPS,
    guidance: pack ? (request.guidance ?? pack.defaults.guidance) : 0,
    strength: pack ? (request.strength ?? (prefill ? PREFILL_STRENGTH : 1)) : 1,
    seeds: Array.from({ length: candidates }, (_, i) => (request.seed + i) >>> 0),
    previewEvery: request.previewEvery ?? 1,
    search: request.search ?? 'best-of-n',
    guidedCheckpoints: [0.25, 0.5],
  };
}
