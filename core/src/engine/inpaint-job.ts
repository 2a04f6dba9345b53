/**
 * The learned erase engine: one pass of an inpainting network (an inpaint pack: MI-GAN, LaMa) on
 * the plan's context crop, resized to the network's size when its input is fixed, and composited
 * back through the compositing mask, so every pixel outside it is the source's, byte for byte. The
 * same network pre-fills a diffusion erase/outpaint when the plan says so (prefillWith 'inpaint').
 */
import { SdkError } from '../util/errors';
import { computeBounds, createMask, type Mask, type RgbaImage } from '../image/image';
import { rect, type CanvasSpace, type Size, type Space } from '../image/geometry';
import { cropImage, cropMask, padImage, pasteImage } from '../image/ops';
import { resizeImage, resizeMask } from '../image/resize';
import { compositeThroughMask } from '../image/color';
import { span } from '../util/profile';
import { detectInpaint, type InpaintLayout, type PixelType } from '../packs/inpaint-layout';
import type { LoadedInpaintPack } from '../packs/load';
import type { DeviceFallback, DeviceName, ModelSession, Runtime, TensorData } from '../runtime/types';
import { float32ToHalfArray, halfToFloat32Array } from '../util/float16';
import type { EditPlan } from '../plan/plan';
import { compositingMask, generationMask, type PipelineHooks, type PipelineTimings } from './pipeline';

export interface OpenInpainter {
  pack: LoadedInpaintPack;
  device: string;
  fallbacks: readonly DeviceFallback[];
  session: ModelSession;
  layout: InpaintLayout;
  release(): Promise<void>;
}

export async function openInpainter(pack: LoadedInpaintPack, runtime: Runtime, device: DeviceName): Promise<OpenInpainter> {
  const session = await runtime.createSession(await pack.source.modelSource(pack.manifest.components.inpaint.file), device);
  try {
    const layout = detectInpaint(session);
    return { pack, device: session.device, fallbacks: session.fallbacks, session, layout, release: () => session.release() };
  } catch (err) {
    await session.release();
    throw err;
  }
}

function tensor(type: PixelType, values: Float32Array, dims: number[]): TensorData {
  if (type === 'uint8') return { type, dims, data: Uint8Array.from(values, (v) => Math.max(0, Math.min(255, Math.round(v)))) };
  if (type === 'float16') return { type, dims, data: float32ToHalfArray(values) };
  return { type, dims, data: values };
}

function floats(t: TensorData): Float32Array {
  if (t.type === 'float16') return halfToFloat32Array(t.data as Uint16Array);
  if (t.type === 'float32') return t.data as Float32Array;
  return Float32Array.from(t.data as Uint8Array);
}

/** The network's input size for a crop of `crop` px: its fixed size, else the plan's model size. */
export function inpaintSize(net: OpenInpainter, model: Size): { width: number; height: number } {
  return net.layout.fixed ?? { width: model.width, height: model.height };
}

/**
 * Runs the network once on `crop` with `hole` (crop-sized, > 0 = fill) at `size`, and returns the
 * result at the crop's size (opaque). Pixels outside the hole are whatever the network gave back:
 * callers composite.
 */
export async function inpaintCrop(net: OpenInpainter, crop: RgbaImage, hole: Mask<Space>, size: { width: number; height: number }): Promise<RgbaImage> {
  const { layout } = net;
  const io = net.pack.manifest.io;
  const { width: w, height: h } = size;
  const n = w * h;
  const img = crop.width === w && crop.height === h ? crop : resizeImage(crop, w, h);
  const m = hole.width === w && hole.height === h ? hole : resizeMask(hole, w, h);
  const [lo, hi] = layout.imageType === 'uint8' ? [0, 255] : io.inputRange;
  const pixels = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) pixels[c * n + i] = lo + (img.data[i * 4 + c]! / 255) * (hi - lo);
  }
  const high = layout.maskType === 'uint8' ? 255 : 1;
  const maskValues = new Float32Array(n);
  // Any coverage is hole: a half-covered pixel left as "known" would carry the object's colour in.
  for (let i = 0; i < n; i++) {
    const isHole = m.data[i]! > 0;
    maskValues[i] = (io.mask === 'hole') === isHole ? high : 0;
  }
  const out = await net.session.run({ [layout.image]: tensor(layout.imageType, pixels, [1, 3, h, w]), [layout.mask]: tensor(layout.maskType, maskValues, [1, 1, h, w]) });
  const t = out[layout.output];
  if (!t) throw new SdkError('model_layout_unsupported', `inpaint: the model returned no "${layout.output}"`);
  const [oh, ow] = [t.dims[2], t.dims[3]];
  if (oh !== h || ow !== w || t.dims[1] !== 3) throw new SdkError('model_layout_unsupported', `inpaint: the output is [${t.dims.join(', ')}], expected [1, 3, ${h}, ${w}]`);
  const [olo, ohi] = layout.outputType === 'uint8' ? [0, 255] : (io.outputRange ?? io.inputRange);
  const v = floats(t);
  const rgba = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.round(((v[c * n + i]! - olo) / (ohi - olo)) * 255);
    rgba[i * 4 + 3] = 255;
  }
  const result: RgbaImage = { width: w, height: h, data: rgba };
  return w === crop.width && h === crop.height ? result : resizeImage(result, crop.width, crop.height);
}

