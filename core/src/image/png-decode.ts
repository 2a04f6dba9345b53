/**
 * PNG decoding with bounded work, for files that may lie. Every chunk's CRC is checked, and IDAT is
 * inflated through a streaming inflater fed in slices small enough that it can never produce much
 * more than the filtered size IHDR implies: a decompression bomb costs about its own size plus
 * that bound, and is refused as soon as it overflows. Output is the SDK's straight-alpha RGBA8.
 */
import { Unzlib } from 'fflate';

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

export interface PngChunks {
  header: PngHeader;
  /** RGBA entries, alpha from tRNS (255 where tRNS has none). */
  palette?: Uint8Array;
  /** The compressed image data: every IDAT's contents, in order, as one buffer. */
  idat: Uint8Array;
  /** acTL's frame count; 1 for a still PNG. */
  frames: number;
}

/** Bit depths allowed per colour type (PNG spec, table 11.1), and samples per pixel. */
const DEPTHS: Record<number, readonly number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
] as const;
/** Deflate cannot expand one input byte to more than about 1032 output bytes (258-byte matches). */
const MAX_DEFLATE_RATIO = 1032;
/** Smallest slice fed to the inflater: past the expected size, one slice overshoots by at most ~4 MB. */
const MIN_SLICE = 4096;
const IDAT = 0x49444154;

let crcTable: Uint32Array | undefined;
/** The PNG chunk CRC (CRC-32, ISO 3309) of bytes[start, end). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function isLetter(b: number): boolean {
  return (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
}

/** Walks every chunk up to IEND, checking lengths and CRCs; throws an Error saying what is wrong. */
export function readPngChunks(bytes: Uint8Array): PngChunks {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: PngHeader | undefined;
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  // IDAT ranges as [start, end, start, end, ...]: a file may hold millions of tiny IDAT chunks,
  // and each costs no more than this walk's few comparisons and its CRC.
  const idat: number[] = [];
  let idatBytes = 0;
  let frames = 1;
  for (let pos = 8; ; ) {
    if (pos + 12 > bytes.length) throw new Error(`the file ends at byte ${bytes.length} without an IEND chunk (truncated)`);
    const length = view.getUint32(pos);
    const start = pos + 8;
    const end = start + length;
    const code = view.getUint32(pos + 4);
    if (code === IDAT && end + 4 <= bytes.length && header) {
      if (crc32(bytes, pos + 4, end) !== view.getUint32(end)) throw new Error(`the IDAT chunk at byte ${pos} fails its CRC check (corrupt)`);
      idat.push(start, end);
      idatBytes += length;
      pos = end + 4;
      continue;
    }
    if (!isLetter(bytes[pos + 4]!) || !isLetter(bytes[pos + 5]!) || !isLetter(bytes[pos + 6]!) || !isLetter(bytes[pos + 7]!)) throw new Error(`bytes at ${pos} are not a PNG chunk (corrupt)`);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    if (length > 0x7fffffff || end + 4 > bytes.length) throw new Error(`the ${type} chunk at byte ${pos} runs past the end of the file (truncated)`);
    if (crc32(bytes, pos + 4, end) !== view.getUint32(end)) throw new Error(`the ${type} chunk at byte ${pos} fails its CRC check (corrupt)`);
    const data = bytes.subarray(start, end);
    if (!header && type !== 'IHDR') throw new Error(`the first chunk is ${type}, not IHDR`);
    switch (type) {
      case 'IHDR':
        if (header) throw new Error('the file has two IHDR chunks');
        header = parseIhdr(data);
        break;
      case 'PLTE':
        if (length % 3 !== 0 || length === 0 || length > 768) throw new Error(`PLTE has ${length} bytes (must be 3 to 768, a multiple of 3)`);
        palette = new Uint8Array((length / 3) * 4);
        for (let i = 0; i < length / 3; i++) palette.set([data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!, 255], i * 4);
        break;
      case 'tRNS':
        trns = data;
        break;
      case 'acTL':
        if (length >= 4) frames = Math.max(1, view.getUint32(start));
        break;
      case 'IEND': {
        const h = header!;
        if (idat.length === 0) throw new Error('the file has no IDAT chunk');
        if (h.colorType === 3) {
          if (!palette) throw new Error('an indexed-colour PNG without a PLTE chunk');
          // Greyscale and truecolour tRNS (a key colour) stay ignored, as with the previous decoder.
          if (trns) for (let i = 0; i < Math.min(trns.length, palette.length / 4); i++) palette[i * 4 + 3] = trns[i]!;
        }
        let data = bytes.subarray(idat[0]!, idat[1]!);
        if (idat.length > 2) {
          data = new Uint8Array(idatBytes);
          for (let i = 0, at = 0; i < idat.length; i += 2) {
            const from = idat[i]!;
            const to = idat[i + 1]!;
            if (to - from > 64) data.set(bytes.subarray(from, to), at);
            else for (let k = from; k < to; k++) data[at + k - from] = bytes[k]!;
            at += to - from;
          }
        }
        return { header: h, palette: h.colorType === 3 ? palette : undefined, idat: data, frames };
      }
      default:
        break; // ancillary chunks (text, iCCP, fcTL/fdAT frames...) are not needed for pixels
    }
    pos = end + 4;
  }
}

