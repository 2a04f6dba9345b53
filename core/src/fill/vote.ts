/**
 * Reconstruction from the field (Wexler et al. 2007): every hole pixel becomes the weighted mean of
 * the pixels that all overlapping target patches' matches put there. Weights favour good matches
 * and patches nearer the known boundary.
 *
 * Both votes gather per hole pixel (visiting the covering targets in row-major order) instead of
 * scattering per target: the sums stay in registers instead of read-modify-writes to an
 * accumulator image, and hole pixels are independent of each other.
 */
import type { Field } from './nnf';
import { CH, type Level } from './pyramid';

export interface VoteScratch {
  /** Per-pixel weight (vote) or score (voteBest) of the target centred there. */
  readonly wt: Float64Array;
  /** The new hole pixels (holeList order), written back once all are computed. */
  readonly out: Float32Array;
  readonly sample: Float32Array;
}

export function voteScratch(level: Level): VoteScratch {
  return {
    wt: new Float64Array(level.w * level.h),
    out: new Float32Array(level.holeList.length * CH),
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

/** Pixels of the target patch centred at p that lie inside the level. */
function windowArea(p: number, w: number, h: number, r: number): number {
  const px = p % w;
  const py = (p - px) / w;
  const x0 = px < r ? -px : -r;
  const x1 = px + r >= w ? w - 1 - px : r;
  const y0 = py < r ? -py : -r;
  const y1 = py + r >= h ? h - 1 - py : r;
  return (x1 - x0 + 1) * (y1 - y0 + 1);
}

/**
 * Winner-take-all reconstruction: each hole pixel copies what the best-matching patch covering it
 * (lowest mean cost, scaled by confidence) puts there. No averaging, so no blur; used for the last
 * pass at full resolution, where the field has converged and seams are rare. Ties go to the first
 * covering target in row-major order.
 */
export function voteBest(level: Level, field: Field, r: number, conf: Float32Array, scratch: VoteScratch): void {
  const { w, h, img, holeList } = level;
  const { nnf, cost, targets } = field;
  const { wt, out } = scratch;
  for (let k = 0; k < targets.length; k++) {
    const p = targets[k]!;
    wt[p] = cost[p]! / windowArea(p, w, h, r) / conf[p]!;
  }
  for (let k = 0; k < holeList.length; k++) {
    const q = holeList[k]!;
    const qx = q % w;
    const qy = (q - qx) / w;
    const dyHi = qy < r ? qy : r;
    const dyLo = qy + r >= h ? qy - h + 1 : -r;
    const dxHi = qx < r ? qx : r;
    const dxLo = qx + r >= w ? qx - w + 1 : -r;
    let best = Infinity;
    let from = -1;
    for (let dy = dyHi; dy >= dyLo; dy--) {
      let p = q - dy * w - dxHi;
      for (let dx = dxHi; dx >= dxLo; dx--) {
        const score = wt[p]!;
        // Compared at the precision the winner is kept in (as a Float32Array entry would be).
        if (score < best) {
          best = Math.fround(score);
          from = nnf[p]! + q - p;
        }
        p++;
      }
    }
    const si = from * CH;
    for (let c = 0; c < CH; c++) out[k * CH + c] = img[si + c]!;
  }
  writeBack(img, holeList, out);
}

/**
 * Copies the new hole pixels into the image. Kept apart from the votes because a relaxed source
 * (sourceCentres on a nearly full mask) may overlap the hole, and every vote must read the old
 * estimate there.
 */
function writeBack(img: Float32Array, holeList: Int32Array, out: Float32Array): void {
  for (let k = 0; k < holeList.length; k++) {
    const qi = holeList[k]! * CH;
    const o = k * CH;
    for (let c = 0; c < CH; c++) img[qi + c] = out[o + c]!;
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
  const { w, h, img, holeList } = level;
  const { nnf, cost, targets } = field;
  const { wt, out } = scratch;
  const uniform = quantile < 0;
  const inv = uniform ? 0 : -1 / (2 * costScale(field, r, scratch.sample, quantile));
  for (let k = 0; k < targets.length; k++) {
    const p = targets[k]!;
    wt[p] = uniform ? conf[p]! + 1e-30 : conf[p]! * Math.exp((cost[p]! / windowArea(p, w, h, r)) * inv) + 1e-30;
  }
  for (let k = 0; k < holeList.length; k++) {
    const q = holeList[k]!;
    const qx = q % w;
    const qy = (q - qx) / w;
    const dyHi = qy < r ? qy : r;
    const dyLo = qy + r >= h ? qy - h + 1 : -r;
    const dxHi = qx < r ? qx : r;
    const dxLo = qx + r >= w ? qx - w + 1 : -r;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let a4 = 0;
    let a5 = 0;
    let ws = 0;
    // Along a coherent run of targets (each matched one pixel right of its left neighbour's
    // match) all of them put the same source pixel here: add their weights, read the pixel once.
    let run = -1;
    let runWeight = 0;
    for (let dy = dyHi; dy >= dyLo; dy--) {
      let p = q - dy * w - dxHi;
      for (let dx = dxHi; dx >= dxLo; dx--) {
        const t = wt[p]!;
        const src = nnf[p]! + q - p;
        ws += t;
        p++;
        if (src === run) {
          runWeight += t;
          continue;
        }
        if (run >= 0) {
          const si = run * CH;
          a0 += runWeight * img[si]!;
          a1 += runWeight * img[si + 1]!;
          a2 += runWeight * img[si + 2]!;
          a3 += runWeight * img[si + 3]!;
          a4 += runWeight * img[si + 4]!;
          a5 += runWeight * img[si + 5]!;
        }
        run = src;
        runWeight = t;
      }
    }
    if (run >= 0) {
      const si = run * CH;
      a0 += runWeight * img[si]!;
      a1 += runWeight * img[si + 1]!;
      a2 += runWeight * img[si + 2]!;
      a3 += runWeight * img[si + 3]!;
      a4 += runWeight * img[si + 4]!;
      a5 += runWeight * img[si + 5]!;
    }
    const o = k * CH;
    if (ws > 0) {
      const s = 1 / ws;
      out[o] = a0 * s;
      out[o + 1] = a1 * s;
      out[o + 2] = a2 * s;
      out[o + 3] = a3 * s;
      out[o + 4] = a4 * s;
      out[o + 5] = a5 * s;
    } else {
      for (let c = 0; c < CH; c++) out[o + c] = img[q * CH + c]!;
    }
  }
  writeBack(img, holeList, out);
}
