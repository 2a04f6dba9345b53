/**
 * PNG signature and IHDR validation before any pixel buffer exists: a request's image size is
 * known (and refused when too large) from the first 33 bytes, whatever the rest of the file says.
 */
import { crc32 } from './core';
import { HttpError } from './errors';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Bit depths allowed per PNG colour type (PNG spec, table 11.1). */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

export interface PngHeader {
  width: number;
  height: number;
}

/** Throws 400 (malformed) or 422 (too many pixels) naming the field; returns the dimensions. */
export function checkPngHeader(bytes: Uint8Array, field: string, maxPixels: number): PngHeader {
  const malformed = (why: string): HttpError =>
    new HttpError(400, 'image_unreadable', `${field} is not a valid PNG (${why}); send the ${field} as a PNG file (base64 in JSON, or a multipart file part)`);
  if (bytes.length < 33 || !SIGNATURE.every((b, i) => bytes[i] === b)) throw malformed('missing PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!);
  if (view.getUint32(8) !== 13 || type !== 'IHDR') throw malformed('first chunk is not IHDR');
  if (crc32(bytes, 12, 29) !== view.getUint32(29)) throw malformed('IHDR checksum mismatch');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const depth = bytes[24]!;
  const colorType = bytes[25]!;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) throw malformed(`impossible size ${width}x${height}`);
  if (!DEPTHS[colorType]?.includes(depth)) throw malformed(`colour type ${colorType} with bit depth ${depth}`);
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28]! > 1) throw malformed('unknown compression, filter or interlace method');
  if (width * height > maxPixels) {
    throw new HttpError(422, 'image_too_large', `${field} is ${width}x${height} (${width * height} pixels); this bridge accepts at most ${maxPixels} pixels: send a smaller selection or context region`);
  }
  return { width, height };
}
