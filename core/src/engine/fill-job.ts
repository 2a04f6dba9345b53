/**
 * The model-free engine: PatchMatch content-aware fill (core/src/fill) run through the same plan,
 * events and candidates as diffusion. Used for `engine: 'fill'`, automatically for erase/outpaint
 * when the pack does not support the mode, and as the pre-fill of diffusion erase/outpaint.
 */
import { SdkError } from '../util/errors';
import { patchMatchFill } from '../fill/index';
import { computeBounds, createMask, type Mask, type RgbaImage } from '../image/image';
import { rect, type CanvasSpace } from '../image/geometry';
import { cropImage, cropMask, padImage } from '../image/ops';
import { compositeThroughMask } from '../image/color';
import type { PackManifest } from '../packs/manifest';
import type { EditPlan } from '../plan/plan';
import { compositingMask, generationMask, type PipelineHooks, type PipelineTimings } from './pipeline';

/**
 * What planEdit needs to know about "the fill engine" (it has no models): it erases and outpaints
 * at full resolution, so the context rules only decide the region handed back.
 */
export const FILL_ENGINE_MANIFEST: PackManifest = Object.freeze({
  schema: 'byteedit.pack/1',
  name: 'patchmatch',
  version: '1',
  kind: 'trained',
  components: {
    tokenizer: { type: 'word', vocab: '-', maxLength: 2 },
    text_encoder: { file: '-' },
    unet: { file: '-' },
    vae_encoder: { file: '-' },
    vae_decoder: { file: '-' },
  },
  latent: { channels: 1, scaleFactor: 1, scalingFactor: 1 },
  resolution: { native: 256, multiple: 1, max: 1 << 14 },
  prediction: 'epsilon',
  noiseSchedule: { betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 },
  defaults: { scheduler: 'ddim', steps: 1, guidance: 0 },
  modes: ['erase', 'outpaint'],
}) as PackManifest;

/** The canvas (source padded for outpaint) with the generation mask filled by PatchMatch. */
export async function prefillCanvas(plan: EditPlan, source: RgbaImage, userMask: Mask | undefined, seed: number, hooks: Pick<PipelineHooks, 'isCancelled'> & { onProgress?(done: number, total: number): void }): Promise<RgbaImage> {
  const canvas = plan.canvas.width !== source.width || plan.canvas.height !== source.height ? padImage(source, plan.canvas.width, plan.canvas.height, plan.sourceOffset.x, plan.sourceOffset.y) : source;
  const gen = generationMask(plan, source, userMask);
  // Soft edges would blend the fill with whatever is under them; for a fill the hole is binary.
  const hard = createMask(gen.width, gen.height, gen.data.map((v) => (v > 0 ? 255 : 0)));
  return patchMatchFill(canvas, hard, { seed }, { onProgress: hooks.onProgress, isCancelled: hooks.isCancelled });
}

export async function runFill(plan: EditPlan, source: RgbaImage, userMask: Mask | undefined, hooks: PipelineHooks): Promise<PipelineTimings> {
  if (plan.mode === 'edit') {
    throw new SdkError('mode_unsupported', 'the fill engine erases and outpaints; it cannot add content from a prompt: use a diffusion pack for edit');
  }
  const timings: PipelineTimings = { encodeMs: 0, denoiseMs: 0, decodeMs: 0 };
  const canvas = plan.canvas.width !== source.width || plan.canvas.height !== source.height ? padImage(source, plan.canvas.width, plan.canvas.height, plan.sourceOffset.x, plan.sourceOffset.y) : source;
  const gen = generationMask(plan, source, userMask);
  const comp = compositingMask(plan, gen, source);
  const crop = cropImage(canvas, plan.context);
  const genCrop = cropMask<CanvasSpace, CanvasSpace>(gen, plan.context);
  const region = comp.bounds ?? rect<CanvasSpace>(0, 0, comp.width, comp.height);
  for (let ci = 0; ci < plan.seeds.length; ci++) {
    const seed = plan.seeds[ci]!;
    const t = Date.now();
    let lastPct = -1;
    const filled = await prefillCanvas(plan, source, userMask, seed, {
      isCancelled: hooks.isCancelled,
      // Report whole percents: the fill calls back far more often than anyone wants events.
      onProgress: (done, total) => {
        const pct = Math.min(100, Math.floor((100 * done) / Math.max(1, total)));
        if (pct !== lastPct) {
          lastPct = pct;
          hooks.onProgress(ci, pct, 100);
        }
      },
    });
    timings.denoiseMs += Date.now() - t;
    const composited = compositeThroughMask(crop, cropImage(filled, plan.context), comp);
    const patchMask = cropMask<CanvasSpace, CanvasSpace>(comp, region);
    const scores = hooks.score ? await hooks.score(composited, genCrop) : undefined;
    hooks.onCandidate({
      index: ci,
      seed,
      region: rect<CanvasSpace>(plan.context.x + region.x, plan.context.y + region.y, region.width, region.height),
      patch: cropImage(composited, region),
      mask: { ...patchMask, bounds: computeBounds(patchMask.width, patchMask.height, patchMask.data) },
      scores,
    });
  }
  return timings;
}
