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
import type { EngineRoute } from '../protocol/events';
import type { BlendMode, EditMode, ImageDomain, RewardName, SchedulerName, SearchMode } from '../protocol/unions';
import { DEFAULT_MAX_PIXELS } from '../image/codecs';
import type { CanvasSpace, LatentSpace, ModelSpace, Rect, Size } from '../image/geometry';
import { resolveWeights } from '../rewards/rank';
import { contextCrop, layoutCanvas, type ContextRules } from './context';
import type { PlanningProfile } from './profile';

export { planningProfile, type PlanningProfile } from './profile';
export { LIMITS } from '../protocol/fields';

/** What the plan knows of the pixels: sizes, the mask's bounds and what kind of picture it is, never the pixels themselves. */
export interface PixelFacts {
  imageSize: { width: number; height: number };
  /** Size and non-zero bounds (null: all black) of the user's mask, when one was given. */
  mask?: { width: number; height: number; bounds: Rect<CanvasSpace> | null };
  /** The pixels' judged domain (image/domain.ts), when routing needs it: erase/outpaint on auto. */
  pixelDomain?: { domain: ImageDomain; flat: number };
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
export type PlannedEngine = EngineRoute['engine'];
export type { EngineRoute };

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
  route: EngineRoute;
  /** The pack whose models run (diffusion, or the erase pack for inpaint); null for the fill. */
  pack: string | null;
  /** Diffusion erase/outpaint: fill the hole first (seed: seeds[0]), then denoise from `strength`. */
  prefill: boolean;
  /** What pre-fills: the erase pack's network or the model-free fill; null without prefill. */
  prefillWith: 'inpaint' | 'fill' | null;
  /** The erase pack run (engine inpaint, or prefill with it); null when none runs. */
  inpaintPack: string | null;
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
  /** What the job reports as its steps: denoising steps, the fill's progress steps (FILL_STEPS), or 1 network pass. */
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

/**
 * Whether planning needs the profile of the request's pack (or the default one): every request but
 * an explicit fill, and an explicit inpaint that names no pack (its network is the erase pack).
 */
export function needsPack(request: Pick<RequestParams, 'engine' | 'pack'>): boolean {
  return request.engine !== 'fill' && !(request.engine === 'inpaint' && request.pack === undefined);
}

/** Whether routing may use an erase pack: erase/outpaint on auto or inpaint, or a diffusion prefill. */
export function mayUseInpainter(request: Pick<RequestParams, 'mode' | 'engine' | 'prefill'>): boolean {
  if (request.mode === 'edit') return false;
  const choice = request.engine ?? 'auto';
  return choice === 'auto' || choice === 'inpaint' || (choice === 'diffusion' && request.prefill === true);
}

/** Whether routing needs the pixels' domain judged: erase/outpaint on auto with no domain given. */
export function needsDomain(request: Pick<RequestParams, 'mode' | 'engine' | 'domain'>): boolean {
  return request.mode !== 'edit' && (request.engine ?? 'auto') === 'auto' && (request.domain ?? 'auto') === 'auto';
}

/** The facts a plan needs from an image and its mask. */
export function pixelFacts(image: { width: number; height: number }, mask?: { width: number; height: number; bounds: Rect<CanvasSpace> | null }): PixelFacts {
  return { imageSize: { width: image.width, height: image.height }, ...(mask ? { mask: { width: mask.width, height: mask.height, bounds: mask.bounds } } : {}) };
}

/** The image's domain: the request's word, else the pixels' judgement (when the engine made one). */
function domainOf(request: PlanRequest): EngineRoute['domain'] {
  if (request.domain && request.domain !== 'auto') return { domain: request.domain, from: 'request' };
  const judged = request.pixelDomain;
  return judged ? { domain: judged.domain, from: 'pixels', flat: judged.flat } : undefined;
}

const DOMAIN_WORDS: Record<ImageDomain, string> = { photo: 'a photograph', illustration: 'an illustration' };

/**
 * The engine and why. Asked for: diffusion, fill or inpaint (an erase pack named by `pack` is
 * inpaint too). Auto: edit is always diffusion (only it paints from a prompt); erase and outpaint
 * go to the pack when it does the mode and serves the image's domain, else to the erase pack when
 * one is at hand (and serves the mode), else to the model-free fill.
 */
function chooseEngine(request: PlanRequest, profile: PlanningProfile | null, inpainter: PlanningProfile | null): EngineRoute {
  const { mode } = request;
  const choice = request.engine ?? 'auto';
  const named = profile?.family === 'inpaint' ? profile : null;
  const net = named ?? inpainter;
  if (mode === 'edit' && (choice === 'fill' || choice === 'inpaint' || named)) {
    throw new SdkError('mode_unsupported', choice === 'fill' ? FILL_CANNOT_EDIT : `${named ? `pack ${named.name} is a learned erase pack: it` : 'engine inpaint'} erases and outpaints; it cannot add content from a prompt: use a diffusion pack for edit`);
  }
  const netServes = net !== null && net.modes.includes(mode);
  if (choice === 'fill') return { engine: 'fill', reason: 'engine fill was asked for' };
  if (choice === 'inpaint' || (choice === 'auto' && named)) {
    if (!net) throw new SdkError('mode_unsupported', `engine inpaint needs a learned erase pack and none is installed: run \`byteedit packs pull migan\` (or lama), or name one with inpaintPack (--inpaint-pack FOLDER)`);
    if (!netServes) throw new SdkError('mode_unsupported', `erase pack ${net.name} does not do mode "${mode}" (it does ${net.modes.join(', ')}); use engine fill or another pack`);
    return { engine: 'inpaint', reason: named && choice === 'auto' ? `pack ${net.name} is a learned erase pack` : `engine inpaint was asked for (erase pack ${net.name})` };
  }
  const diffusionPack = profile && profile.family === 'diffusion' ? profile : null;
  const supported = diffusionPack?.modes.includes(mode) ?? false;
  if (choice === 'diffusion' || mode === 'edit') {
    if (!diffusionPack) {
      throw new SdkError('mode_unsupported', mode === 'edit' ? 'mode edit needs a diffusion pack, and none was given (the fill engine erases and outpaints; it cannot add content from a prompt)' : `engine diffusion needs a pack, and none was given; use engine fill (or auto) to ${mode} without a model`);
    }
    if (!supported) {
      const fill = mode === 'edit' ? '' : `, or engine fill (or auto) to ${mode} without a model`;
      throw new SdkError('mode_unsupported', `pack ${diffusionPack.name} does not support mode "${mode}" (it supports ${diffusionPack.modes.join(', ')}); choose another mode or pack${fill}`);
    }
    return { engine: 'diffusion', reason: choice === 'diffusion' ? `engine diffusion was asked for (pack ${diffusionPack.name})` : `mode edit paints from the prompt with pack ${diffusionPack.name}` };
  }
  // auto, erase or outpaint.
  const domain = domainOf(request);
  const instead = netServes && (!domain || net!.domains.includes(domain.domain)) ? { engine: 'inpaint' as const, what: `the learned erase pack ${net!.name}` } : { engine: 'fill' as const, what: 'the content-aware fill' };
  if (!diffusionPack) return { engine: instead.engine, reason: `no diffusion pack was given: ${mode} with ${instead.what}`, ...(domain ? { domain } : {}) };
  if (!supported) return { engine: instead.engine, reason: `pack ${diffusionPack.name} does not do ${mode}: ${instead.what} instead`, ...(domain ? { domain } : {}) };
  if (domain && !diffusionPack.domains.includes(domain.domain)) {
    const judged = domain.from === 'request' ? `the request says the image is ${DOMAIN_WORDS[domain.domain]}` : `the image looks like ${DOMAIN_WORDS[domain.domain]} (flat share ${domain.flat?.toFixed(2)})`;
    return { engine: instead.engine, reason: `${judged} and pack ${diffusionPack.name} serves ${diffusionPack.domains.map((d) => `${d}s`).join(' and ')} only: ${mode} with ${instead.what} (engine diffusion forces the pack)`, domain };
  }
  return { engine: 'diffusion', reason: `pack ${diffusionPack.name} does ${mode}${domain ? ` on ${domain.domain}s` : ''}`, ...(domain ? { domain } : {}) };
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
 * `inpainter`: the erase pack at hand (the request's inpaintPack, or the installed one), if any.
 */
export function planEdit(request: PlanRequest, profile: PlanningProfile | null, limits: PlanLimits = {}, inpainter: PlanningProfile | null = null): EditPlan {
  const { mode } = request;
  if (inpainter && inpainter.family !== 'inpaint') throw new SdkError('pack_invalid', `inpaintPack ${inpainter.name} is a diffusion pack, not a learned erase pack (family inpaint)`);
  const route = chooseEngine(request, profile, inpainter);
  const engine = route.engine;
  const pack = engine === 'diffusion' ? profile : null;
  const net = engine === 'inpaint' ? (profile?.family === 'inpaint' ? profile : inpainter) : null;
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
  const rules = pack ?? net;
  const crop = contextCrop(gen, canvas, rules ? { ...rules.resolution, latentScaleFactor: rules.latentScaleFactor } : FILL_CONTEXT);

  const erase = mode === 'erase';
  const outpaint = mode === 'outpaint';
  const longest = Math.max(gen.width, gen.height);
  const prompt = erase ? (pack?.erase?.prompt ?? '') : (request.prompt ?? '').trim();
  const negative = [erase ? pack?.erase?.negativePrompt : '', request.negativePrompt].filter((s): s is string => !!s && s.trim().length > 0).join(', ');
  const blend = request.blend ?? (request.colorMatch === false ? 'none' : 'color-match');
  const prefill = engine === 'diffusion' && request.prefill === true && mode !== 'edit';
  const prefillNet = prefill && inpainter?.modes.includes(mode) ? inpainter : null;
  // One network pass is deterministic: K candidates would be K copies.
  const candidates = engine === 'inpaint' ? 1 : (request.candidates ?? 1);

  return {
    mode,
    engine,
    route,
    pack: (pack ?? net)?.name ?? null,
    prefill,
    prefillWith: prefill ? (prefillNet ? 'inpaint' : 'fill') : null,
    inpaintPack: (net ?? prefillNet)?.name ?? null,
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
    steps: pack ? (request.steps ?? pack.defaults.steps) : net ? 1 : FILL_STEPS,
    guidance: pack ? (request.guidance ?? pack.defaults.guidance) : 0,
    strength: pack ? (request.strength ?? (prefill ? PREFILL_STRENGTH : 1)) : 1,
    seeds: Array.from({ length: candidates }, (_, i) => (request.seed + i) >>> 0),
    previewEvery: request.previewEvery ?? 1,
    search: request.search ?? 'best-of-n',
    guidedCheckpoints: [0.25, 0.5],
  };
}
