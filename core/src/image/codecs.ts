/**
 * PNG and JPEG through maintained libraries (fast-png, jpeg-js), which run unchanged in Node,
 * browsers and workers. Sizes are read from the header first so that an oversized or truncated file
 * is refused before any pixel buffer is allocated.
 */
import { decode as decodePngRaw, encode as encodePngRaw, convertIndexedToRgb } from 'fast-png';
import { decode as decodeJpegRaw, encode as encodeJpegRaw } from 'jpeg-js';
import { SdkError } from '../util/errors';
import { createImage, type RgbaImage } from './image';

export type ImageFormat = 'png' | 'jpeg';

export const DEFAULT_MAX_PIXELS = 64_000_000;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Width and height from the file header without decoding pixels; null when the header is unreadable. */
export function readImageSize(bytes: Uint8Array): { width: number; height: number; format: ImageFormat } | null {
  const format = sniffFormat(bytes);
  if (format === 'png') {
    // IHDR is always the first chunk: length(4) "IHDR"(4) width(4) height(4).
    if (bytes.length < 24 || String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) !== 'IHDR') return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { width: view.getUint32(16), height: view.getUint32(20), format };
  }
  if (format === 'jpeg') {
    let i = 2;
    while (i + 9 < bytes.length) {
      if (bytes[i] !== 0xff) return null;
      const marker = bytes[i + 1]!;
      if (marker === 0xff) {
        i += 1;
        continue;
      }
      const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
      // SOF0..SOF15 except DHT(C4), JPG(C8), DAC(CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]!, format };
      }
      i += 2 + len;
    }
    return null;
  }
  return null;
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default 64 MP). */
  maxPixels?: number;
  /** Used in error messages ("mask.png is ..."). */
  name?: string;
}

export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): RgbaImage {
  const name = options.name ?? 'image';
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const header = readImageSize(bytes);
  if (!header) {
    throw new SdkError('image_unreadable', `${name} is not a PNG or JPEG file (or its header is damaged); export it as PNG or JPEG and try again`);
  }
  if (header.width === 0 || header.height === 0) {
    throw new SdkError('image_unreadable', `${name} has zero width or height`);
  }
  if (header.width * header.height > maxPixels) {
    throw new SdkError(
      'image_too_large',
      `${name} is ${header.width}x${header.height} (${((header.width * header.height) / 1e6).toFixed(1)} MP), over the ${(maxPixels / 1e6).toFixed(0)} MP limit; downscale it or raise the limit (--max-pixels)`,
    );
  }
  try {
    return header.format === 'png' ? decodePng(bytes) : decodeJpeg(bytes, maxPixels);
  } catch (err) {
    if (err instanceof SdkError) throw err;
    throw new SdkError('image_unreadable', `${name} could not be decoded as ${header.format.toUpperCase()} (${err instanceof Error ? err.message : String(err)}); the file may be truncated or corrupt`, { cause: err });
  }
}

function decodePng(bytes: Uint8Array): RgbaImage {
  const png = decodePngRaw(bytes);
  let src = png.data;
  let channels = png.channels;
  if (png.palette) {
    src = convertIndexedToRgb(png);
    channels = png.palette[0]?.length ?? 3;
  }
  const n = png.width * png.height;
  const out = new Uint8ClampedArray(n * 4);
  const shift = png.depth === 16 && !png.palette ? 8 : 0;
  const scale = png.depth < 8 && !png.palette ? 255 / ((1 << png.depth) - 1) : 1;
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    const v = (k: number): number => ((src[s + k]! >> shift) * scale) | 0;
    const o = i * 4;
    if (channels >= 3) {
      out[o] = v(0);
      out[o + 1] = v(1);
      out[o + 2] = v(2);
      out[o + 3] = channels === 4 ? v(3) : 255;
    } else {
      const g = v(0);
      out[o] = g;
      out[o + 1] = g;
      out[o + 2] = g;
      out[o + 3] = channels === 2 ? v(1) : 255;
    }
  }
  return createImage(png.width, png.height, out);
}

function decodeJpeg(bytes: Uint8Array, maxPixels: number): RgbaImage {
  const jpg = decodeJpegRaw(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: Math.ceil(maxPixels / 1e6), maxMemoryUsageInMB: 4096 });
  return createImage(jpg.width, jpg.height, new Uint8ClampedArray(jpg.data.buffer, jpg.data.byteOffset, jpg.data.byteLength));
}

export function encodePng(image: RgbaImage): Uint8Array {
  return encodePngRaw({ width: image.width, height: image.height, data: image.data, channels: 4, depth: 8 });
}

/** Single-channel 8-bit PNG (masks). */
export function encodeGrayPng(width: number, height: number, data: Uint8Array): Uint8Array {
  return encodePngRaw({ width, height, data, channels: 1, depth: 8 });
}

export function encodeJpeg(image: RgbaImage, quality = 92): Uint8Array {
  const out = encodeJpegRaw({ width: image.width, height: image.height, data: image.data }, quality);
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}

export function encodeImage(image: RgbaImage, format: ImageFormat): Uint8Array {
  return format === 'png' ? encodePng(image) : encodeJpeg(image);
}
