/**
 * High-quality resampling: separable Lanczos-3 (widened when downscaling, so it area-averages
 * instead of aliasing), applied to alpha-premultiplied colour so transparent pixels do not bleed.
 * Works on float planes; images and masks go through the same kernel.
 */
import { createImage, createMask, type Mask, type RgbaImage } from './image';
import type { Space } from './geometry';

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

function lanczos3(x: number): number {
  return x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
}

interface Weights {
  start: Int32Array;
  count: Int32Array;
  taps: number;
  weights: Float32Array;
}

/** Precomputed normalised filter taps for one axis. */
function axisWeights(srcLen: number, dstLen: number): Weights {
  const scale = srcLen / dstLen;
  const support = 3 * Math.max(1, scale);
  const taps = Math.ceil(support * 2) + 1;
  const start = new Int32Array(dstLen);
  const count = new Int32Array(dstLen);
  const weights = new Float32Array(dstLen * taps);
  const fscale = Math.max(1, scale);
  for (let d = 0; d < dstLen; d++) {
    const center = (d + 0.5) * scale - 0.5;
    const lo = Math.max(0, Math.ceil(center - support));
    const hi = Math.min(srcLen - 1, Math.floor(center + support));
    let sum = 0;
    let n = 0;
    for (let s = lo; s <= hi && n < taps; s++, n++) {
      const w = lanczos3((s - center) / fscale);
      weights[d * taps + n] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < n; k++) weights[d * taps + k]! /= sum;
    start[d] = lo;
    count[d] = n;
  }
  return { start, count, taps, weights };
}

/** Resamples `channels` interleaved float planes. */
function resamplePlanes(src: Float32Array, sw: number, sh: number, channels: number, dw: number, dh: number): Float32Array {
  const wx = axisWeights(sw, dw);
  const wy = axisWeights(sh, dh);
  const tmp = new Float32Array(dw * sh * channels);
  for (let y = 0; y < sh; y++) {
    const srow = y * sw * channels;
    const trow = y * dw * channels;
    for (let x = 0; x < dw; x++) {
      const s0 = wx.start[x]!;
      const n = wx.count[x]!;
      const wo = x * wx.taps;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += src[srow + (s0 + k) * channels + c]! * wx.weights[wo + k]!;
        tmp[trow + x * channels + c] = acc;
      }
    }
  }
  const out = new Float32Array(dw * dh * channels);
  const rowLen = dw * channels;
  for (let y = 0; y < dh; y++) {
    const s0 = wy.start[y]!;
    const n = wy.count[y]!;
    const wo = y * wy.taps;
    const orow = y * rowLen;
    for (let k = 0; k < n; k++) {
      const w = wy.weights[wo + k]!;
      const trow = (s0 + k) * rowLen;
      for (let i = 0; i < rowLen; i++) out[orow + i]! += tmp[trow + i]! * w;
    }
  }
  return out;
}

export function resizeImage(image: RgbaImage, width: number, height: number): RgbaImage {
  if (image.width === width && image.height === height) return { width, height, data: new Uint8ClampedArray(image.data) };
  const n = image.width * image.height;
  const planes = new Float32Array(n * 4);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const a = d[i * 4 + 3]! / 255;
    planes[i * 4] = d[i * 4]! * a;
    planes[i * 4 + 1] = d[i * 4 + 1]! * a;
    planes[i * 4 + 2] = d[i * 4 + 2]! * a;
    planes[i * 4 + 3] = a;
  }
  const r = resamplePlanes(planes, image.width, image.height, 4, width, height);
  const out = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const a = Math.min(1, Math.max(0, r[i * 4 + 3]!));
    if (a <= 1e-6) continue;
    out[i * 4] = Math.round(r[i * 4]! / a);
    out[i * 4 + 1] = Math.round(r[i * 4 + 1]! / a);
    out[i * 4 + 2] = Math.round(r[i * 4 + 2]! / a);
    out[i * 4 + 3] = Math.round(a * 255);
  }
  return createImage(width, height, out);
}

export function resizeMask<S extends Space>(mask: Mask<Space>, width: number, height: number): Mask<S> {
  if (mask.width === width && mask.height === height) return createMask<S>(width, height, new Uint8Array(mask.data));
  const planes = Float32Array.from(mask.data);
  const r = resamplePlanes(planes, mask.width, mask.height, 1, width, height);
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(r[i]!)));
  return createMask<S>(width, height, out);
}

/** Resamples a float plane stack (e.g. a mask to latent resolution) with the same kernel. */
export function resizePlanes(src: Float32Array, sw: number, sh: number, channels: number, dw: number, dh: number): Float32Array {
  if (sw === dw && sh === dh) return new Float32Array(src);
  return resamplePlanes(src, sw, sh, channels, dw, dh);
}
