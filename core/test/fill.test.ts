import { patchMatchFill, type FillHooks } from '../src/fill/index';
import { patchCost, randomField, sweep, type Field } from '../src/fill/nnf';
import { baseLevel, CH, onionFill, sourceCentres, targetCentres, type Level } from '../src/fill/pyramid';
import { seedState } from '../src/fill/random';
import { vote, voteScratch } from '../src/fill/vote';
import { createImage, createMask, type Mask, type RgbaImage } from '../src/image/image';
import { SdkError } from '../src/util/errors';

/** Diagonal stripes (period 8) with a deterministic sprinkle of noise: a texture with structure. */
function texture(width: number, height: number): RgbaImage {
  const img = createImage(width, height);
  let s = 99;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      s = (Math.imul(s, 1103515245) + 12345) | 0;
      const o = (y * width + x) * 4;
      const stripe = (x + y) % 8 < 4 ? 200 : 50;
      img.data[o] = stripe + ((s >>> 16) % 9);
      img.data[o + 1] = 255 - stripe;
      img.data[o + 2] = 60 + y;
      img.data[o + 3] = 255;
    }
  }
  return img;
}

function box(width: number, height: number, x: number, y: number, w: number, h: number, value = 255): Mask {
  const data = new Uint8Array(width * height);
  for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) data[yy * width + xx] = value;
  return createMask(width, height, data);
}

/** Sets the pixels under the mask to garbage, as an editor would hand us an object to remove. */
function damaged(img: RgbaImage, mask: Mask): RgbaImage {
  const out = createImage(img.width, img.height, new Uint8ClampedArray(img.data));
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) out.data.set([255, 0, 255, 255], i * 4);
  return out;
}

function maskedMse(a: RgbaImage, b: RgbaImage, mask: Mask): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (!mask.data[i]) continue;
    for (let c = 0; c < 3; c++) sum += (a.data[i * 4 + c]! - b.data[i * 4 + c]!) ** 2;
    n += 3;
  }
  return sum / n;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(SdkError);
    return (e as SdkError).code;
  }
  throw new Error('expected the fill to fail');
}

