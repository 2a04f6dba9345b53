/**
 * The plan's geometry, pure: where the canvas, the source and the region to generate are (outpaint
 * grows the canvas), and which crop of the canvas goes through the model at which size.
 *
 * Context rules: pad the generation bounds by half their longer side (16 px .. native), grow to at
 * least native around them, align to the latent factor, clamp to the canvas; then scale so the
 * crop has about native^2 pixels (long side <= max), with model sides multiples of `multiple`.
 */
import { SdkError } from '../protocol/errors';
import type { EditMode, Margins } from '../protocol/unions';
import { rect, size, type CanvasSpace, type LatentSpace, type ModelSpace, type Rect, type Size } from '../image/geometry';

/** The resolution rules the context crop is sized by (a pack's, or the fill's). */
export interface ContextRules {
  native: number;
  multiple: number;
  /** Upper bound on a model-input side (default 2 x native). */
  max?: number;
  latentScaleFactor: number;
}

export interface CanvasLayout {
  canvas: Size<CanvasSpace>;
  /** Where the source image's (0,0) lands on the canvas. */
  sourceOffset: { x: number; y: number };
  /** Bounds (canvas space) of what must be generated. */
  generationBounds: Rect<CanvasSpace>;
}

export interface ContextCrop {
  context: Rect<CanvasSpace>;
  model: Size<ModelSpace>;
  latent: Size<LatentSpace>;
}

/**
 * The canvas and the region to generate: the mask's bounds, or for outpaint the new area (plus
 * the mask's bounds when one was given). `maskBounds` is undefined when no mask was given.
 */
export function layoutCanvas(mode: EditMode, imageSize: { width: number; height: number }, maskBounds: Rect<CanvasSpace> | null | undefined, expand: Margins | undefined): CanvasLayout {
  const { width: iw, height: ih } = imageSize;
  if (mode !== 'outpaint') {
    if (maskBounds === undefined) throw new SdkError('invalid_argument', `mode "${mode}" needs a mask (white where to ${mode})`);
    if (maskBounds === null) throw new SdkError('mask_empty', 'the mask is empty (all black): paint the area to change in white (255)');
    return { canvas: size<CanvasSpace>(iw, ih), sourceOffset: { x: 0, y: 0 }, generationBounds: maskBounds };
  }
  const e = expand ?? { left: 0, top: 0, right: 0, bottom: 0 };
  if (e.left + e.top + e.right + e.bottom === 0) {
    throw new SdkError('invalid_argument', 'outpaint needs at least one non-zero margin: --expand LEFT,TOP,RIGHT,BOTTOM (pixels)');
  }
  const canvasW = iw + e.left + e.right;
  const canvasH = ih + e.top + e.bottom;
  const offset = { x: e.left, y: e.top };
  // The new area's bounds (canvas minus the source rectangle); a user mask is added to it.
  const hor = e.left > 0 || e.right > 0;
  const ver = e.top > 0 || e.bottom > 0;
  const x0 = e.left > 0 || ver ? 0 : e.left + iw;
  const x1 = e.right > 0 || ver ? canvasW : e.left;
  const y0 = e.top > 0 || hor ? 0 : e.top + ih;
  const y1 = e.bottom > 0 || hor ? canvasH : e.top;
  const area = rect<CanvasSpace>(x0, y0, x1 - x0, y1 - y0);
  let gen = area;
  if (maskBounds) {
    const g = rect<CanvasSpace>(maskBounds.x + offset.x, maskBounds.y + offset.y, maskBounds.width, maskBounds.height);
    const gx0 = Math.min(area.x, g.x);
    const gy0 = Math.min(area.y, g.y);
    gen = rect<CanvasSpace>(gx0, gy0, Math.max(area.x + area.width, g.x + g.width) - gx0, Math.max(area.y + area.height, g.y + g.height) - gy0);
  }
  return { canvas: size<CanvasSpace>(canvasW, canvasH), sourceOffset: offset, generationBounds: gen };
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

/** The crop around `gen` that goes through the model, and the model and latent sizes it is scaled to. */
export function contextCrop(gen: Rect<CanvasSpace>, canvas: Size<CanvasSpace>, rules: ContextRules): ContextCrop {
  const { native, multiple, latentScaleFactor: factor } = rules;
  const maxSide = rules.max ?? 2 * native;
  const longest = Math.max(gen.width, gen.height);
  const pad = Math.min(native, Math.max(16, Math.round(longest / 2)));
  let cx = gen.x - pad;
  let cy = gen.y - pad;
  let cw = gen.width + 2 * pad;
  let ch = gen.height + 2 * pad;
  // Clamp to the canvas, then grow to native around the mask and align to the latent factor.
  const x0 = Math.max(0, cx);
  const y0 = Math.max(0, cy);
  cw = Math.min(canvas.width, cx + cw) - x0;
  ch = Math.min(canvas.height, cy + ch) - y0;
  cx = x0;
  cy = y0;
  [cx, cw] = growSpan(cx, cw, alignUp(Math.max(cw, native), factor), canvas.width);
  [cy, ch] = growSpan(cy, ch, alignUp(Math.max(ch, native), factor), canvas.height);

  let scale = Math.sqrt((native * native) / (cw * ch));
  scale = Math.min(scale, maxSide / Math.max(cw, ch), 4);
  const mw = Math.max(multiple, Math.round((cw * scale) / multiple) * multiple);
  const mh = Math.max(multiple, Math.round((ch * scale) / multiple) * multiple);
  return { context: rect<CanvasSpace>(cx, cy, cw, ch), model: size<ModelSpace>(mw, mh), latent: size<LatentSpace>(mw / factor, mh / factor) };
}
