/**
 * The decoders against careless and hostile files: mutated PNG and JPEG bytes, and PNGs whose
 * IHDR lies about what IDAT holds (bombs included). Each input either decodes to an image of the
 * size its header declares, within the pixel cap, or fails with a typed SdkError; never another
 * exception, never more than about a second, never a large allocation.
 */
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { createImage, decodeImage, encodeGrayPng, encodeJpeg, encodePng, readImageSize, SdkError } from '../../core/src/index';
import { fuzz, mutatedBytes } from './settings';

const IMAGE_CODES = new Set(['image_unreadable', 'image_too_large']);
/** Time a decode may take: a second, plus what a real photo of the declared size takes (jpeg-js: ~0.1 s/MP). */
const BASE_MS = 1_000;
const MS_PER_DECLARED_MP = 200;
/**
 * What a decode may hold: a fixed allowance plus a few buffers of the size the header declares
 * (the pixel cap bounds that). A decoder that allocates for more than the header says fails.
 */
const BASE_GROWTH = 24 * 2 ** 20;
const BYTES_PER_DECLARED_PIXEL = 32;

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, body: Uint8Array, goodCrc = true): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(goodCrc ? crc32(Buffer.concat([head.subarray(4), body])) : 0xdeadbeef, 0);
  return Buffer.concat([head, body, crc]);
}

interface LyingPng {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlace: number;
  raw: { zeros: number } | { bytes: Uint8Array } | { bomb: true };
  goodCrc: boolean;
  palette: boolean;
}

/** 128 MiB of zeros deflated (about 130 kB), made once: the shape of the 300 MB mask bomb. */
let bigBomb: Buffer | null = null;
const bombIdat = (): Buffer => (bigBomb ??= deflateSync(Buffer.alloc(128 * 2 ** 20), { level: 1 }));

function buildPng(p: LyingPng): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(p.width, 0);
  ihdr.writeUInt32BE(p.height, 4);
  ihdr.writeUInt8(p.depth, 8);
  ihdr.writeUInt8(p.colorType, 9);
  ihdr.writeUInt8(0, 10);
  ihdr.writeUInt8(0, 11);
  ihdr.writeUInt8(p.interlace, 12);
  const idat = 'bomb' in p.raw ? bombIdat() : deflateSync('zeros' in p.raw ? Buffer.alloc(p.raw.zeros) : Buffer.from(p.raw.bytes), { level: 1 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(p.palette ? [chunk('PLTE', Buffer.alloc(48, 0x80))] : []),
    chunk('IDAT', idat, p.goodCrc),
    chunk('IEND', new Uint8Array()),
  ]);
}

const smallImage = fc.record({ w: fc.integer({ min: 1, max: 24 }), h: fc.integer({ min: 1, max: 24 }), fill: fc.integer({ min: 0, max: 255 }) }).map(({ w, h, fill }) => {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + fill) & 0xff;
  return createImage(w, h, data);
});

const validPng = fc.oneof(
  smallImage.map((img) => encodePng(img)),
  smallImage.map((img) => encodeGrayPng(img.width, img.height, Uint8Array.from(img.data.subarray(0, img.width * img.height)))),
);
const validJpeg = smallImage.map((img) => encodeJpeg(img, 80));

/** A JPEG whose SOF0 declares another size than its scan holds. */
const lyingJpeg = fc.tuple(validJpeg, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([bytes, h, w]) => {
  const out = Uint8Array.from(bytes);
  for (let i = 2; i + 8 < out.length; i++) {
    if (out[i] === 0xff && out[i + 1] === 0xc0) {
      out[i + 5] = h >> 8;
      out[i + 6] = h & 0xff;
      out[i + 7] = w >> 8;
      out[i + 8] = w & 0xff;
      break;
    }
  }
  return out;
});

const lyingPng = fc
  .record({
    width: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 70_000 }), fc.nat()),
    height: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 70_000 }), fc.nat()),
    depth: fc.oneof(fc.constantFrom(1, 2, 4, 8, 16), fc.integer({ min: 0, max: 255 })),
    colorType: fc.oneof(fc.constantFrom(0, 2, 3, 4, 6), fc.integer({ min: 0, max: 255 })),
    interlace: fc.constantFrom(0, 0, 1, 2),
    // Mostly small bodies; sometimes a bomb: megabytes of zeros that deflate to a few kB.
    raw: fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((bytes) => ({ bytes })) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 24 * 2 ** 20 }).map((zeros) => ({ zeros })) },
      { weight: 1, arbitrary: fc.constant({ bomb: true as const }) },
    ),
    goodCrc: fc.boolean(),
    palette: fc.boolean(),
  })
  .map(buildPng);

const input = fc.oneof(mutatedBytes(new Uint8Array()).map(() => new Uint8Array()), validPng.chain((b) => mutatedBytes(b)), validJpeg.chain((b) => mutatedBytes(b)), lyingPng, lyingJpeg, fc.uint8Array({ maxLength: 256 }));
const maxPixels = fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 4_000_000 }));

function checkDecode(bytes: Uint8Array, limit: number | undefined): void {
  const before = process.memoryUsage();
  const started = performance.now();
  try {
    const image = decodeImage(bytes, { maxPixels: limit, name: 'fuzz.png' });
    expect(image.width).toBeGreaterThan(0);
    expect(image.height).toBeGreaterThan(0);
    expect(image.data.length).toBe(image.width * image.height * 4);
    expect(image.width * image.height).toBeLessThanOrEqual(limit ?? 64_000_000);
  } catch (err) {
    if (!(err instanceof SdkError)) throw new Error(`decodeImage threw ${String(err)} (not an SdkError)`);
    expect(IMAGE_CODES.has(err.code)).toBe(true);
    expect(err.message.length).toBeGreaterThan(0);
  }
  const ms = performance.now() - started;
  const size = readImageSize(bytes);
  const declared = size ? Math.min(size.width * size.height, limit ?? 64_000_000) : 0;
  if (ms > BASE_MS + (MS_PER_DECLARED_MP * declared) / 1e6) throw new Error(`decodeImage took ${ms.toFixed(0)} ms on ${bytes.length} bytes declaring ${declared} pixels`);
  const after = process.memoryUsage();
  const growth = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  if (growth > BASE_GROWTH + BYTES_PER_DECLARED_PIXEL * declared) throw new Error(`decodeImage held ${(growth / 2 ** 20).toFixed(0)} MB more after decoding ${bytes.length} bytes`);
}

describe('decodeImage under fuzzing', () => {
  it('mutated PNG and JPEG bytes decode to the declared size or fail with image_unreadable / image_too_large', async () => {
    await fuzz('mutated', fc.property(input, maxPixels, (bytes, limit) => checkDecode(bytes, limit)), { runs: 1_500, ms: 12_000 });
  });

  it('PNGs whose IHDR lies about IDAT (bombs, wrong depth and colour type, bad CRC) stop early', async () => {
    await fuzz('lying', fc.property(lyingPng, maxPixels, (bytes, limit) => checkDecode(bytes, limit)), { runs: 300, ms: 8_000 });
  });
});
