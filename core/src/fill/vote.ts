/**
 * Reconstruction from the field (Wexler et al. 2007): every hole pixel becomes the weighted mean of
 * the pixels that all overlapping target patches' matches put there. Weights favour good matches
 * and patches nearer the known boundary.
 */
import type { Field } from './nnf';
import { CH, type Level } from './pyramid';

export interface VoteScratch {
  readonly acc: Float32Array; // w*h*CH
  readonly wsum: Float32Array; // w*h
  readonly sample: Float32Array;
}

export function voteScratch(level: Level): VoteScratch {
  return {
    acc: new Float32Array(level.w * level.h * CH),
    wsum: new Float32Array(level.w * level.h),
    sample: new Float32Array(Math.min(2048, level.w * level.h)),
  };
}

/**
 * A robust scale for match costs: the given quantile of per-pixel mean costs over an evenly spaced
 * sample of targets (sorting a bounded sample keeps this cheap and allocation-free).
 */
function costScale(field: Field, r: number, sample: Float32Array, quantile: number): number {
  const { targets, cost } = field;
  const n = Math.min(sample.length, targets.length);
  const step = targets.length / n;
  const full = (2 * r + 1) * (2 * r + 1);
  for (let k = 0; k < n; k++) sample[k] = cost[targets[Math.floor(k * step)]!]! / full;
  const view = sample.subarray(0, n);
  view.sort();
  return Math.max(view[Math.min(n - 1, Math.floor(quantile * n))]!, 1);
}

/**
 * Winner-take-all reconstruction: each hole pixel copies what the best-matching patch covering it
 * (lowest mean cost, scaled by confidence) puts there. No averaging, so no blur; used for the last
 * pass at full resolution, where the field has converged and seams are rare.
 */
export function voteBest(level: Level, field: Field, r: number, conf: Float32Array, scratch: VoteScratch): void {
  const { w, h, img, hole, holeList } = level;
  const { nnf, cost, targets } = field;
  const { acc, wsum } = scratch;
  for (let k = 0; k < holeList.length; k++) wsum[holeList[k]!] = Infinity;
  for (let k = 0; k < targets.length; k++) {
    const p = targets[k]!;
    const px = p % w;
    const py = (p - px) / w;
    const x0 = px < r ? -px : -r;
    const x1 = px + r >= w ? w - 1 - px : r;
    const y0 = py < r ? -py : -r;
    const y1 = py + r >= h ? h - 1 - py : r;
    const score = cost[p]! / ((x1 - x0 + 1) * (y1 - y0 + 1)) / conf[p]!;
    const s = nnf[p]!;
    for (let dy = y0; dy <= y1; dy++) {
      let q = p + dy * w + x0;
      let si = (s + dy * w + x0) * CH;
      for (let dx = x0; dx <= x1; dx++) {
        if (hole[q] && score < wsum[q]!) {
          wsum[q] = score;
          for (let c = 0; c < CH; c++) acc[q * CH + c] = img[si + c]!;
        }
        q++;
        si += CH;
      }
    }
  }
  for (let k = 0; k < holeList.length; k++) {
    const q = holeList[k]!;
    for (let c = 0; c < CH; c++) img[q * CH + c] = acc[q * CH + c]!;
  }
}

/**
 * Writes the vote into the hole pixels of level.img. `conf` is a per-pixel confidence of the patch
 * centre (1 outside the hole); `quantile` picks the cost scale (higher = softer weights); a negative
 * quantile ignores costs (for a field whose costs are not computed yet).
 */
export function vote(
  level: Level,
  field: Field,
  r: number,
  conf: Float32Array,
  scratch: VoteScratch,
  quantile: number,
): void {
  const { w, h, img, hole, holeList } = level;
  const { nnf, cost, targets } = field;
  const { acc, wsum } = scratch;
  for (let k = 0; k < holeList.length; k++) {
    const q = holeList[k]!;
    wsum[q] = 0;
    for (let c = 0; c < CH; c++) acc[q * CH + c] = 0;
  }
  const uniform = quantile < 0;
  const inv = uniform ? 0 : -1 / (2 * costScale(field, r, scratch.sample, quantile));
  for (let k = 0; k < targets.length; k++) {
    const p = targets[k]!;
    const px = p % w;
    const py = (p - px) / w;
    const x0 = px < r ? -px : -r;
    const x1 = px + r >= w ? w - 1 - px : r;
    const y0 = py < r ? -py : -r;
    const y1 = py + r >= h ? h - 1 - py : r;
    const count = (x1 - x0 + 1) * (y1 - y0 + 1);
    const wt = uniform ? conf[p]! + 1e-30 : conf[p]! * Math.exp((cost[p]! / count) * inv) + 1e-30;
    const s = nnf[p]!;
    for (let dy = y0; dy <= y1; dy++) {
      let q = p + dy * w + x0;
      let si = (s + dy * w + x0) * CH;
      for (let dx = x0; dx <= x1; dx++) {
        if (hole[q]) {
          const qi = q * CH;
          acc[qi] = acc[qi]! + wt * img[si]!;
          acc[qi + 1] = acc[qi + 1]! + wt * img[si + 1]!;
          acc[qi + 2] = acc[qi + 2]! + wt * img[si + 2]!;
          acc[qi + 3] = acc[qi + 3]! + wt * img[si + 3]!;
          acc[qi + 4] = acc[qi + 4]! + wt * img[si + 4]!;
          acc[qi + 5] = acc[qi + 5]! + wt * img[si + 5]!;
          wsum[q] = wsum[q]! + wt;
        }
        q++;
        si += CH;
      }
    }
  }
  for (let k = 0; k < holeList.length; k++) {
    const q = holeList[k]!;
    const ws = wsum[q]!;
    if (ws > 0) {
      const inv2 = 1 / ws;
      for (let c = 0; c < CH; c++) img[q * CH + c] = acc[q * CH + c]! * inv2;
    }
  }
}
