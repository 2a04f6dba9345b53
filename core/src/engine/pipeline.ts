/**
 * Runs one planned edit: canvas and masks -> context crop at model resolution -> text and VAE
 * encoding -> the sampler loop (classifier-free guidance, inpainting conditioning or latent
 * blending) -> decode -> colour match -> composite through the compositing mask. Emits progress
 * and previews; checks for cancellation between denoising steps.
 */
import { SdkError } from '../util/errors';
import { createMask, type Mask, type RgbaImage } from '../image/image';
import { rect, type CanvasSpace, type ModelSpace, type Rect } from '../image/geometry';
import { cropImage, cropMask, featherMask, growMask, padImage } from '../image/ops';
import { resizeImage, resizeMask, resizePlanes } from '../image/resize';
import { colorMatch, compositeThroughMask } from '../image/color';
import { poissonBlend } from '../image/poisson';
import { computeBounds } from '../image/image';
import type { EditPlan } from '../plan/plan';
import { createSampler } from '../samplers/sampler';
import { Rng } from '../samplers/noise';
import type { Candidate } from './types';
import type { OpenPack } from './models';
import { asFloat32, concat, floatTensor, imageToNchwSigned, intTensor, maskToUnit, nchwSignedToImage, timestepTensor } from '../runtime/tensors';
import { now, span, type Profile } from '../util/profile';

export interface PipelineHooks {
  isCancelled(): boolean;
  /** `done` of `of` counts UNet steps over all candidates. */
  onProgress(candidate: number, step: number, total: number, done?: number, of?: number): void;
  /** Called with the x0 estimate's preview when the plan asks for one. */
  onPreview?(candidate: number, step: number, image: RgbaImage): void;
  onCandidate(candidate: Candidate): void;
  /** Scores the composited context crop (generation mask given) before the candidate is emitted. */
  score?(image: RgbaImage, mask: Mask<CanvasSpace>): Promise<Record<string, number>>;
  /** Orders scored candidates best first (the job's rank weights); needed for guided search. */
  rank?(scores: Record<string, number>[]): number[];
  /** Time per phase (bench --profile); model calls are timed as `model <component>`. */
  profile?: Profile;
}

export interface PipelineTimings {
  encodeMs: number;
  denoiseMs: number;
  decodeMs: number;
}


/** Lets queued messages (a cancel) in between steps. */
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** The full-canvas generation mask: the user's mask placed on the canvas, plus the outpaint area, grown. */
export function generationMask(plan: EditPlan, source: { width: number; height: number }, mask: Mask | undefined): Mask<CanvasSpace> {
  const { width, height } = plan.canvas;
  const data = new Uint8Array(width * height);
  const { x: ox, y: oy } = plan.sourceOffset;
  if (plan.protectSource) {
    data.fill(255);
    for (let y = 0; y < source.height; y++) data.fill(0, (y + oy) * width + ox, (y + oy) * width + ox + source.width);
  }
  if (mask) {
    for (let y = 0; y < mask.height; y++) {
      for (let x = 0; x < mask.width; x++) {
        const v = mask.data[y * mask.width + x]!;
        const o = (y + oy) * width + x + ox;
        if (v > data[o]!) data[o] = v;
      }
    }
  }
  const m = createMask<CanvasSpace>(width, height, data);
  return plan.generationGrow > 0 ? growMask(m, plan.generationGrow) : m;
}

/** The compositing mask over the context crop: grown, feathered, never over protected source pixels. */
export function compositingMask(plan: EditPlan, gen: Mask<CanvasSpace>, sourceSize: { width: number; height: number }): Mask<CanvasSpace> {
  // Work on the context crop only (feathering a 64 MP canvas would be wasteful).
  const crop = cropMask<CanvasSpace, CanvasSpace>(gen, plan.context);
  let m = plan.compositeGrow > 0 ? growMask(crop, plan.compositeGrow) : crop;
  m = plan.compositeFeather > 0 ? featherMask(m, plan.compositeFeather) : m;
  // Keep a zero border so that feathering never ends in a hard edge at the crop boundary,
  // except where the crop touches the canvas edge (nothing lies beyond it).
  const { width: w, height: h } = m;
  const data = new Uint8Array(m.data);
  const c = plan.context;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const atEdge = (x === 0 && c.x > 0) || (y === 0 && c.y > 0) || (x === w - 1 && c.x + w < plan.canvas.width) || (y === h - 1 && c.y + h < plan.canvas.height);
      if (atEdge) data[y * w + x] = 0;
    }
  }
  if (plan.protectSource) {
    // Outpaint: source pixels the user did not mask are never touched.
    const { x: ox, y: oy } = plan.sourceOffset;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const gx = c.x + x;
        const gy = c.y + y;
        const inSource = gx >= ox && gy >= oy && gx < ox + sourceSize.width && gy < oy + sourceSize.height;
        if (inSource && gen.data[gy * plan.canvas.width + gx] === 0) data[y * w + x] = 0;
      }
    }
  }
  return createMask<CanvasSpace>(w, h, data);
}

