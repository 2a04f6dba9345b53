/**
 * The only place pixels become tensors and back. Layouts and ranges are in the names:
 * NCHW, RGB, [-1, 1] for images; [0, 1] for masks.
 */
import { toHalf, float32ToHalfArray, halfToFloat32Array } from '../util/float16';
import type { TensorData, TensorType } from './types';
import type { Mask, RgbaImage } from '../image/image';
import type { Space } from '../image/geometry';

/** RGBA8 -> Float32 NCHW (batch 1), RGB in [-1, 1]. */
export function imageToNchwSigned(image: RgbaImage, zeroWhere?: Float32Array): Float32Array {
  const n = image.width * image.height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const keep = zeroWhere ? 1 - zeroWhere[i]! : 1;
    out[i] = (image.data[i * 4]! / 127.5 - 1) * keep;
    out[n + i] = (image.data[i * 4 + 1]! / 127.5 - 1) * keep;
    out[2 * n + i] = (image.data[i * 4 + 2]! / 127.5 - 1) * keep;
  }
  return out;
}

/** Float32 NCHW RGB in [-1, 1] (one image) -> opaque RGBA8. */
export function nchwSignedToImage(data: Float32Array, width: number, height: number): RgbaImage {
  const n = width * height;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = Math.round((data[i]! + 1) * 127.5);
    out[i * 4 + 1] = Math.round((data[n + i]! + 1) * 127.5);
    out[i * 4 + 2] = Math.round((data[2 * n + i]! + 1) * 127.5);
    out[i * 4 + 3] = 255;
  }
  return { width, height, data: out };
}

/** Mask -> [0, 1] floats, optionally binarized at `threshold` (0..1). */
export function maskToUnit(mask: Mask<Space>, threshold?: number): Float32Array {
  const out = new Float32Array(mask.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = mask.data[i]! / 255;
    out[i] = threshold === undefined ? v : v > threshold ? 1 : 0;
  }
  return out;
}

export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A float tensor in the dtype the model wants. */
export function floatTensor(type: 'float32' | 'float16', data: Float32Array, dims: number[]): TensorData {
  return type === 'float16' ? { type, dims, data: float32ToHalfArray(data) } : { type, dims, data };
}

/** Any float output tensor as Float32Array. */
export function asFloat32(t: TensorData): Float32Array {
  if (t.type === 'float16') return halfToFloat32Array(t.data as Uint16Array);
  if (t.type === 'float32') return t.data as Float32Array;
  return Float32Array.from(t.data as Int32Array);
}

export function intTensor(type: 'int32' | 'int64', values: ArrayLike<number>, dims: number[]): TensorData {
  if (type === 'int64') return { type, dims, data: BigInt64Array.from(Array.from(values, (v) => BigInt(v))) };
  return { type, dims, data: Int32Array.from(values) };
}

/** A timestep tensor in whatever dtype/shape the UNet declared. */
export function timestepTensor(type: TensorType, shape: 'scalar' | 'one' | 'batch', t: number, batch: number): TensorData {
  const dims = shape === 'scalar' ? [] : shape === 'one' ? [1] : [batch];
  const n = shape === 'batch' ? batch : 1;
  switch (type) {
    case 'int64':
      return { type, dims, data: new BigInt64Array(n).fill(BigInt(Math.round(t))) };
    case 'int32':
      return { type, dims, data: new Int32Array(n).fill(Math.round(t)) };
    case 'float16':
      return { type, dims, data: new Uint16Array(n).fill(toHalf(t)) };
    default:
      return { type: 'float32', dims, data: new Float32Array(n).fill(t) };
  }
}
