/**
 * The SDK's one image type and one mask type.
 *
 * RgbaImage: 8-bit RGBA, straight (non-premultiplied) alpha, row-major, no padding between rows.
 * Mask: 8-bit soft coverage, 0 = keep, 255 = edit, same row-major layout, carrying the bounds of its
 * non-zero pixels (null when empty) so that planning never rescans it.
 */
import { SdkError } from '../util/errors';
import { rect, type CanvasSpace, type Rect, type Space } from './geometry';

export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 4 bytes, RGBA, straight alpha. */
  readonly data: Uint8ClampedArray;
}

export interface Mask<S extends Space = CanvasSpace> {
  readonly width: number;
  readonly height: number;
  /** width * height bytes, 0..255. */
  readonly data: Uint8Array;
  /** Bounding box of the non-zero pixels, or null when the mask is empty. */
  readonly bounds: Rect<S> | null;
}

export function createImage(width: number, height: number, data?: Uint8ClampedArray | Uint8Array): RgbaImage {
  checkDimensions(width, height);
  const bytes = width * height * 4;
  if (data && data.length !== bytes) {
    throw new SdkError('invalid_argument', `image data has ${data.length} bytes, expected ${bytes} for ${width}x${height} RGBA`);
  }
  const out = data
    ? data instanceof Uint8ClampedArray
      ? data
      : new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8ClampedArray(bytes);
  return { width, height, data: out };
}

export function createMask<S extends Space = CanvasSpace>(width: number, height: number, data?: Uint8Array): Mask<S> {
  checkDimensions(width, height);
  const bytes = width * height;
  if (data && data.length !== bytes) {
    throw new SdkError('invalid_argument', `mask data has ${data.length} bytes, expected ${bytes} for ${width}x${height}`);
  }
  const out = data ?? new Uint8Array(bytes);
  return { width, height, data: out, bounds: computeBounds<S>(width, height, out) };
}

/** A new mask object over the same pixels with recomputed bounds (after in-place edits). */
export function withBounds<S extends Space>(width: number, height: number, data: Uint8Array): Mask<S> {
  return { width, height, data, bounds: computeBounds<S>(width, height, data) };
}

/** Bounds of the non-zero pixels of a one-byte-per-pixel mask (row-major), or null when all are 0. */
export function computeBounds<S extends Space>(width: number, height: number, data: ArrayLike<number>): Rect<S> | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    for (let x = 0; x < width; x++) {
      if (data[row + x] !== 0) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    let last = first;
    for (let x = width - 1; x > first; x--) {
      if (data[row + x] !== 0) {
        last = x;
        break;
      }
    }
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
    if (y < y0) y0 = y;
    y1 = y;
  }
  return x1 < 0 ? null : rect<S>(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
}

export function cloneImage(image: RgbaImage): RgbaImage {
  return { width: image.width, height: image.height, data: new Uint8ClampedArray(image.data) };
}

/** Luminance of an RGBA image (times its alpha) as a mask: how a mask PNG becomes a Mask. */
export function maskFromImage<S extends Space = CanvasSpace>(image: RgbaImage): Mask<S> {
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    const luma = Math.floor((d[o]! * 299 + d[o + 1]! * 587 + d[o + 2]! * 114 + 500) / 1000);
    out[i] = d[o + 3] === 255 ? luma : Math.round((luma * d[o + 3]!) / 255);
  }
  return createMask<S>(image.width, image.height, out);
}

/** A mask rendered as an opaque grey RGBA image (for writing PNGs and previews). */
export function imageFromMask(mask: Mask<Space>): RgbaImage {
  const out = new Uint8ClampedArray(mask.width * mask.height * 4);
  for (let i = 0; i < mask.data.length; i++) {
    const v = mask.data[i]!;
    out[i * 4] = v;
    out[i * 4 + 1] = v;
    out[i * 4 + 2] = v;
    out[i * 4 + 3] = 255;
  }
  return { width: mask.width, height: mask.height, data: out };
}

function checkDimensions(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new SdkError('invalid_argument', `image dimensions must be positive integers, got ${width}x${height}`);
  }
}