/**
 * Bit depth and frame count from the chunks before the image data (acTL must precede IDAT),
 * without CRC checks or inflating: for saying what a decode to RGBA8 will drop.
 */
export function readPngInfo(bytes: Uint8Array): { bitDepth: number; frames: number } | null {
  if (bytes.length < 33) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bitDepth = bytes[24]!;
  let frames = 1;
  for (let pos = 8; pos + 12 <= bytes.length; pos += 12 + view.getUint32(pos)) {
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'acTL' && pos + 12 <= bytes.length) frames = Math.max(1, view.getUint32(pos + 8));
  }
  return { bitDepth, frames };
}

function parseIhdr(data: Uint8Array): PngHeader {
  if (data.length !== 13) throw new Error(`IHDR has ${data.length} bytes, not 13`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const bitDepth = data[8]!;
  const colorType = data[9]!;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) throw new Error(`IHDR gives an impossible size ${width}x${height}`);
  if (!DEPTHS[colorType]?.includes(bitDepth)) throw new Error(`IHDR gives colour type ${colorType} with bit depth ${bitDepth}, which PNG does not allow`);
  if (data[10] !== 0 || data[11] !== 0 || data[12]! > 1) throw new Error('IHDR names an unknown compression, filter or interlace method');
  return { width, height, bitDepth, colorType, interlaced: data[12] === 1 };
}

interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  width: number;
  height: number;
  rowBytes: number;
}

/** The sub-images stored in IDAT (one, or Adam7's non-empty passes) and their filtered row sizes. */
export function pngPasses(h: PngHeader): Pass[] {
  const bits = h.bitDepth * CHANNELS[h.colorType]!;
  const grid = h.interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  const passes: Pass[] = [];
  for (const [x0, y0, dx, dy] of grid) {
    const width = Math.ceil((h.width - x0) / dx);
    const height = Math.ceil((h.height - y0) / dy);
    if (width > 0 && height > 0) passes.push({ x0, y0, dx, dy, width, height, rowBytes: Math.ceil((width * bits) / 8) });
  }
  return passes;
}

/** Bytes of filtered data IHDR implies: per row, one filter byte plus the packed samples. */
export function filteredSize(h: PngHeader): number {
  return pngPasses(h).reduce((sum, p) => sum + p.height * (1 + p.rowBytes), 0);
}

function inflateBounded(data: Uint8Array, h: PngHeader): Uint8Array {
  const expected = filteredSize(h);
  const what = `the ${expected} bytes that IHDR's ${h.width}x${h.height} (${h.bitDepth}-bit) implies`;
  const out = new Uint8Array(expected);
  let produced = 0;
  const inflater = new Unzlib((chunk) => {
    if (produced + chunk.length <= expected) out.set(chunk, produced);
    produced += chunk.length;
  });
  const push = (data: Uint8Array, final: boolean): void => {
    try {
      inflater.push(data, final);
    } catch (err) {
      throw new Error(`IDAT is not valid zlib data (${err instanceof Error ? err.message : String(err)})`);
    }
    if (produced > expected) throw new Error(`IDAT inflates to more than ${what} (a decompression bomb or a corrupt file)`);
  };
  // All IDAT data as one buffer (at most the file's size), so that many tiny IDAT chunks do not
  // each cost a push, which copies the inflater's 32 KB window.
  for (let at = 0; at < data.length; ) {
    // Slices sized so that even at deflate's best ratio a push cannot overshoot by much.
    const slice = Math.max(MIN_SLICE, Math.ceil((expected - produced) / MAX_DEFLATE_RATIO));
    push(data.subarray(at, at + slice), false);
    at += slice;
  }
  push(new Uint8Array(0), true);
  if (produced < expected) throw new Error(`IDAT holds ${produced} of ${what} (truncated or corrupt)`);
  return out;
}