describe('patchMatchFill', () => {
  it('leaves every pixel outside the mask byte-identical and does not touch its input', async () => {
    const truth = texture(96, 80);
    const mask = box(96, 80, 30, 20, 25, 30);
    const input = damaged(truth, mask);
    const before = new Uint8ClampedArray(input.data);
    const out = await patchMatchFill(input, mask, { seed: 3 });
    expect(out).not.toBe(input);
    expect(Buffer.from(input.data).equals(Buffer.from(before))).toBe(true);
    let changed = 0;
    for (let i = 0; i < mask.data.length; i++) {
      if (mask.data[i]) continue;
      for (let c = 0; c < 4; c++) if (out.data[i * 4 + c] !== input.data[i * 4 + c]) changed++;
    }
    expect(changed).toBe(0);
    // and the garbage under the mask is gone
    let magenta = 0;
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i] && out.data[i * 4] === 255 && out.data[i * 4 + 1] === 0) magenta++;
    expect(magenta).toBe(0);
  });

  it('is deterministic for a seed', async () => {
    const mask = box(80, 64, 20, 16, 30, 20);
    const input = damaged(texture(80, 64), mask);
    const a = await patchMatchFill(input, mask, { seed: 42 });
    const b = await patchMatchFill(input, mask, { seed: 42 });
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
  });

  it('fills a textured image far better than the mean colour would', async () => {
    const truth = texture(128, 128);
    const mask = box(128, 128, 48, 48, 32, 32);
    const out = await patchMatchFill(damaged(truth, mask), mask, { seed: 1 });
    const mean = createImage(128, 128, new Uint8ClampedArray(truth.data));
    const avg = [0, 0, 0];
    let n = 0;
    for (let i = 0; i < mask.data.length; i++) {
      if (mask.data[i]) continue;
      for (let c = 0; c < 3; c++) avg[c]! += truth.data[i * 4 + c]!;
      n++;
    }
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) mean.data.set([avg[0]! / n, avg[1]! / n, avg[2]! / n, 255], i * 4);
    const fillMse = maskedMse(out, truth, mask);
    const meanMse = maskedMse(mean, truth, mask);
    expect(fillMse).toBeLessThan(meanMse / 10);
  });

  it('blends soft mask values between the input and the fill', async () => {
    const w = 64;
    const input = createImage(w, w);
    for (let i = 0; i < w * w; i++) input.data.set([200, 200, 200, 255], i * 4);
    const data = new Uint8Array(w * w);
    for (let y = 20; y < 40; y++) for (let x = 20; x < 40; x++) data[y * w + x] = x < 30 ? 255 : 128;
    for (let i = 0; i < data.length; i++) if (data[i]) input.data.set([0, 0, 0, 255], i * 4);
    const out = await patchMatchFill(input, createMask(w, w, data));
    expect(out.data[(25 * w + 25) * 4]).toBe(200); // 255: all fill
    expect(Math.abs(out.data[(25 * w + 35) * 4]! - 100)).toBeLessThanOrEqual(1); // 128: half way
  });

  it('never copies from the excluded region', async () => {
    const w = 80;
    const input = createImage(w, w);
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) input.data.set(x < w / 2 ? [220, 30, 30, 255] : [30, 220, 30, 255], (y * w + x) * 4);
    const mask = box(w, w, 30, 30, 20, 20);
    const exclude = box(w, w, w / 2, 0, w / 2, w);
    const out = await patchMatchFill(input, mask, { exclude, seed: 5 });
    for (let i = 0; i < mask.data.length; i++) {
      if (!mask.data[i]) continue;
      expect(out.data[i * 4]).toBeGreaterThan(200);
      expect(out.data[i * 4 + 1]).toBeLessThan(50);
    }
  });

  it('extends a canvas (outpainting): transparent margin becomes opaque texture', async () => {
    const truth = texture(96, 64);
    const input = createImage(96, 64, new Uint8ClampedArray(truth.data));
    const mask = box(96, 64, 76, 0, 20, 64);
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) input.data.set([0, 0, 0, 0], i * 4);
    const out = await patchMatchFill(input, mask, { seed: 2 });
    let transparent = 0;
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i] && out.data[i * 4 + 3] !== 255) transparent++;
    expect(transparent).toBe(0);
    expect(maskedMse(out, truth, mask)).toBeLessThan(500);
  });

  it('reports progress up to its total and can be cancelled mid-fill', async () => {
    const mask = box(160, 160, 50, 50, 60, 60);
    const input = damaged(texture(160, 160), mask);
    const seen: Array<[number, number]> = [];
    await patchMatchFill(input, mask, {}, { onProgress: (d, t) => seen.push([d, t]) });
    const total = seen[0]![1];
    expect(seen[seen.length - 1]).toEqual([total, total]);

    let calls = 0;
    const hooks: FillHooks = {
      onProgress: (done) => {
        if (done >= 2) calls++;
      },
      isCancelled: () => calls > 0,
    };
    expect(await codeOf(patchMatchFill(input, mask, {}, hooks))).toBe('cancelled');
  });

  it('yields to the event loop so a cancel message can arrive', async () => {
    const mask = box(256, 256, 64, 64, 128, 128);
    const input = damaged(texture(256, 256), mask);
    let cancelled = false;
    setTimeout(() => {
      cancelled = true;
    }, 1);
    let finished = false;
    const code = await codeOf(
      patchMatchFill(input, mask, { iterations: 20 }, { isCancelled: () => cancelled }).finally(() => {
        finished = true;
      }),
    );
    expect(code).toBe('cancelled');
    expect(finished).toBe(true);
  });

  it('handles tiny images and holes on the border', async () => {
    const tiny = texture(6, 5);
    const one = box(6, 5, 2, 2, 1, 1);
    const out = await patchMatchFill(damaged(tiny, one), one);
    expect(out.data[(2 * 6 + 2) * 4 + 1]).not.toBe(0); // the magenta pixel was replaced
    const corner = box(40, 30, 0, 0, 12, 9);
    const filled = await patchMatchFill(damaged(texture(40, 30), corner), corner, { patchSize: 9 });
    let magenta = 0;
    for (let i = 0; i < corner.data.length; i++) if (corner.data[i] && filled.data[i * 4] === 255 && filled.data[i * 4 + 1] === 0) magenta++;
    expect(magenta).toBe(0);
  });

  it('fills every masked pixel even when the mask carries stale bounds', async () => {
    const fresh = box(48, 48, 30, 30, 8, 8);
    const stale = { ...fresh, bounds: { x: 30, y: 30, width: 2, height: 2 } };
    const out = await patchMatchFill(damaged(texture(48, 48), fresh), stale);
    expect(out.data[(37 * 48 + 37) * 4 + 1]).not.toBe(0);
  });

  it('rejects a mask of another size, an empty mask and bad options with clear codes', async () => {
    const img = texture(32, 32);
    expect(await codeOf(patchMatchFill(img, box(31, 32, 4, 4, 4, 4)))).toBe('mask_size_mismatch');
    expect(await codeOf(patchMatchFill(img, box(32, 32, 4, 4, 4, 4), { exclude: box(16, 16, 0, 0, 1, 1) }))).toBe('mask_size_mismatch');
    expect(await codeOf(patchMatchFill(img, createMask(32, 32)))).toBe('mask_empty');
    expect(await codeOf(patchMatchFill(img, box(32, 32, 4, 4, 4, 4), { patchSize: 6 }))).toBe('invalid_argument');
    expect(await codeOf(patchMatchFill(img, box(32, 32, 0, 0, 32, 32)))).toBe('invalid_argument');
    expect(await codeOf(patchMatchFill(img, box(32, 32, 4, 4, 4, 4), { iterations: 0 }))).toBe('invalid_argument');
  });
});