function canvasOf(plan: EditPlan, source: RgbaImage): RgbaImage {
  return plan.canvas.width !== source.width || plan.canvas.height !== source.height ? padImage(source, plan.canvas.width, plan.canvas.height, plan.sourceOffset.x, plan.sourceOffset.y) : source;
}

/** The canvas with the generation mask's pixels (hard) replaced by the network's fill of the plan's context crop. */
export async function inpaintPrefill(plan: EditPlan, source: RgbaImage, userMask: Mask | undefined, net: OpenInpainter): Promise<RgbaImage> {
  const canvas = canvasOf(plan, source);
  const gen = generationMask(plan, source, userMask);
  const crop = cropImage(canvas, plan.context);
  const hole = cropMask<CanvasSpace, Space>(gen, plan.context);
  const filled = await inpaintCrop(net, crop, hole, inpaintSize(net, plan.model));
  const hard = createMask<Space>(hole.width, hole.height, hole.data.map((v) => (v > 0 ? 255 : 0)));
  const out: RgbaImage = { width: canvas.width, height: canvas.height, data: new Uint8ClampedArray(canvas.data) };
  pasteImage(out, compositeThroughMask(crop, filled, hard), plan.context.x, plan.context.y);
  return out;
}

export async function runInpaint(plan: EditPlan, source: RgbaImage, userMask: Mask | undefined, net: OpenInpainter, hooks: PipelineHooks): Promise<PipelineTimings> {
  if (plan.engine !== 'inpaint') throw new SdkError('internal', `runInpaint was handed a ${plan.engine} plan`);
  const timings: PipelineTimings = { encodeMs: 0, denoiseMs: 0, decodeMs: 0 };
  const canvas = canvasOf(plan, source);
  const gen = generationMask(plan, source, userMask);
  const comp = compositingMask(plan, gen, source);
  const crop = cropImage(canvas, plan.context);
  const genCrop = cropMask<CanvasSpace, CanvasSpace>(gen, plan.context);
  const region = comp.bounds ?? rect<CanvasSpace>(0, 0, comp.width, comp.height);
  hooks.onProgress(0, 0, plan.steps);
  if (hooks.isCancelled()) throw new SdkError('cancelled', 'the job was cancelled');
  const t = Date.now();
  // No colour match: like the fill, the network already matches what surrounds the hole.
  const generated = await span(hooks.profile, 'model inpaint', () => inpaintCrop(net, crop, genCrop, inpaintSize(net, plan.model)));
  timings.denoiseMs += Date.now() - t;
  hooks.onProgress(0, plan.steps, plan.steps);
  const composited = compositeThroughMask(crop, generated, comp);
  const patchMask = cropMask<CanvasSpace, CanvasSpace>(comp, region);
  const scores = hooks.score ? await hooks.score(composited, genCrop) : undefined;
  hooks.onCandidate({
    index: 0,
    seed: plan.seeds[0]!,
    region: rect<CanvasSpace>(plan.context.x + region.x, plan.context.y + region.y, region.width, region.height),
    patch: cropImage(composited, region),
    mask: { ...patchMask, bounds: computeBounds(patchMask.width, patchMask.height, patchMask.data) },
    scores,
  });
  return timings;
}
