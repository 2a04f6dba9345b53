/**
 * PNG and JPEG codecs that run unchanged in Node, browsers and workers: PNG decoding is our own
 * bounded decoder (png-decode.ts), encoding is fast-png; JPEG is jpeg-js. Sizes are read from the
 * header first so that an oversized or truncated file is refused before any pixel buffer is
 * allocated, and what a file declares bounds the work its decoding may take.
 */
import { encode as encodePngRaw } from 'fast-png';
import { decode as decodeJpegRaw, encode as encodeJpegRaw } from 'jpeg-js';
import { SdkError } from '../util/errors';
import { createImage, type RgbaImage } from './image';
import { jpegMemoryBytes, readJpegFrame } from './jpeg-header';
import { decodePngToRgba, readPngInfo } from './png-decode';

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

export interface ImageInfo {
  width: number;
  height: number;
  format: ImageFormat;
  /** Bits per sample as stored (decoding keeps 8). */
  bitDepth: number;
  /** Animation frames (APNG's acTL); decoding keeps the first. */
  frames: number;
}

/** Size, bit depth and frame count from the headers alone; null when the header is unreadable. */
export function readImageInfo(bytes: Uint8Array): ImageInfo | null {
  const size = readImageSize(bytes);
  if (!size) return null;
  if (size.format === 'jpeg') return { ...size, bitDepth: 8, frames: 1 };
  const png = readPngInfo(bytes);
  return png ? { ...size, ...png } : null;
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
  const png = decodePngToRgba(bytes);
  return createImage(png.width, png.height, png.data);
}

/** Progressive scans each walk the whole frame: more than this is a work bomb, not a photograph. */
const MAX_JPEG_SCANS = 100;

function decodeJpeg(bytes: Uint8Array, maxPixels: number): RgbaImage {
  const frame = readJpegFrame(bytes);
  if (![1, 3, 4].includes(frame.components.length)) throw new Error(`the frame declares ${frame.components.length} colour components (1, 3 or 4 are supported)`);
  if (frame.components.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4)) throw new Error('the frame declares a sampling factor outside 1..4');
  if (frame.scans > MAX_JPEG_SCANS) throw new Error(`the file has ${frame.scans} scans (at most ${MAX_JPEG_SCANS} are decoded)`);
  // jpeg-js counts its allocations against this limit: what the declared frame needs plus room for
  // tables, never more, and never past the 4 GB it always had.
  const maxMemoryUsageInMB = Math.min(4096, Math.ceil(jpegMemoryBytes(frame) / 2 ** 20) + 16);
  const jpg = decodeJpegRaw(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB });
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
