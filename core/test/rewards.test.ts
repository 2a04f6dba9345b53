import { analyticCoherence } from '../src/rewards/analytic-coherence';
import { parseRankWeights, rankCandidates, resolveWeights } from '../src/rewards/rank';
import { createImage, createMask, type Mask, type RgbaImage } from '../src/image/image';
import { Rng } from '../src/samplers/noise';

/** A stationary random texture: a few oriented sinusoids plus pixel noise, random palette. */
function texture(rng: Rng, w: number, h: number): RgbaImage {
  const img = createImage(w, h);
  const waves = Array.from({ length: 3 }, () => ({ fx: rng.uniform() * 0.5, fy: rng.uniform() * 0.5, ph: rng.uniform() * 6.28, amp: 20 + rng.uniform() * 40 }));
  const base = [60 + rng.uniform() * 140, 60 + rng.uniform() * 140, 60 + rng.uniform() * 140];
  const tint = [rng.uniform(), rng.uniform(), rng.uniform()];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (const wv of waves) v += wv.amp * Math.sin(wv.fx * x + wv.fy * y + wv.ph);
      const o = (y * w + x) * 4;
      for (let c = 0; c < 3; c++) img.data[o + c] = base[c]! + v * tint[c]! + rng.normal() * 6;
      img.data[o + 3] = 255;
    }
  }
  return img;
}

function randomMask(rng: Rng, w: number, h: number): Mask {
  const data = new Uint8Array(w * h);
  const cx = w * (0.35 + rng.uniform() * 0.3);
  const cy = h * (0.35 + rng.uniform() * 0.3);
  const rx = w * (0.12 + rng.uniform() * 0.12);
  const ry = h * (0.12 + rng.uniform() * 0.12);
  const box = rng.uniform() < 0.5;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = box ? Math.abs(x - cx) < rx && Math.abs(y - cy) < ry : ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1;
      if (inside) data[y * w + x] = 255;
    }
  }
  return createMask(w, h, data);
}

type Defect = 'seam' | 'blur' | 'color';

/** The same image with the masked region damaged the way bad fills look. */
function damage(img: RgbaImage, mask: Mask, defect: Defect, rng: Rng): RgbaImage {
  const { width: w, height: h } = img;
  const out = createImage(w, h, new Uint8ClampedArray(img.data));
  const dx = 5 + Math.floor(rng.uniform() * 6);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (mask.data[i] === 0) continue;
      for (let c = 0; c < 3; c++) {
        let v: number;
        if (defect === 'seam') {
          // pasted from elsewhere: the same texture, misaligned at the border
          v = img.data[(y * w + Math.min(w - 1, x + dx)) * 4 + c]!;
        } else if (defect === 'blur') {
          let s = 0;
          let n = 0;
          for (let yy = y - 3; yy <= y + 3; yy++) for (let xx = x - 3; xx <= x + 3; xx++) if (xx >= 0 && yy >= 0 && xx < w && yy < h) { s += img.data[(yy * w + xx) * 4 + c]!; n++; }
          v = s / n;
        } else {
          v = img.data[i * 4 + c]! * (c === 0 ? 1.18 : c === 2 ? 0.85 : 1);
        }
        out.data[i * 4 + c] = v;
      }
    }
  }
  return out;
}

