import { Readable } from 'node:stream';
import { deflateSync, createDeflate } from 'node:zlib';
import { convertIndexedToRgb, decode as fastPngDecode } from 'fast-png';
import { decodeImage, encodeJpeg, readImageSize } from '../src/image/codecs';
import { gradientImage } from './helpers';

// --- building PNGs byte by byte, so that tests can lie in any field -----------------------------

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

interface Ihdr {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace?: number;
}

function ihdr(h: Ihdr): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(h.width, 0);
  d.writeUInt32BE(h.height, 4);
  d.set([h.depth, h.colorType, 0, 0, h.interlace ?? 0], 8);
  return chunk('IHDR', d);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function png(h: Ihdr, zdata: Uint8Array, extra: Buffer[] = [], idatSplit = 0): Uint8Array {
  const idats: Buffer[] = [];
  const step = idatSplit || zdata.length;
  for (let at = 0; at < zdata.length; at += step) idats.push(chunk('IDAT', zdata.subarray(at, at + step)));
  return new Uint8Array(Buffer.concat([SIGNATURE, ihdr(h), ...extra, ...idats, chunk('IEND', new Uint8Array(0))]));
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Deterministic pseudo-random bytes: any bytes are valid filtered rows once each row starts with a filter type 0..4. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24);
}

function filteredRows(h: Ihdr, seed: number): Uint8Array {
  const rnd = random(seed);
  const bits = h.depth * CHANNELS[h.colorType]!;
  const passes = h.interlace
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  const out: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((h.width - x0!) / dx!);
    const rows = Math.ceil((h.height - y0!) / dy!);
    if (w <= 0 || rows <= 0) continue;
    for (let y = 0; y < rows; y++) {
      out.push(rnd() % 5);
      for (let i = 0; i < Math.ceil((w * bits) / 8); i++) out.push(rnd());
    }
  }
  return new Uint8Array(out);
}

/** The previous decoder: fast-png, then the conversion codecs.ts used to do. */
function previousDecode(bytes: Uint8Array): Uint8ClampedArray {
  const p = fastPngDecode(bytes);
  let src = p.data;
  let channels = p.channels;
  if (p.palette) {
    src = convertIndexedToRgb(p);
    channels = p.palette[0]?.length ?? 3;
  }
  const n = p.width * p.height;
  const out = new Uint8ClampedArray(n * 4);
  const shift = p.depth === 16 && !p.palette ? 8 : 0;
  for (let i = 0; i < n; i++) {
    const v = (k: number): number => src[i * channels + k]! >> shift;
    const o = i * 4;
    if (channels >= 3) out.set([v(0), v(1), v(2), channels === 4 ? v(3) : 255], o);
    else out.set([v(0), v(0), v(0), channels === 2 ? v(1) : 255], o);
  }
  return out;
}

function palette(entries: number, seed: number): Buffer[] {
  const rnd = random(seed);
  const plte = new Uint8Array(entries * 3).map(() => rnd());
  const trns = new Uint8Array(Math.ceil(entries / 2)).map(() => rnd());
  return [chunk('PLTE', plte), chunk('tRNS', trns)];
}

/** Deflates `total` zero bytes without holding them: a stream of one reused zero buffer. */
async function deflatedZeros(total: number): Promise<Uint8Array> {
  const zeros = Buffer.alloc(1 << 20);
  const source = Readable.from((function* () {
    for (let left = total; left > 0; left -= zeros.length) yield left >= zeros.length ? zeros : zeros.subarray(0, left);
  })());
  const parts: Buffer[] = [];
  for await (const part of source.pipe(createDeflate({ level: 9 }))) parts.push(part as Buffer);
  return new Uint8Array(Buffer.concat(parts));
}

const unreadable = (message: RegExp) => expect.objectContaining({ code: 'image_unreadable', message: expect.stringMatching(message) });

