/**
 * Colour matching of a generated region to its surroundings: per-channel mean/std transfer in
 * CIE Lab (D65), with statistics measured on a ring just outside the compositing mask, where the
 * generated image should agree with the source. This removes the colour cast a small model or a
 * VAE round trip adds, without touching pixels the mask does not cover.
 */
import { distanceTransform } from './ops';
import { computeBounds, type Mask, type RgbaImage } from './image';
import type { Space } from './geometry';

function srgbToLinear(c: number): number {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

function linearToSrgb(v: number): number {
  const c = v <= 0.0031308 ? v * 12.92 : 1.055 * Math.pow(v, 1 / 2.4) - 0.055;
  return Math.min(255, Math.max(0, Math.round(c * 255)));
}

const XN = 0.95047;
const ZN = 1.08883;
const fLab = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
const fInv = (t: number): number => (t * t * t > 216 / 24389 ? t * t * t : (116 * t - 16) / (24389 / 27));

export function rgbToLab(r: number, g: number, b: number, out: Float64Array | number[] = [0, 0, 0]): Float64Array | number[] {
  const R = srgbToLinear(r);
  const G = srgbToLinear(g);
  const B = srgbToLinear(b);
  const x = fLab((0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / XN);
  const y = fLab(0.2126729 * R + 0.7151522 * G + 0.072175 * B);
  const z = fLab((0.0193339 * R + 0.119192 * G + 0.9503041 * B) / ZN);
  out[0] = 116 * y - 16;
  out[1] = 500 * (x - y);
  out[2] = 200 * (y - z);
  return out;
}

export function labToRgb(L: number, a: number, b: number, out: number[] = [0, 0, 0]): number[] {
  const fy = (L + 16) / 116;
  const X = fInv(fy + a / 500) * XN;
  const Y = fInv(fy);
  const Z = fInv(fy - b / 200) * ZN;
  out[0] = linearToSrgb(3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z);
  out[1] = linearToSrgb(-0.969266 * X + 1.8760108 * Y + 0.041556 * Z);
  out[2] = linearToSrgb(0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z);
  return out;
}

interface Stats {
  mean: [number, number, number];
  std: [number, number, number];
  count: number;
}

function labStats(image: RgbaImage, select: Uint8Array): Stats {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  let count = 0;
  const lab = [0, 0, 0];
  for (let i = 0; i < select.length; i++) {
    if (!select[i]) continue;
    rgbToLab(image.data[i * 4]!, image.data[i * 4 + 1]!, image.data[i * 4 + 2]!, lab);
    for (let c = 0; c < 3; c++) {
      sum[c]! += lab[c]!;
      sq[c]! += lab[c]! * lab[c]!;
    }
    count++;
  }
  const mean = sum.map((s) => s / Math.max(1, count)) as [number, number, number];
  const std = sq.map((s, c) => Math.sqrt(Math.max(0, s / Math.max(1, count) - mean[c]! * mean[c]!))) as [number, number, number];
  return { mean, std, count };
}

/**
 * Pixels outside the mask within `width` px of it: where generated and source should agree. The
 * distance transform runs on the mask's bounds grown by `width` (nothing beyond is that close),
 * with the same result as over the whole image.
 */
export function ringAround(mask: Mask<Space>, width: number): Uint8Array {
  const { width: W, height: H, data } = mask;
  const ring = new Uint8Array(data.length);
  const b = computeBounds(W, H, data);
  if (!b) return ring;
  const reach = Math.ceil(Math.max(0, width)) + 1;
  const x0 = Math.max(0, b.x - reach);
  const y0 = Math.max(0, b.y - reach);
  const w = Math.min(W, b.x + b.width + reach) - x0;
  const h = Math.min(H, b.y + b.height + reach) - y0;
  const dist = distanceTransform(w, h, (i) => data[(y0 + Math.floor(i / w)) * W + x0 + (i % w)]! > 0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y0 + y) * W + x0 + x;
      ring[i] = data[i] === 0 && dist[y * w + x]! <= width ? 1 : 0;
    }
  }
  return ring;
}

/**
 * Returns a copy of `generated` whose pixels under `mask` are shifted so that the generated ring's
 * Lab statistics match the source ring's. Needs at least 16 ring pixels, else returns a copy.
 */
export function colorMatch(generated: RgbaImage, source: RgbaImage, mask: Mask<Space>, ringWidth: number): RgbaImage {
  const out = { width: generated.width, height: generated.height, data: new Uint8ClampedArray(generated.data) };
  const ring = ringAround(mask, ringWidth);
  // Only source pixels that are actually there (outpaint canvases have transparent new areas).
  for (let i = 0; i < ring.length; i++) if (ring[i] && source.data[i * 4 + 3]! < 128) ring[i] = 0;
  const gs = labStats(generated, ring);
  if (gs.count < 16) return out;
  const ss = labStats(source, ring);
  // Contrast gains are kept near 1: the ring measures the cast, not the content inside the mask.
  const gain = [0, 1, 2].map((c) => Math.min(1.25, Math.max(0.8, gs.std[c]! > 1e-3 ? ss.std[c]! / gs.std[c]! : 1)));
  const lab = [0, 0, 0];
  const rgb = [0, 0, 0];
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] === 0) continue;
    rgbToLab(generated.data[i * 4]!, generated.data[i * 4 + 1]!, generated.data[i * 4 + 2]!, lab);
    for (let c = 0; c < 3; c++) lab[c] = (lab[c]! - gs.mean[c]!) * gain[c]! + ss.mean[c]!;
    labToRgb(lab[0]!, lab[1]!, lab[2]!, rgb);
    out.data[i * 4] = rgb[0]!;
    out.data[i * 4 + 1] = rgb[1]!;
    out.data[i * 4 + 2] = rgb[2]!;
  }
  return out;
}

/**
 * Blends `generated` over `source` through `mask` (same size). Where the mask is 0 the source
 * bytes are copied unchanged, so unmasked pixels stay byte-identical.
 */
export function compositeThroughMask(source: RgbaImage, generated: RgbaImage, mask: Mask<Space>): RgbaImage {
  const out = new Uint8ClampedArray(source.data);
  for (let i = 0; i < mask.data.length; i++) {
    const m = mask.data[i]!;
    if (m === 0) continue;
    const o = i * 4;
    if (m === 255) {
      out[o] = generated.data[o]!;
      out[o + 1] = generated.data[o + 1]!;
      out[o + 2] = generated.data[o + 2]!;
      out[o + 3] = generated.data[o + 3]!;
      continue;
    }
    const t = m / 255;
    for (let c = 0; c < 4; c++) out[o + c] = Math.round(source.data[o + c]! * (1 - t) + generated.data[o + c]! * t);
  }
  return { width: source.width, height: source.height, data: out };
}
