/**
 * Coordinate spaces of the panel, branded so they cannot be mixed: document pixels (Photoshop's
 * canvas) and context-crop pixels (the image sent to the bridge, whose output canvas a candidate's
 * region refers to). Rectangles are Photoshop-shaped (left/top/right/bottom, like its bounds);
 * the rules themselves (context region, outpaint bands, mask bounds) are core's, shared by every
 * host (core/src/host/prepare.ts): these are only the Box-shaped wrappers.
 */
import { contextRegion as coreContextRegion, maskBounds, outpaintContext as coreOutpaintContext, type EdgeMargins, type HostContextOptions, type OutpaintContextOptions } from '@byteedit/core';

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

/** Options for the context region around a selection (core's; `within` is not used here). */
export type ContextOptions = Omit<HostContextOptions, 'within'>;

const toBox = <S extends string>(r: { x: number; y: number; width: number; height: number }): Box<S> => box<S>(r.x, r.y, r.x + r.width, r.y + r.height);

/**
 * The document region sent to the bridge for an edit or erase: core's contextRegion (the
 * selection padded by half its longer side, 32..512 px, each side grown to at least 512 px,
 * clamped to the document, kept under 4 MP by shrinking the padding; the selection is never cut).
 * Null when the selection lies outside the canvas.
 */
export function contextRegion(selection: Box<DocSpace>, docWidth: number, docHeight: number, options: ContextOptions = {}): Box<DocSpace> | null {
  const r = coreContextRegion({ x: selection.left, y: selection.top, width: widthOf(selection), height: heightOf(selection) }, { width: docWidth, height: docHeight }, options);
  return r && toBox<DocSpace>(r);
}

/** What to read for an outpaint: core's outpaintContext (a band along the one growing edge, or the whole document). */
export function outpaintRegion(docWidth: number, docHeight: number, margins: EdgeMargins, options: OutpaintContextOptions = {}): { context: Box<DocSpace>; canvas: { width: number; height: number } } | null {
  const o = coreOutpaintContext({ width: docWidth, height: docHeight }, margins, options);
  return o && { context: toBox<DocSpace>(o.region), canvas: o.canvas };
}

/** Bounding box (exclusive) of the non-zero bytes of a one-channel buffer; null when all zero. */
export function nonZeroBounds(width: number, height: number, data: Uint8Array): Box<string> | null {
  const r = maskBounds(width, height, data);
  return r && toBox(r);
}