describe('PNG decoding', () => {
  const cases: [string, Ihdr, Buffer[]][] = [
    ['8-bit RGBA', { width: 37, height: 21, depth: 8, colorType: 6 }, []],
    ['16-bit RGBA', { width: 19, height: 13, depth: 16, colorType: 6 }, []],
    ['8-bit RGB', { width: 23, height: 9, depth: 8, colorType: 2 }, []],
    ['16-bit RGB', { width: 8, height: 17, depth: 16, colorType: 2 }, []],
    ['8-bit grey', { width: 31, height: 7, depth: 8, colorType: 0 }, []],
    ['16-bit grey', { width: 5, height: 11, depth: 16, colorType: 0 }, []],
    ['8-bit grey + alpha', { width: 12, height: 12, depth: 8, colorType: 4 }, []],
    ['16-bit grey + alpha', { width: 9, height: 3, depth: 16, colorType: 4 }, []],
    ['8-bit palette with tRNS', { width: 29, height: 15, depth: 8, colorType: 3 }, palette(256, 7)],
    ['4-bit palette', { width: 13, height: 6, depth: 4, colorType: 3 }, palette(16, 8)],
    ['2-bit palette', { width: 11, height: 5, depth: 2, colorType: 3 }, palette(4, 9)],
    ['1-bit palette', { width: 17, height: 4, depth: 1, colorType: 3 }, palette(2, 10)],
    ['interlaced 8-bit RGBA', { width: 33, height: 19, depth: 8, colorType: 6, interlace: 1 }, []],
    ['interlaced 16-bit RGB', { width: 10, height: 9, depth: 16, colorType: 2, interlace: 1 }, []],
    ['interlaced 8-bit grey, smaller than one Adam7 block', { width: 3, height: 2, depth: 8, colorType: 0, interlace: 1 }, []],
    ['interlaced 8-bit palette', { width: 21, height: 14, depth: 8, colorType: 3, interlace: 1 }, palette(256, 11)],
  ];
  it.each(cases)('decodes %s exactly as fast-png did, across every row filter', (_, h, extra) => {
    const bytes = png(h, deflateSync(filteredRows(h, h.width * 31 + h.depth)), extra, 50);
    const image = decodeImage(bytes);
    expect(image.width).toBe(h.width);
    expect(Buffer.from(image.data).equals(Buffer.from(previousDecode(bytes)))).toBe(true);
  });

  it('scales 1-, 2- and 4-bit greys to 0..255, row by row', () => {
    for (const depth of [1, 2, 4]) {
      const width = 7;
      const h = { width, height: 3, depth, colorType: 0 };
      const max = (1 << depth) - 1;
      const values = Array.from({ length: width * 3 }, (_, i) => (i * 5) % (max + 1));
      const rows: number[] = [];
      for (let y = 0; y < 3; y++) {
        const row = new Uint8Array(Math.ceil((width * depth) / 8));
        for (let x = 0; x < width; x++) row[(x * depth) >> 3]! |= values[y * width + x]! << (8 - depth - ((x * depth) & 7));
        rows.push(0, ...row);
      }
      const image = decodeImage(png(h, deflateSync(new Uint8Array(rows))));
      expect(Array.from({ length: width * 3 }, (_, i) => image.data[i * 4])).toEqual(values.map((v) => (v * 255) / max));
    }
  });

  it('refuses a 64x48 PNG whose IDAT inflates to 300 MB in under a second, without inflating it', async () => {
    const zdata = await deflatedZeros(300_000_000);
    const bomb = png({ width: 64, height: 48, depth: 8, colorType: 6 }, zdata, [], 1 << 16);
    expect(bomb.length).toBeLessThan(1_000_000);
    expect(readImageSize(bomb)).toEqual({ width: 64, height: 48, format: 'png' });
    const rss = process.memoryUsage().rss;
    const heap = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const started = performance.now();
    let refusal: unknown;
    try {
      decodeImage(bomb, { name: 'mask' });
    } catch (err) {
      refusal = err;
    }
    const ms = performance.now() - started;
    const rssGrowth = process.memoryUsage().rss - rss;
    const heapGrowth = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heap;
    process.stdout.write(`bomb: ${bomb.length} bytes ${refusal ? 'refused' : 'accepted'} in ${ms.toFixed(1)} ms, RSS +${(rssGrowth / 2 ** 20).toFixed(1)} MB, heap +${(heapGrowth / 2 ** 20).toFixed(1)} MB\n`);
    expect(refusal).toEqual(unreadable(/^mask could not be decoded as PNG \(IDAT inflates to more than the 12336 bytes that IHDR's 64x48 \(8-bit\) implies/));
    expect(ms).toBeLessThan(1000);
    expect(rssGrowth).toBeLessThan(100 * 2 ** 20);
    expect(heapGrowth).toBeLessThan(100 * 2 ** 20);
  });

  it('keeps the work bounded for image data split into one-byte IDAT chunks', () => {
    const h = { width: 256, height: 256, depth: 8, colorType: 6 };
    const rows = filteredRows(h, 3);
    const bytes = png(h, deflateSync(rows), [], 1);
    const started = performance.now();
    const image = decodeImage(bytes);
    const ms = performance.now() - started;
    expect(Buffer.from(image.data).equals(Buffer.from(previousDecode(png(h, deflateSync(rows)))))).toBe(true);
    process.stdout.write(`${bytes.length} bytes in one-byte IDAT chunks decoded in ${ms.toFixed(0)} ms\n`);
    expect(ms).toBeLessThan(5000);
  });

  it('refuses a chunk whose CRC does not match, IDAT included', () => {
    const h = { width: 16, height: 16, depth: 8, colorType: 2 };
    const bytes = png(h, deflateSync(filteredRows(h, 1)));
    const idat = Buffer.from(bytes).indexOf('IDAT');
    const corrupt = bytes.slice();
    corrupt[idat + 10] ^= 0x40; // one bit inside the compressed data
    expect(() => decodeImage(corrupt)).toThrow(unreadable(/IDAT chunk at byte 33 fails its CRC check/));
    const badCrc = bytes.slice();
    badCrc[bytes.length - 13] ^= 1; // last byte of IDAT's CRC
    expect(() => decodeImage(badCrc)).toThrow(unreadable(/IDAT chunk .* fails its CRC check/));
  });

  it('refuses truncated files, short or missing image data and data past what IHDR implies', () => {
    const h = { width: 20, height: 10, depth: 8, colorType: 6 };
    const rows = filteredRows(h, 2);
    const bytes = png(h, deflateSync(rows));
    expect(() => decodeImage(bytes.subarray(0, bytes.length - 12))).toThrow(unreadable(/without an IEND chunk \(truncated\)/));
    expect(() => decodeImage(bytes.subarray(0, bytes.length - 40))).toThrow(unreadable(/IDAT chunk at byte 33 runs past the end of the file \(truncated\)/));
    expect(() => decodeImage(png(h, deflateSync(rows.subarray(0, rows.length - 1))))).toThrow(unreadable(/IDAT holds 809 of the 810 bytes/));
    expect(() => decodeImage(png(h, deflateSync(Buffer.concat([rows, Buffer.alloc(1)]))))).toThrow(unreadable(/IDAT inflates to more than the 810 bytes/));
    expect(() => decodeImage(png(h, deflateSync(rows).subarray(0, 100)))).toThrow(unreadable(/IDAT is not valid zlib data/));
    const lyingType = png(h, deflateSync(rows.map((b, i) => (i === 0 ? 9 : b))));
    expect(() => decodeImage(lyingType)).toThrow(unreadable(/row 0 uses filter type 9/));
  });

  it('refuses palette indices past PLTE and impossible IHDR fields', () => {
    const h = { width: 4, height: 1, depth: 8, colorType: 3 };
    const plte = chunk('PLTE', new Uint8Array([1, 2, 3, 4, 5, 6]));
    expect(() => decodeImage(png(h, deflateSync(new Uint8Array([0, 0, 1, 2, 0])), [plte]))).toThrow(unreadable(/palette index 2 but PLTE has 2 entries/));
    expect(() => decodeImage(png(h, deflateSync(new Uint8Array(5))))).toThrow(unreadable(/indexed-colour PNG without a PLTE/));
    expect(() => decodeImage(png({ ...h, colorType: 2, depth: 4 }, deflateSync(new Uint8Array(5))))).toThrow(unreadable(/colour type 2 with bit depth 4/));
  });
});

describe('JPEG decoding', () => {
  it('refuses a frame whose declared size is over the pixel cap before decoding', () => {
    const jpg = Buffer.from(encodeJpeg(gradientImage(64, 48)));
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    jpg.writeUInt16BE(30000, sof + 5);
    jpg.writeUInt16BE(30000, sof + 7);
    expect(() => decodeImage(jpg)).toThrow(expect.objectContaining({ code: 'image_too_large', message: expect.stringContaining('30000x30000') }));
  });

  it('refuses more scans than a photograph has and more components than colour needs', () => {
    const jpg = Buffer.from(encodeJpeg(gradientImage(16, 16)));
    const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
    const eoi = jpg.length - 2;
    const scan = jpg.subarray(sos, eoi);
    const many = Buffer.concat([jpg.subarray(0, sos), ...Array.from({ length: 101 }, () => scan), jpg.subarray(eoi)]);
    expect(() => decodeImage(many)).toThrow(unreadable(/has 101 scans/));
    const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
    const two = Buffer.from(jpg);
    two[sof + 9] = 2;
    expect(() => decodeImage(two)).toThrow(unreadable(/declares 2 colour components/));
  });
});