describe('analytic coherence', () => {
  it('ranks a clean composite above the same one with a seam, blur or colour shift in >= 95 % of synthetic pairs', () => {
    const rng = new Rng(2024);
    let wins = 0;
    let pairs = 0;
    const failures: string[] = [];
    for (let k = 0; k < 40; k++) {
      const img = texture(rng, 72, 72);
      const mask = randomMask(rng, 72, 72);
      const clean = analyticCoherence({ image: img, mask, prompt: '', mode: 'erase' }).score;
      for (const defect of ['seam', 'blur', 'color'] as const) {
        const bad = analyticCoherence({ image: damage(img, mask, defect, rng), mask, prompt: '', mode: 'erase' }).score;
        pairs++;
        if (clean > bad) wins++;
        else failures.push(`${k}:${defect}`);
      }
    }
    expect(pairs).toBe(120);
    expect(wins / pairs).toBeGreaterThanOrEqual(0.95);
  });

  it('gives the same numbers as over the whole crop (known answers recorded before it worked on the region and ring only)', () => {
    const rng = new Rng(77);
    const cases: [number, number, number, number, number, number][] = [[120, 90, 40, 30, 30, 25], [96, 96, 0, 0, 20, 40], [80, 60, 60, 45, 20, 15], [200, 150, 90, 10, 60, 100]];
    const got = cases.map(([w, h, mx, my, mw, mh]) => {
      const img = createImage(w, h);
      for (let i = 0; i < w * h * 4; i++) img.data[i] = i % 4 === 3 ? 255 : Math.floor(rng.uniform() * 256);
      const d = new Uint8Array(w * h);
      for (let y = my; y < my + mh; y++) for (let x = mx; x < mx + mw; x++) d[y * w + x] = (x + y) % 7 === 0 ? 100 : 255;
      const r = analyticCoherence({ image: img, mask: createMask(w, h, d), prompt: '', mode: 'erase' });
      return [r.seam, r.colour, r.texture, r.score];
    });
    // Recorded with the whole-crop implementation (before 2026-12-04); masks at a corner and an edge included.
    expect(got).toEqual([
      [0.9883907602883013, 0.024503223161446805, 0.001116239841079472, -1.0140102232908277],
      [1.0049957229079318, 0.059133800607862205, 0.0071806011580386655, -1.0713101246738326],
      [1.0387958650624625, 0.06088715863799627, 0.020108950048796394, -1.119791973749255],
      [0.9770432433932065, 0.014293915528826601, 0.032101917467497985, -1.0234390763895311],
    ]);
  });

  it('scores a flawless fill at zero penalty on a flat image', () => {
    const img = createImage(32, 32);
    for (let i = 0; i < 32 * 32; i++) img.data.set([100, 120, 140, 255], i * 4);
    const mask = createMask(32, 32, new Uint8Array(32 * 32).map((_, i) => ((i % 32) > 10 && (i % 32) < 20 && i > 320 && i < 640 ? 255 : 0)));
    const r = analyticCoherence({ image: img, mask, prompt: '', mode: 'edit' });
    expect(r.colour).toBeCloseTo(0, 6);
    expect(r.texture).toBeCloseTo(0, 6);
  });
});

