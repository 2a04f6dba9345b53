/**
 * Coordinate spaces of the panel, branded so they cannot be mixed: document pixels (Photoshop's
 * canvas) and context-crop pixels (the image sent to the bridge, whose output canvas a candidate's
 * region refers to).
 */
declare const space: unique symbol;
export type DocSpace = 'document';
export type ContextSpace = 'context';

/** A rectangle with exclusive right/bottom, in the given space. */
export interface Box<S extends string> {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly [space]?: S;
}

export function box<S extends string>(left: number, top: number, right: number, bottom: number): Box<S> {
  return { left, top, right, bottom } as Box<S>;
}

export const widthOf = (b: Box<string>): number => b.right - b.left;
export const heightOf = (b: Box<string>): number => b.bottom - b.top;
export const areaOf = (b: Box<string>): number => Math.max(0, widthOf(b)) * Math.max(0, heightOf(b));

/** Options for the context region around a selection. */
export interface ContextOptions {
  /** Fraction of the selection's longer side added on each side (default 0.5). */
  padFraction?: number;
  minPad?: number;
  maxPad?: number;
  /** Keep the context under this many pixels by shrinking the padding (default 4 MP). */
  maxPixels?: number;
}

/**
 * The document region sent to the bridge: the selection bounds grown by a padding that scales
 * with the selection (the model needs surroundings to match), clamped to the document, and
 * shrunk while it is over `maxPixels`. The selection itself is never cut.
 */
export function contextRegion(selection: Box<DocSpace>, docWidth: number, docHeight: number, options: ContextOptions = {}): Box<DocSpace> {
  const padFraction = options.padFraction ?? 0.5;
  const minPad = options.minPad ?? 32;
  const maxPad = options.maxPad ?? 512;
  const maxPixels = options.maxPixels ?? 4_000_000;
  let pad = Math.round(Math.min(maxPad, Math.max(minPad, padFraction * Math.max(widthOf(selection), heightOf(selection)))));
  for (;;) {
    const r = box<DocSpace>(Math.max(0, selection.left - pad), Math.max(0, selection.top - pad), Math.min(docWidth, selection.right + pad), Math.min(docHeight, selection.bottom + pad));
    if (pad === 0 || areaOf(r) <= maxPixels) return r;
    pad = Math.floor(pad / 2);
  }
}

/** Bounding box (exclusive) of the non-zero bytes of a one-channel buffer; null when all zero. */
export function nonZeroBounds(width: number, height: number, data: Uint8Array): { left: number; top: number; right: number; bottom: number } | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x] !== 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { left: x0, top: y0, right: x1 + 1, bottom: y1 + 1 };
}
