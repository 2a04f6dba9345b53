import { decodeImage, encodeGrayPng, encodeJpeg, encodePng, readImageSize } from '../src/image/codecs';
import { createImage, createMask, maskFromImage } from '../src/image/image';
import { cropImage, featherMask, growMask, padImage } from '../src/image/ops';
import { resizeImage, resizeMask } from '../src/image/resize';
import { colorMatch, compositeThroughMask, labToRgb, rgbToLab, ringAround } from '../src/image/color';
import { poissonBlend } from '../src/image/poisson';
import { boxMask, gradientImage } from './helpers';

describe('codecs', () => {
  it('round-trips RGBA through PNG byte for byte', () => {
    const img = gradientImage(37, 21, 200);
    const back = decodeImage(encodePng(img));
    expect(back.width).toBe(37);
    expect(Buffer.from(back.data).equals(Buffer.from(img.data))).toBe(true);
  });

  it('decodes JPEG close to the original and reads sizes from headers', () => {
    const img = gradientImage(64, 48);
    const jpg = encodeJpeg(img, 95);
    expect(readImageSize(jpg)).toEqual({ width: 64, height: 48, format: 'jpeg' });
    const back = decodeImage(jpg);
    let err = 0;
    for (let i = 0; i < img.data.length; i += 4) err += Math.abs(back.data[i]! - img.data[i]!);
    expect(err / (64 * 48)).toBeLessThan(6);
  });

  it('decodes grayscale PNG masks to RGBA', () => {
    const data = new Uint8Array([0, 128, 255, 7]);
    const back = decodeImage(encodeGrayPng(2, 2, data));
    expect(Array.from(maskFromImage(back).data)).toEqual([0, 128, 255, 7]);
  });

  it('refuses non-images, truncated files and images over the pixel cap before decoding', () => {
    expect(() => decodeImage(new TextEncoder().encode('hello'))).toThrow(expect.objectContaining({ code: 'image_unreadable' }));
    const png = encodePng(gradientImage(40, 40));
    expect(() => decodeImage(png.subarray(0, 60))).toThrow(expect.objectContaining({ code: 'image_unreadable' }));
    expect(() => decodeImage(png, { maxPixels: 1000 })).toThrow(expect.objectContaining({ code: 'image_too_large' }));
  });
});

describe('masks', () => {
  it('carry the bounds of their non-zero pixels', () => {
    expect(boxMask(20, 10, 3, 2, 5, 4).bounds).toEqual({ x: 3, y: 2, width: 5, height: 4 });
    expect(createMask(5, 5).bounds).toBeNull();
  });

  it('treat black as keep and white as edit when read from an image', () => {
    const img = createImage(2, 1, new Uint8ClampedArray([0, 0, 0, 255, 255, 255, 255, 255]));
    expect(Array.from(maskFromImage(img).data)).toEqual([0, 255]);
  });

  it('grow by a disc and feather softly', () => {
    const m = boxMask(30, 30, 10, 10, 10, 10);
    const g = growMask(m, 3);
    expect(g.bounds).toEqual({ x: 7, y: 7, width: 16, height: 16 });
    expect(g.data[7 * 30 + 7]).toBe(0); // corner of the square grown by a disc stays outside
    expect(growMask(m, -2).bounds).toEqual({ x: 12, y: 12, width: 6, height: 6 });
    const big = boxMask(40, 40, 5, 5, 30, 30);
    const f = featherMask(big, 4);
    expect(f.data[20 * 40 + 20]).toBe(255);
    expect(f.data[20 * 40 + 5]).toBeGreaterThan(60);
    expect(f.data[20 * 40 + 5]).toBeLessThan(200);
    expect(f.data[20 * 40 + 0]).toBeLessThan(f.data[20 * 40 + 5]!);
  });
});

describe('resize, crop, pad', () => {
  it('keeps a flat colour flat and averages a checkerboard when downscaling', () => {
    const flat = createImage(50, 30);
    flat.data.fill(0);
    for (let i = 0; i < flat.data.length; i += 4) flat.data.set([10, 200, 90, 255], i);
    const r = resizeImage(flat, 17, 11);
    for (let i = 0; i < r.data.length; i += 4) expect(Array.from(r.data.subarray(i, i + 4))).toEqual([10, 200, 90, 255]);
    const checker = createImage(64, 64);
    for (let i = 0; i < 64 * 64; i++) checker.data.set(((i % 64) + Math.floor(i / 64)) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255], i * 4);
    const small = resizeImage(checker, 16, 16);
    for (let i = 0; i < small.data.length; i += 4) expect(Math.abs(small.data[i]! - 128)).toBeLessThan(4);
  });

  it('resizes masks with the same kernel', () => {
    const m = resizeMask(boxMask(40, 40, 0, 0, 20, 40), 10, 10);
    expect(m.data[5 * 10 + 1]).toBe(255);
    expect(m.data[5 * 10 + 8]).toBe(0);
  });

  it('crops outside the canvas as transparent and pads at an offset', () => {
    const img = gradientImage(10, 10);
    const c = cropImage(img, { x: -2, y: 0, width: 4, height: 1 });
    expect(Array.from(c.data.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(c.data.subarray(8, 12))).toEqual(Array.from(img.data.subarray(0, 4)));
    const p = padImage(img, 14, 10, 3, 0);
    expect(Array.from(p.data.subarray(3 * 4, 3 * 4 + 4))).toEqual(Array.from(img.data.subarray(0, 4)));
  });
});

