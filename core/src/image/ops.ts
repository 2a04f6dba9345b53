/**
 * Pixel operations on images and masks: crop, pad, grow/shrink, feather, paste. All return new
 * buffers; inputs are never modified.
 */
import { SdkError } from '../util/errors';
import { createImage, createMask, type Mask, type RgbaImage } from './image';
import type { Rect, Space } from './geometry';

/** Crops a rectangle; parts outside the source become transparent black (image) or 0 (mask). */
export function cropImage(image: RgbaImage, r: Rect): RgbaImage {
  const out = new Uint8ClampedArray(r.width * r.height * 4);
  for (let y = 0; y < r.height; y++) {
    const sy = r.y + y;
    if (sy < 0 || sy >= image.height) continue;
    const x0 = Math.max(0, -r.x);
    const x1 = Math.min(r.width, image.width - r.x);
    if (x1 <= x0) continue;
    out.set(image.data.subarray((sy * image.width + r.x + x0) * 4, (sy * image.width + r.x + x1) * 4), (y * r.width + x0) * 4);
  }
  return createImage(r.width, r.height, out);
}

export function cropMask<S extends Space, T extends Space>(mask: Mask<S>, r: Rect<S>): Mask<T> {
  const out = new Uint8Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) {
    const sy = r.y + y;
    if (sy < 0 || sy >= mask.height) continue;
    const x0 = Math.max(0, -r.x);
    const x1 = Math.min(r.width, mask.width - r.x);
    if (x1 <= x0) continue;
    out.set(mask.data.subarray(sy * mask.width + r.x + x0, sy * mask.width + r.x + x1), y * r.width + x0);
  }
  return createMask<T>(r.width, r.height, out);
}

/** Places `image` at (x, y) on a new transparent canvas of the given size. */
export function padImage(image: RgbaImage, width: number, height: number, x: number, y: number): RgbaImage {
  const out = createImage(width, height);
  pasteImage(out, image, x, y);
  return out;
}

/** Copies `src` into `dst` at (x, y), in place on dst (which the caller owns). */
export function pasteImage(dst: RgbaImage, src: RgbaImage, x: number, y: number): void {
  for (let row = 0; row < src.height; row++) {
    const dy = y + row;
    if (dy < 0 || dy >= dst.height) continue;
    const x0 = Math.max(0, -x);
    const x1 = Math.min(src.width, dst.width - x);
    if (x1 <= x0) continue;
    dst.data.set(src.data.subarray((row * src.width + x0) * 4, (row * src.width + x1) * 4), (dy * dst.width + x + x0) * 4);
  }
}

/**
 * Euclidean distance (in pixels) from each pixel to the nearest pixel where `inside` is true;
 * exact, two-pass (Felzenszwalb & Huttenlocher 2012), O(n).
 */
export function distanceTransform(width: number, height: number, inside: (i: number) => boolean): Float32Array {
  const INF = 1e20;
  const f = new Float64Array(Math.max(width, height));
  const d = new Float64Array(Math.max(width, height));
  const v = new Int32Array(Math.max(width, height));
  const z = new Float64Array(Math.max(width, height) + 1);
  const grid = new Float64Array(width * height);
  for (let i = 0; i < grid.length; i++) grid[i] = inside(i) ? 0 : INF;
  const pass = (n: number): void => {
    let k = 0;
    v[0] = 0;
    z[0] = -INF;
    z[1] = INF;
    for (let q = 1; q < n; q++) {
      let s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
      while (s <= z[k]!) {
        k--;
        s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
      }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = INF;
    }
    k = 0;
    for (let q = 0; q < n; q++) {
      while (z[k + 1]! < q) k++;
      d[q] = (q - v[k]!) * (q - v[k]!) + f[v[k]!]!;
    }
  };
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = grid[y * width + x]!;
    pass(height);
    for (let y = 0; y < height; y++) grid[y * width + x] = d[y]!;
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) f[x] = grid[y * width + x]!;
    pass(width);
    for (let x = 0; x < width; x++) out[y * width + x] = Math.sqrt(d[x]!);
  }
  return out;
}

/**
 * Grows (radius > 0) or shrinks (radius < 0) a mask by a disc of the given radius in pixels.
 * Soft values are kept: growing takes the maximum over the disc, shrinking the minimum.
 */
export function growMask<S extends Space>(mask: Mask<S>, radius: number): Mask<S> {
  if (radius === 0) return createMask<S>(mask.width, mask.height, new Uint8Array(mask.data));
  const { width, height, data } = mask;
  const r = Math.abs(radius);
  const out = new Uint8Array(data.length);
  if (radius > 0) {
    const dist = distanceTransform(width, height, (i) => data[i]! > 0);
    for (let i = 0; i < out.length; i++) out[i] = dist[i]! <= r ? Math.max(data[i]!, dist[i]! === 0 ? data[i]! : 255) : 0;
  } else {
    const dist = distanceTransform(width, height, (i) => data[i]! === 0);
    for (let i = 0; i < out.length; i++) out[i] = dist[i]! > r ? data[i]! : 0;
  }
  return createMask<S>(width, height, out);
}

/** Gaussian-like feather (three box blurs) with the given radius; 0 leaves the mask as is. */
export function featherMask<S extends Space>(mask: Mask<S>, radius: number): Mask<S> {
  if (radius <= 0) return createMask<S>(mask.width, mask.height, new Uint8Array(mask.data));
  const { width, height } = mask;
  const a = Float32Array.from(mask.data);
  const b = new Float32Array(a.length);
  // Three box passes of this half-width approximate a Gaussian with sigma ~ radius / 2.
  const half = Math.max(1, Math.round(radius / 2));
  for (let pass = 0; pass < 3; pass++) {
    boxBlur(a, b, width, height, half, true);
    boxBlur(b, a, width, height, half, false);
  }
  const out = new Uint8Array(a.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(a[i]!)));
  return createMask<S>(width, height, out);
}

function boxBlur(src: Float32Array, dst: Float32Array, width: number, height: number, r: number, horizontal: boolean): void {
  const len = horizontal ? width : height;
  const lines = horizontal ? height : width;
  const stride = horizontal ? 1 : width;
  const step = horizontal ? width : 1;
  const norm = 1 / (2 * r + 1);
  for (let l = 0; l < lines; l++) {
    const base = l * step;
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += src[base + Math.min(len - 1, Math.max(0, k)) * stride]!;
    for (let i = 0; i < len; i++) {
      dst[base + i * stride] = acc * norm;
      const add = Math.min(len - 1, i + r + 1);
      const sub = Math.max(0, i - r);
      acc += src[base + add * stride]! - src[base + sub * stride]!;
    }
  }
}

/** Pixel-wise maximum of two masks of the same size. */
export function maxMask<S extends Space>(a: Mask<S>, b: Mask<S>): Mask<S> {
  if (a.width !== b.width || a.height !== b.height) throw new SdkError('internal', 'maxMask: size mismatch');
  const out = new Uint8Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(a.data[i]!, b.data[i]!);
  return createMask<S>(a.width, a.height, out);
}