function previewFromLatents(x0: Float32Array, channels: number, lw: number, lh: number, matrix: number[][]): RgbaImage {
  const n = lw * lh;
  const out = new Uint8ClampedArray(n * 4);
  const bias = matrix[channels]!;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      let v = bias[c]!;
      for (let k = 0; k < channels; k++) v += x0[k * n + i]! * matrix[k]![c]!;
      out[i * 4 + c] = Math.round((v + 1) * 127.5);
    }
    out[i * 4 + 3] = 255;
  }
  return { width: lw, height: lh, data: out };
}

export async function runPipeline(
  plan: EditPlan,
  source: RgbaImage,
  userMask: Mask | undefined,
  models: OpenPack,
  hooks: PipelineHooks,
  /** A pre-filled canvas (PatchMatch) to start img2img from instead of the source. */
  prefilled?: RgbaImage,
): Promise<PipelineTimings> {
  const m = models.pack.manifest;
  const C = m.latent.channels;
  const sf = m.latent.scalingFactor;
  const { width: mw, height: mh } = plan.model;
  const { width: lw, height: lh } = plan.latent;
  const timings: PipelineTimings = { encodeMs: 0, denoiseMs: 0, decodeMs: 0 };
  const profile = hooks.profile;
  const model = <T>(name: string, fn: () => Promise<T>): Promise<T> => span(profile, `model ${name}`, fn);
  const checkCancel = (): void => {
    if (hooks.isCancelled()) throw new SdkError('cancelled', 'the job was cancelled');
  };

  // --- Canvas, masks, context crop --------------------------------------------------------
  const t0 = now();
  const canvas = plan.protectSource || plan.canvas.width !== source.width ? padImage(source, plan.canvas.width, plan.canvas.height, plan.sourceOffset.x, plan.sourceOffset.y) : source;
  const gen = generationMask(plan, source, userMask);
  const comp = compositingMask(plan, gen, source);
  const crop = cropImage(canvas, plan.context);
  const modelImage = resizeImage(crop, mw, mh);
  const genCrop = cropMask<CanvasSpace, CanvasSpace>(gen, plan.context);
  const modelMask = resizeMask<ModelSpace>(genCrop, mw, mh);
  const maskBin = maskToUnit(modelMask, 0.5);
  const latentMask = resizePlanes(maskToUnit(modelMask), mw, mh, 1, lw, lh).map((v) => (v > 0.1 ? 1 : 0));
  profile?.add('prepare: canvas, masks, crop, resize to the model', now() - t0);

  // --- Text ------------------------------------------------------------------------------
  const te = models.textEncoder;
  const encodeText = async (text: string): Promise<{ data: Float32Array; dims: readonly number[] }> => {
    const ids = models.pack.tokenizer.encode(text);
    const out = await model('text_encoder', () => te.session.run({ [te.layout.input]: intTensor(te.layout.inputType, ids, [1, ids.length]) }));
    const t = out[te.layout.output]!;
    return { data: asFloat32(t), dims: t.dims };
  };
  const useCfg = plan.guidance > 1;
  const cond = await encodeText(plan.prompt);
  const uncond = useCfg ? await encodeText(plan.negativePrompt) : cond;
  checkCancel();

  // --- VAE encode ------------------------------------------------------------------------
  const ve = models.vaeEncoder;
  const encodeLatents = async (pixels: Float32Array): Promise<Float32Array> => {
    const out = await model('vae_encoder', () => ve.session.run({ [ve.layout.input]: floatTensor(ve.layout.ioType, pixels, [1, 3, mh, mw]) }));
    const t = out[ve.layout.output]!;
    const all = asFloat32(t);
    const [, ch, h, w] = t.dims as number[];
    if (h !== lh || w !== lw || (ch !== C && ch !== 2 * C)) {
      throw new SdkError('model_layout_unsupported', `vae_encoder returned ${t.dims.join('x')}; expected ${C} (or ${2 * C}) x ${lh} x ${lw} for a ${mw}x${mh} input`);
    }
    // latent_parameters = mean || logvar: use the mean (the mode), deterministic.
    const mean = all.subarray(0, C * lh * lw);
    return mean.map((v) => v * sf);
  };
  const inpaintUnet = models.unet.layout.inChannels === 2 * C + 1;
  const needInit = !inpaintUnet || plan.strength < 1 || prefilled !== undefined;
  const maskedLatents = inpaintUnet ? await encodeLatents(imageToNchwSigned(modelImage, maskBin)) : null;
  const initImage = prefilled ? resizeImage(cropImage(prefilled, plan.context), mw, mh) : modelImage;
  const imageLatents = needInit ? await encodeLatents(imageToNchwSigned(initImage)) : null;
  timings.encodeMs = now() - t0;
  checkCancel();

  // --- Denoise, per candidate ------------------------------------------------------------
  const un = models.unet;
  const vd = models.vaeDecoder;
  const latentSize = C * lh * lw;
  const decode = async (latents: Float32Array): Promise<RgbaImage> => {
    const scaled = latents.map((v) => v / sf);
    const out = await model('vae_decoder', () => vd.session.run({ [vd.layout.input]: floatTensor(vd.layout.ioType, scaled, [1, C, lh, lw]) }));
    const t = out[vd.layout.output]!;
    const [, , h, w] = t.dims as number[];
    return nchwSignedToImage(asFloat32(t), w!, h!);
  };
  const runUnet = async (x: Float32Array, t: number): Promise<Float32Array> => {
    const parts = inpaintUnet ? [x, latentMask, maskedLatents!] : [x];
    const single = concat(...parts);
    const ch = inpaintUnet ? 2 * C + 1 : C;
    const feed = (batch: number, sample: Float32Array, ctx: Float32Array, ctxDims: readonly number[]) => ({
      [un.layout.sample]: floatTensor(un.layout.ioType, sample, [batch, ch, lh, lw]),
      [un.layout.timestep]: timestepTensor(un.layout.timestepType, un.layout.timestepShape, t, batch),
      [un.layout.context]: floatTensor(un.layout.ioType, ctx, [batch, ...ctxDims.slice(1)]),
    });
    if (!useCfg) {
      const out = await model('unet', () => un.session.run(feed(1, single, cond.data, cond.dims)));
      return asFloat32(out[un.layout.output]!);
    }
    let u: Float32Array;
    let c: Float32Array;
    if (un.batched) {
      const batch = feed(2, concat(single, single), concat(uncond.data, cond.data), cond.dims);
      const out = asFloat32((await model('unet', () => un.session.run(batch)))[un.layout.output]!);
      u = out.subarray(0, latentSize);
      c = out.subarray(latentSize, 2 * latentSize);
    } else {
      u = asFloat32((await model('unet', () => un.session.run(feed(1, single, uncond.data, uncond.dims))))[un.layout.output]!);
      c = asFloat32((await model('unet', () => un.session.run(feed(1, single, cond.data, cond.dims))))[un.layout.output]!);
    }
    const g = plan.guidance;
    const out = new Float32Array(latentSize);
    for (let k = 0; k < latentSize; k++) out[k] = u[k]! + g * (c[k]! - u[k]!);
    return out;
  };

  const compRegion = comp.bounds ?? rect<CanvasSpace>(0, 0, comp.width, comp.height);
  const total = createSampler({ scheduler: plan.scheduler, steps: plan.steps, schedule: m.noiseSchedule, prediction: m.prediction, strength: plan.strength }).timesteps.length;
  const K = plan.seeds.length;
  let done = 0;

  interface Particle {
    index: number;
    seed: number;
    rng: Rng;
    noise: Float32Array;
    sampler: ReturnType<typeof createSampler>;
    x: Float32Array;
    x0: Float32Array | null;
  }
  const makeParticle = (index: number, seed: number, start?: { x: Float32Array; step: number }): Particle => {
    const rng = new Rng(seed);
    const noise = rng.fillNormal(new Float32Array(latentSize));
    const sampler = createSampler({ scheduler: plan.scheduler, steps: plan.steps, schedule: m.noiseSchedule, prediction: m.prediction, strength: plan.strength });
    const x = start ? sampler.noiseTo(start.x, noise, start.step) : sampler.initial(noise, imageLatents ?? undefined);
    return { index, seed, rng, noise, sampler, x, x0: null };
  };
  const advance = async (p: Particle, i: number): Promise<void> => {
    checkCancel();
    const td = now();
    const out = await runUnet(p.sampler.modelInput(p.x, i), p.sampler.timesteps[i]!);
    const res = p.sampler.step(p.x, i, out, p.rng);
    p.x = res.x;
    p.x0 = res.x0;
    if (!inpaintUnet && imageLatents) {
      // RePaint-style latent blending: keep the known region on the noise level of the next step.
      const known = p.sampler.noiseTo(imageLatents, p.noise, i + 1);
      for (let k = 0; k < latentSize; k++) {
        const mk = latentMask[k % (lh * lw)]!;
        p.x[k] = mk * p.x[k]! + (1 - mk) * known[k]!;
      }
    }
    const stepMs = now() - td;
    timings.denoiseMs += stepMs;
    profile?.add('step (UNet calls + host work)', stepMs);
    hooks.onProgress(p.index, i + 1, total, ++done, K * total);
    if (hooks.onPreview && plan.previewEvery > 0 && (i + 1) % plan.previewEvery === 0 && i + 1 < total) {
      const preview = m.latent.previewRgb ? previewFromLatents(res.x0.map((v) => v / sf), C, lw, lh, m.latent.previewRgb) : await decode(res.x0);
      hooks.onPreview(p.index, i + 1, preview);
    }
    await yieldToEventLoop();
  };
  /** Decoded latents composited into the context crop (what rewards and users see). */
  const composite = async (latents: Float32Array, match: boolean): Promise<RgbaImage> => {
    const decoded = await decode(latents);
    const generated = await span(profile, 'resize back to the context crop', () => resizeImage(decoded, plan.context.width, plan.context.height));
    const matched = !match || plan.blend === 'none' ? generated : await span(profile, `blend (${plan.blend})`, () => (plan.blend === 'poisson' ? poissonBlend(generated, crop, comp) : colorMatch(generated, crop, comp, plan.colorRing)));
    return span(profile, 'composite through the mask', () => compositeThroughMask(crop, matched, comp));
  };
  const finish = async (p: Particle): Promise<void> => {
    checkCancel();
    const tdec = now();
    const composited = await composite(p.x, true);
    const region: Rect<CanvasSpace> = rect<CanvasSpace>(plan.context.x + compRegion.x, plan.context.y + compRegion.y, compRegion.width, compRegion.height);
    const patch = cropImage(composited, compRegion);
    const patchMask = cropMask<CanvasSpace, CanvasSpace>(comp, compRegion);
    timings.decodeMs += now() - tdec;
    const scores = hooks.score ? await hooks.score(composited, genCrop) : undefined;
    hooks.onCandidate({ index: p.index, seed: p.seed, region, patch, mask: { ...patchMask, bounds: computeBounds(patchMask.width, patchMask.height, patchMask.data) }, scores });
  };

  if (plan.search !== 'guided' || K < 2 || !hooks.score || !hooks.rank) {
    // Best-of-N: independent samples, one after another (candidates arrive as they finish).
    for (let ci = 0; ci < K; ci++) {
      const p = makeParticle(ci, plan.seeds[ci]!);
      for (let i = 0; i < total; i++) await advance(p, i);
      await finish(p);
    }
    return timings;
  }

  // Reward-guided search at the same UNet budget (K particles x steps): the particles advance in
  // lockstep; at each checkpoint their x0 estimates are decoded and scored, the better half is
  // kept and the worse half restarts from copies of the better ones, re-noised to the current
  // level with fresh noise (a light Feynman-Kac / beam resampling).
  const particles = plan.seeds.map((seed, ci) => makeParticle(ci, seed));
  const checkpoints = new Set(plan.guidedCheckpoints.map((f) => Math.max(1, Math.min(total - 1, Math.round(f * total)))));
  let branch = 0;
  for (let i = 0; i < total; i++) {
    for (const p of particles) await advance(p, i);
    if (!checkpoints.has(i + 1)) continue;
    const scores: Record<string, number>[] = [];
    for (const p of particles) scores.push(await hooks.score(await composite(p.x0!, false), genCrop));
    const order = hooks.rank(scores);
    const keep = order.slice(0, Math.ceil(K / 2));
    const drop = order.slice(Math.ceil(K / 2));
    drop.forEach((slot, j) => {
      const parent = particles[keep[j % keep.length]!]!;
      const seed = (plan.seeds[0]! + K + branch++) >>> 0;
      particles[slot] = { ...makeParticle(slot, seed, { x: parent.x0!, step: i + 1 }), index: slot };
    });
  }
  for (const p of particles) await finish(p);
  return timings;
}