describe('ranking', () => {
  it('normalizes each reward within the job and orders best first, deterministically', () => {
    const scores = [
      { alignment: 0.1, coherence: 0.9, aesthetic: 0 },
      { alignment: 0.3, coherence: 0.5, aesthetic: 0 },
      { alignment: 0.2, coherence: 0.95, aesthetic: 0 },
    ];
    const w = resolveWeights('edit');
    const seeds = [7, 8, 9];
    const r = rankCandidates(scores, w, seeds);
    expect(r.order).toEqual(rankCandidates(scores, w, seeds).order);
    expect(r.combined.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 9);
    const coherenceOnly = rankCandidates(scores, resolveWeights('edit', { alignment: 0, aesthetic: 0, coherence: 1 }), seeds);
    expect(coherenceOnly.order).toEqual([2, 0, 1]);
    const alignmentOnly = rankCandidates(scores, resolveWeights('edit', { alignment: 1, aesthetic: 0, coherence: 0 }), seeds);
    expect(alignmentOnly.order).toEqual([1, 2, 0]);
  });

  it('orders tied candidates by seed, not by candidate index', () => {
    expect(rankCandidates([{ coherence: 1 }, { coherence: 1 }, { coherence: 1 }], resolveWeights('erase'), [12, 11, 10]).order).toEqual([2, 1, 0]);
    // Two candidates tie below a clear winner: the winner first, then the tie by seed.
    const r = rankCandidates([{ coherence: 0.5 }, { coherence: 0.5 }, { coherence: 0.9 }], resolveWeights('erase'), [31, 30, 29]);
    expect(r.order).toEqual([2, 1, 0]);
    expect(r.combined[0]).toBe(r.combined[1]);
  });

  it('orders scores that differ only by float noise by seed', () => {
    const w = resolveWeights('edit');
    const a = 0.1 + 0.2; // 0.30000000000000004
    const r = rankCandidates([{ alignment: 0.3, coherence: 0.9 }, { alignment: a, coherence: 0.9 }, { alignment: 0.2, coherence: 0.9 }], w, [4, 5, 3]);
    expect(r.order).toEqual([0, 1, 2]);
  });

  it('ignores a reward whose spread is backend noise, however small', () => {
    // aesthetic separates the candidates; coherence is flat up to a spread of 1e-8 or 1e-10
    // depending on the backend, which would otherwise become +/-1 z-scores in either direction.
    const w = resolveWeights('erase');
    const seeds = [40, 41, 42, 43];
    const aesthetic = [5.1, 5.1, 4.2, 6.0];
    const onCpu = rankCandidates(aesthetic.map((v, i) => ({ aesthetic: v, coherence: 0.8 + [1, -1, 1, -1][i]! * 1e-8 })), w, seeds);
    const onGpu = rankCandidates(aesthetic.map((v, i) => ({ aesthetic: v, coherence: 0.8 + [-1, 1, -1, 1][i]! * 1e-10 })), w, seeds);
    expect(onCpu.order).toEqual([3, 0, 1, 2]);
    expect(onGpu.order).toEqual(onCpu.order);
  });

  it('ranks identically on score sets that differ by backend-sized noise', () => {
    const w = resolveWeights('edit');
    const seeds = [103, 102, 101, 100, 99, 98];
    const cpu = [
      { alignment: 0.27, coherence: 0.81, aesthetic: 5.2 },
      { alignment: 0.31, coherence: 0.74, aesthetic: 5.0 },
      { alignment: 0.27, coherence: 0.81, aesthetic: 5.2 },
      { alignment: 0.22, coherence: 0.9, aesthetic: 4.7 },
      { alignment: 0.27, coherence: 0.81, aesthetic: 5.2 },
      { alignment: 0.35, coherence: 0.6, aesthetic: 5.6 },
    ];
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const gpu = cpu.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v * (1 + (rng.uniform() * 2 - 1) * 1e-6)])));
      expect(rankCandidates(gpu, w, seeds).order).toEqual(rankCandidates(cpu, w, seeds).order);
    }
    // The three identical candidates (indices 0, 2, 4) keep seed order among themselves.
    const order = rankCandidates(cpu, w, seeds).order;
    expect(order.filter((i) => i % 2 === 0 && i < 5)).toEqual([4, 2, 0]);
  });

  it('still ranks a real difference above the seed order', () => {
    const w = resolveWeights('erase');
    const r = rankCandidates([{ coherence: 0.7 }, { coherence: 0.71 }, { coherence: 0.69 }], w, [1, 2, 3]);
    expect(r.order).toEqual([1, 0, 2]);
    expect(r.combined[1]!).toBeGreaterThan(r.combined[0]!);
  });

  it('reports combined scores that never rise down the ranking', () => {
    const r = rankCandidates([{ coherence: 0.5 }, { coherence: 0.5 + 1e-12 }, { coherence: 0.2 }], resolveWeights('erase'), [9, 1, 5]);
    const inOrder = r.order.map((i) => r.combined[i]!);
    for (let k = 1; k < inOrder.length; k++) expect(inOrder[k]!).toBeLessThanOrEqual(inOrder[k - 1]!);
  });

  it('needs one seed per candidate', () => {
    expect(() => rankCandidates([{ coherence: 1 }, { coherence: 2 }], resolveWeights('erase'), [1])).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('leans on coherence for erase and on alignment for edit by default', () => {
    expect(resolveWeights('erase').coherence).toBeGreaterThan(resolveWeights('erase').alignment);
    expect(resolveWeights('edit').alignment).toBeGreaterThan(resolveWeights('edit').coherence);
  });

  it('parses --rank and refuses unknown rewards or bad weights', () => {
    expect(parseRankWeights('alignment=1,coherence=0.5')).toEqual({ alignment: 1, coherence: 0.5 });
    expect(() => parseRankWeights('beauty=1')).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => parseRankWeights('alignment=-1')).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});