describe('structure and texture (the membrane under the patches)', () => {
  /** A smooth two-way ramp with fine texture: the truth under any hole is known. */
  function ramp(w: number, h: number, texture: number): RgbaImage {
    const img = createImage(w, h);
    let s = 7;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        s = (s * 1103515245 + 12345) >>> 0;
        const n = ((s >>> 16) % (2 * texture + 1)) - texture;
        img.data.set([40 + (150 * x) / w + n, 60 + (120 * y) / h + n, 200 - (100 * (x + y)) / (w + h) + n, 255], (y * w + x) * 4);
      }
    }
    return img;
  }
  const hole = (w: number, h: number): Mask => {
    const d = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x - w / 2) ** 2 + (y - h / 2) ** 2 < (w / 5) ** 2) d[y * w + x] = 255;
    return createMask(w, h, d);
  };
  /** RMS error against the truth over the hole, per channel value. */
  const rms = (a: RgbaImage, b: RgbaImage, m: Mask): number => {
    let s = 0;
    let n = 0;
    for (let i = 0; i < m.data.length; i++) {
      if (!m.data[i]) continue;
      for (let c = 0; c < 3; c++) s += (a.data[i * 4 + c]! - b.data[i * 4 + c]!) ** 2;
      n += 3;
    }
    return Math.sqrt(s / n);
  };

  it('brings the low frequencies of a fill on a smooth ramp much closer to the truth, and leaves known pixels alone', async () => {
    const truth = ramp(160, 120, 2);
    const m = hole(160, 120);
    const input = createImage(160, 120, new Uint8ClampedArray(truth.data));
    for (let i = 0; i < m.data.length; i++) if (m.data[i]) input.data.set([0, 0, 0, 255], i * 4);
    const patches = await patchMatchFill(input, m, { seed: 1, structure: 0 });
    const both = await patchMatchFill(input, m, { seed: 1 });
    const membrane = await patchMatchFill(input, m, { seed: 1, structure: 1 });
    const [ep, eb, em] = [rms(patches, truth, m), rms(both, truth, m), rms(membrane, truth, m)];
    // Patches copy the ramp's colours from elsewhere: steps of several levels. The membrane of a
    // linear ramp is the ramp itself, up to the texture (+-2).
    expect(ep).toBeGreaterThan(6);
    expect(em).toBeLessThan(ep / 2);
    expect(eb).toBeLessThan(ep * 0.75);
    for (let i = 0; i < m.data.length; i++) if (!m.data[i]) for (let c = 0; c < 4; c++) expect(both.data[i * 4 + c]).toBe(input.data[i * 4 + c]);
  });

  it('keeps the texture the patches bring (the gradient energy in the hole)', async () => {
    const truth = ramp(160, 120, 20);
    const m = hole(160, 120);
    const energy = (img: RgbaImage): number => {
      let e = 0;
      for (let i = 0; i < m.data.length; i++) if (m.data[i]) e += (img.data[i * 4]! - img.data[(i + 1) * 4]!) ** 2;
      return e;
    };
    const both = await patchMatchFill(truth, m, { seed: 1 });
    const patches = await patchMatchFill(truth, m, { seed: 1, structure: 0 });
    expect(energy(both)).toBeGreaterThan(0.8 * energy(patches));
    expect(energy(both)).toBeGreaterThan(0.5 * energy(truth));
  });

  it('refuses a structure share outside 0..1', async () => {
    await expect(patchMatchFill(ramp(40, 40, 2), hole(40, 40), { structure: 1.5 })).rejects.toThrow(/structure must be a number from 0 to 1/);
  });
});

