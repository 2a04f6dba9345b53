/**
 * Rectangles and sizes branded by the coordinate space they live in. Document (canvas) pixels,
 * context-crop pixels, model-input pixels and latent cells are different spaces: passing one where
 * another is expected does not compile. Convert only through the plan's explicit transforms.
 */

declare const spaceBrand: unique symbol;

/** The output canvas (the document, grown by the outpaint margins). */
export type CanvasSpace = 'canvas';
/** Pixels of the context crop, before scaling to the model. */
export type CropSpace = 'crop';
/** Pixels at model resolution (what the VAE sees). */
export type ModelSpace = 'model';
/** Latent cells (model pixels / VAE factor). */
export type LatentSpace = 'latent';
export type Space = CanvasSpace | CropSpace | ModelSpace | LatentSpace;

export interface Size<S extends Space = Space> {
  readonly width: number;
  readonly height: number;
  readonly [spaceBrand]?: S;
}

export interface Rect<S extends Space = Space> {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly [spaceBrand]?: S;
}

export function rect<S extends Space>(x: number, y: number, width: number, height: number): Rect<S> {
  return { x, y, width, height } as Rect<S>;
}

export function size<S extends Space>(width: number, height: number): Size<S> {
  return { width, height } as Size<S>;
}

export function rectRight(r: Rect): number {
  return r.x + r.width;
}

export function rectBottom(r: Rect): number {
  return r.y + r.height;
}

export function rectArea(r: Rect | Size): number {
  return r.width * r.height;
}

export function intersect<S extends Space>(a: Rect<S>, b: Rect<S>): Rect<S> | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const r = Math.min(a.x + a.width, b.x + b.width);
  const btm = Math.min(a.y + a.height, b.y + b.height);
  return r > x && btm > y ? rect<S>(x, y, r - x, btm - y) : null;
}

export function union<S extends Space>(a: Rect<S>, b: Rect<S>): Rect<S> {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return rect<S>(x, y, Math.max(a.x + a.width, b.x + b.width) - x, Math.max(a.y + a.height, b.y + b.height) - y);
}

export function sameRect(a: Rect, b: Rect): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}
