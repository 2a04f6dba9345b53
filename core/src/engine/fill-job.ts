/**
 * The model-free engine: PatchMatch content-aware fill (core/src/fill) run through the same plan,
 * events and candidates as diffusion. The plan decides when it runs (`engine: 'fill'`, or auto for
 * an erase/outpaint the pack cannot do) and when it pre-fills a diffusion erase/outpaint.
 */
import { SdkError } from '../util/errors';
import { patchMatchFill } from '../fill/index';
import { computeBounds, createMask, type Mask, type RgbaImage } from '../image/image';
import { rect, type CanvasSpace } from '../image/geometry';
import { cropImage, cropMask, padImage } from '../image/ops';
import { compositeThroughMask } from '../image/color';
import type { EditPlan } from '../plan/plan';
import { compositingMask, generationMask, type PipelineHooks, type PipelineTimings } from './pipeline';

/** The canvas (source padded for outpaint) with the generation mask filled by PatchMatch. */
export async function prefillCanvas(plan: EditPlan, source: RgbaImage, userMask: Mask | undefined, seed: number, hooks: Pick<PipelineHooks, 'isCancelled'> & { onProgress?(done: number, total: number): void }): Promise<RgbaImage> {
  const canvas = plan.canvas.width !== source.width || plan.canvas.height !== source.height ? padImage(source, plan.canvas.width, plan.canvas.height, plan.sourceOffset.x, plan.sourceOffset.y) : source;
  const gen = generationMask(plan, source, userMask);
  // Soft edges would blend the fill with whatever is under them; for a fill the hole is binary.
  const hard = createMask(gen.width, gen.height, gen.data.map((v) => (v > 0 ? 255 : 0)));
  return patchMatchFill(canvas, hard, { seed }, { onProgress: hooks.onProgress, isCancelled: hooks.isCancelled });
}

export async function runFill(plan: EditPlan, source: RgbaImage, userMask: Mask | undefined, hooks: PipelineHooks): Promise<PipelineTimings> {
  if (plan.engine !== 'fill') throw new SdkError('internal', `runFill was handed a ${plan.engine} plan`);
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
    let lastStep = -1;
    const filled = await prefillCanvas(plan, source, userMask, seed, {
      isCancelled: hooks.isCancelled,
      // Report the plan's steps (whole percents): the fill calls back far more often than anyone wants events.
      onProgress: (done, total) => {
        const step = Math.min(plan.steps, Math.floor((plan.steps * done) / Math.max(1, total)));
        if (step !== lastStep) {
          lastStep = step;
          hooks.onProgress(ci, step, plan.steps);
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