describe('patchMatchFill internals', () => {
  /** A level, its targets and sources, and a random field on it, as patchMatchFill builds them. */
  function setup(seed: number) {
    const w = 72;
    const h = 60;
    const r = 3;
    const mask = box(w, h, 20, 18, 26, 22);
    const input = damaged(texture(w, h), mask);
    const level = baseLevel(input.data, w, mask.data, null, { x: 0, y: 0, w, h });
    onionFill(level);
    const src = sourceCentres(level, r);
    const tgt = targetCentres(level, r);
    const weight = new Float32Array(w * h);
    for (let i = 0; i < weight.length; i++) weight[i] = level.hole[i] ? 0.3 : 1;
    const field: Field = {
      nnf: new Int32Array(w * h),
      cost: new Float32Array(w * h),
      isTarget: tgt.isTarget,
      targets: tgt.list,
      valid: src.valid,
      validList: src.list,
      weight,
      columnsA: new Float64Array(2 * r + 1),
      columnsB: new Float64Array(2 * r + 1),
    };
    randomField(field, seedState(seed));
    return { level, field, r, w, h };
  }

  function directCost(level: Level, field: Field, r: number, p: number): number {
    const { w, h } = level;
    const px = p % w;
    const py = (p - px) / w;
    return patchCost(level.img, field.weight, w, p, field.nnf[p]!, Math.max(-r, -px), Math.min(r, w - 1 - px), Math.max(-r, -py), Math.min(r, h - 1 - py), Infinity);
  }

  it('leaves every target with the cost of its match, also where a coherent run shortcuts the sum', () => {
    const { level, field, r } = setup(7);
    let rng = seedState(1);
    const n = field.targets.length;
    for (const dir of [1, -1, 1] as const) {
      rng = sweep(level, field, r, dir, 0, n, 16, 8, rng);
      let worst = 0;
      for (const p of field.targets) {
        const want = directCost(level, field, r, p);
        worst = Math.max(worst, Math.abs(field.cost[p]! - want) / Math.max(1, want));
      }
      expect(worst).toBeLessThan(1e-5);
    }
    // The sweeps improved the random field, and most targets now continue their left neighbour's match.
    let coherent = 0;
    for (const p of field.targets) if (field.isTarget[p - 1] && field.nnf[p] === field.nnf[p - 1]! + 1) coherent++;
    expect(coherent).toBeGreaterThan(n / 4);
  });

  it('votes each hole pixel to the weighted mean of what the covering matches put there', () => {
    const { level, field, r, w, h } = setup(3);
    const conf = new Float32Array(w * h).fill(1);
    for (const q of level.holeList) conf[q] = 0.5 + (q % 7) / 14;
    // Make runs of coherent matches, which the vote folds together.
    for (const p of field.targets) if (field.isTarget[p - 1] && p % 3 !== 0 && field.valid[field.nnf[p - 1]! + 1]) field.nnf[p] = field.nnf[p - 1]! + 1;
    // Reference: scatter every target's patch into accumulators.
    const acc = new Float64Array(w * h * CH);
    const sum = new Float64Array(w * h);
    for (const p of field.targets) {
      const px = p % w;
      const py = (p - px) / w;
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          if (px + dx < 0 || px + dx >= w || py + dy < 0 || py + dy >= h) continue;
          const q = p + dy * w + dx;
          if (!level.hole[q]) continue;
          const s = field.nnf[p]! + dy * w + dx;
          const wt = conf[p]! + 1e-30;
          for (let c = 0; c < CH; c++) acc[q * CH + c]! += wt * level.img[s * CH + c]!;
          sum[q]! += wt;
        }
      }
    }
    vote(level, field, r, conf, voteScratch(level), -1);
    let worst = 0;
    for (const q of level.holeList) {
      for (let c = 0; c < CH; c++) worst = Math.max(worst, Math.abs(level.img[q * CH + c]! - acc[q * CH + c]! / sum[q]!));
    }
    expect(worst).toBeLessThan(1e-3);
  });
});