describe('colour', () => {
  it('finds the ring around a mask exactly as a brute-force distance check does, at image edges too', () => {
    let seed = 5;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let k = 0; k < 12; k++) {
      const w = 20 + rnd(40);
      const h = 20 + rnd(40);
      const data = new Uint8Array(w * h);
      for (let b = 0; b < 1 + rnd(3); b++) {
        const [bx, by, bw, bh] = [rnd(w), rnd(h), 1 + rnd(12), 1 + rnd(12)];
        for (let y = by; y < Math.min(h, by + bh); y++) for (let x = bx; x < Math.min(w, bx + bw); x++) data[y * w + x] = 1 + rnd(255);
      }
      const width = [1, 2.5, 4, 8][k % 4]!;
      const ring = ringAround(createMask(w, h, data), width);
      const inside: [number, number][] = [];
      for (let i = 0; i < w * h; i++) if (data[i]) inside.push([i % w, Math.floor(i / w)]);
      for (let i = 0; i < w * h; i++) {
        const [x, y] = [i % w, Math.floor(i / w)];
        const near = !data[i] && inside.some(([ix, iy]) => Math.hypot(ix - x, iy - y) <= width);
        if ((ring[i] === 1) !== near) throw new Error(`case ${k} (${w}x${h}, width ${width}): pixel ${x},${y} is ${ring[i] ? '' : 'not '}in the ring`);
      }
    }
    expect(ringAround(createMask(10, 10), 3).every((v) => v === 0)).toBe(true);
  });

  it('converts sRGB to Lab and back', () => {
    const lab = rgbToLab(255, 255, 255);
    expect(lab[0]).toBeCloseTo(100, 2);
    expect(Math.abs(lab[1]!)).toBeLessThan(0.01);
    expect(labToRgb(...(rgbToLab(200, 30, 120) as [number, number, number]))).toEqual([200, 30, 120]);
  });

  it('removes a colour cast measured on the ring around the mask', () => {
    const src = gradientImage(40, 40);
    const shifted = createImage(40, 40, new Uint8ClampedArray(src.data));
    for (let i = 0; i < shifted.data.length; i += 4) shifted.data[i] = Math.min(255, shifted.data[i]! + 40);
    const mask = boxMask(40, 40, 12, 12, 16, 16);
    const fixed = colorMatch(shifted, src, mask, 6);
    let before = 0;
    let after = 0;
    for (let y = 12; y < 28; y++) {
      for (let x = 12; x < 28; x++) {
        const o = (y * 40 + x) * 4;
        before += Math.abs(shifted.data[o]! - src.data[o]!);
        after += Math.abs(fixed.data[o]! - src.data[o]!);
      }
    }
    expect(after).toBeLessThan(before / 3);
  });

  it('Poisson blending removes an offset inside the mask while keeping its detail', () => {
    const src = gradientImage(40, 40);
    const shifted = createImage(40, 40, new Uint8ClampedArray(src.data));
    for (let i = 0; i < shifted.data.length; i += 4) shifted.data[i + 1] = Math.max(0, shifted.data[i + 1]! - 60);
    const mask = boxMask(40, 40, 10, 10, 20, 20);
    const out = poissonBlend(shifted, src, mask);
    let before = 0;
    let after = 0;
    for (let y = 10; y < 30; y++) {
      for (let x = 10; x < 30; x++) {
        const o = (y * 40 + x) * 4 + 1;
        before += Math.abs(shifted.data[o]! - src.data[o]!);
        after += Math.abs(out.data[o]! - src.data[o]!);
      }
    }
    expect(after).toBeLessThan(before / 10);
    // outside the mask the generated image is returned untouched (compositing decides the rest)
    expect(out.data[0]).toBe(shifted.data[0]);
  });

  it('composites through a mask leaving unmasked pixels byte-identical', () => {
    const src = gradientImage(20, 20);
    const gen = createImage(20, 20);
    gen.data.fill(7);
    const mask = featherMask(boxMask(20, 20, 3, 3, 14, 14), 3);
    const out = compositeThroughMask(src, gen, mask);
    for (let i = 0; i < mask.data.length; i++) {
      if (mask.data[i] === 0) expect(Array.from(out.data.subarray(i * 4, i * 4 + 4))).toEqual(Array.from(src.data.subarray(i * 4, i * 4 + 4)));
    }
    expect(out.data[(10 * 20 + 10) * 4]).toBe(7);
  });
});