/** Undoes the PNG row filters in place; each row's unfiltered bytes follow its filter byte. */
function unfilter(data: Uint8Array, offset: number, rows: number, rowBytes: number, bpp: number): void {
  const stride = rowBytes + 1;
  for (let r = 0; r < rows; r++) {
    const f = data[offset + r * stride]!;
    const cur = offset + r * stride + 1;
    const prev = cur - stride;
    const up = r > 0;
    switch (f) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < rowBytes; i++) data[cur + i] = data[cur + i]! + data[cur + i - bpp]!;
        break;
      case 2:
        if (up) for (let i = 0; i < rowBytes; i++) data[cur + i] = data[cur + i]! + data[prev + i]!;
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? data[cur + i - bpp]! : 0;
          const b = up ? data[prev + i]! : 0;
          data[cur + i] = data[cur + i]! + ((a + b) >> 1);
        }
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? data[cur + i - bpp]! : 0;
          const b = up ? data[prev + i]! : 0;
          const c = up && i >= bpp ? data[prev + i - bpp]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          data[cur + i] = data[cur + i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
        break;
      default:
        throw new Error(`row ${r} uses filter type ${f}, which PNG does not define (corrupt)`);
    }
  }
}

/**
 * Decodes to straight-alpha RGBA8 width*height*4 bytes: 16-bit samples keep their high byte,
 * sub-byte greys are scaled to 0..255, palette entries carry tRNS alpha.
 */
export function decodePngToRgba(bytes: Uint8Array): { width: number; height: number; data: Uint8ClampedArray; chunks: PngChunks } {
  const chunks = readPngChunks(bytes);
  const h = chunks.header;
  const filtered = inflateBounded(chunks.idat, h);
  const channels = CHANNELS[h.colorType]!;
  const depth = h.bitDepth;
  const bpp = Math.max(1, (depth * channels) >> 3);
  const out = new Uint8ClampedArray(h.width * h.height * 4);
  const palette = chunks.palette;
  const entries = palette ? palette.length / 4 : 0;
  const maxSample = (1 << depth) - 1;
  const scale = depth < 8 && !palette ? 255 / maxSample : 1;
  let offset = 0;
  for (const pass of pngPasses(h)) {
    unfilter(filtered, offset, pass.height, pass.rowBytes, bpp);
    for (let y = 0; y < pass.height; y++) {
      const line = offset + y * (pass.rowBytes + 1) + 1;
      const o0 = ((pass.y0 + y * pass.dy) * h.width + pass.x0) * 4;
      const step = pass.dx * 4;
      if (depth >= 8 && !palette) {
        // The common case, kept free of per-sample calls: 16-bit samples keep their high byte.
        const b = depth >> 3;
        for (let x = 0, i = line, o = o0; x < pass.width; x++, i += channels * b, o += step) {
          if (channels >= 3) {
            out[o] = filtered[i]!;
            out[o + 1] = filtered[i + b]!;
            out[o + 2] = filtered[i + 2 * b]!;
            out[o + 3] = channels === 4 ? filtered[i + 3 * b]! : 255;
          } else {
            const g = filtered[i]!;
            out[o] = g;
            out[o + 1] = g;
            out[o + 2] = g;
            out[o + 3] = channels === 2 ? filtered[i + b]! : 255;
          }
        }
        continue;
      }
      for (let x = 0, o = o0; x < pass.width; x++, o += step) {
        const sample = depth === 8 ? filtered[line + x]! : (filtered[line + ((x * depth) >> 3)]! >> (8 - depth - ((x * depth) & 7))) & maxSample;
        if (palette) {
          if (sample >= entries) throw new Error(`a pixel uses palette index ${sample} but PLTE has ${entries} entries (corrupt)`);
          out[o] = palette[sample * 4]!;
          out[o + 1] = palette[sample * 4 + 1]!;
          out[o + 2] = palette[sample * 4 + 2]!;
          out[o + 3] = palette[sample * 4 + 3]!;
        } else {
          const g = (sample * scale) | 0;
          out[o] = g;
          out[o + 1] = g;
          out[o + 2] = g;
          out[o + 3] = 255;
        }
      }
    }
    offset += pass.height * (pass.rowBytes + 1);
  }
  return { width: h.width, height: h.height, data: out, chunks };
}
