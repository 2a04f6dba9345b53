/**
 * The nearest-neighbour field: for every target patch centre, the centre of the most similar valid
 * source patch and their distance (Barnes et al. 2009: random init, propagation, random search).
 * Inner loops work on flat typed arrays and allocate nothing.
 */
import { CH, type Level } from './pyramid';
import { below, nextState } from './random';

/**
 * Weight of the texture-feature channels against colour in the patch distance. High, because plain
 * colour distance prefers smooth sources for any texture it cannot match exactly (the blur bias);
 * tuned on models/photos (docs/fill.md).
 */
const FEATURE_WEIGHT = 256;

export interface Field {
  /** Source centre per pixel index (meaningful at target centres only). */
  readonly nnf: Int32Array;
  /** Patch distance (see patchCost) of each target centre to its source. */
  readonly cost: Float32Array;
  /**
   * Per-pixel weight in the patch distance: 1 for known pixels, less for hole pixels, whose values
   * are only the current estimate (so a wrong coarse guess cannot lock the search in).
   */
  readonly weight: Float32Array;
  /** 1 at target centres: pixels whose patch touches the hole. */
  readonly isTarget: Uint8Array;
  /** Target centres in row-major order. */
  readonly targets: Int32Array;
  /** 1 at valid source centres (see sourceCentres). */
  readonly valid: Uint8Array;
  readonly validList: Int32Array;
  /** Scratch for sweep: column sums of a patch distance (2r+1 each). */
  readonly columnsA: Float64Array;
  readonly columnsB: Float64Array;
}

/**
 * Patch distance: the weighted sum of squared differences (colour, alpha and, scaled by
 * FEATURE_WEIGHT, texture features) between the patch at target p and the patch at source s, over
 * the target patch's in-bounds window [x0..x1]×[y0..y1] (offsets). Stops once it reaches `limit`
 * (a candidate that cannot win need not be finished).
 */
export function patchCost(
  img: Float32Array,
  weight: Float32Array,
  w: number,
  p: number,
  s: number,
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  limit: number,
): number {
  let sum = 0;
  for (let dy = y0; dy <= y1; dy++) {
    let q = p + dy * w + x0;
    let pi = q * CH;
    let si = (s + dy * w + x0) * CH;
    for (let dx = x0; dx <= x1; dx++) {
      const d0 = img[pi]! - img[si]!;
      const d1 = img[pi + 1]! - img[si + 1]!;
      const d2 = img[pi + 2]! - img[si + 2]!;
      const d3 = img[pi + 3]! - img[si + 3]!;
      const d4 = img[pi + 4]! - img[si + 4]!;
      const d5 = img[pi + 5]! - img[si + 5]!;
      sum += weight[q]! * (d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3 + FEATURE_WEIGHT * (d4 * d4 + d5 * d5));
      // Most candidates lose within the first few pixels: stop as soon as this one has.
      if (sum >= limit) return sum;
      q++;
      pi += CH;
      si += CH;
    }
  }
  return sum;
}

/**
 * One column of the patch distance: offsets (dx, y0..y1) of target p against source s, as in
 * patchCost.
 */
function patchColumn(img: Float32Array, weight: Float32Array, w: number, p: number, s: number, dx: number, y0: number, y1: number): number {
  let sum = 0;
  let q = p + y0 * w + dx;
  let pi = q * CH;
  let si = (s + y0 * w + dx) * CH;
  const step = w * CH;
  for (let dy = y0; dy <= y1; dy++) {
    const d0 = img[pi]! - img[si]!;
    const d1 = img[pi + 1]! - img[si + 1]!;
    const d2 = img[pi + 2]! - img[si + 2]!;
    const d3 = img[pi + 3]! - img[si + 3]!;
    const d4 = img[pi + 4]! - img[si + 4]!;
    const d5 = img[pi + 5]! - img[si + 5]!;
    sum += weight[q]! * (d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3 + FEATURE_WEIGHT * (d4 * d4 + d5 * d5));
    q += w;
    pi += step;
    si += step;
  }
  return sum;
}

/** All 2r+1 columns of a patch whose window is not clipped in x, into cols; returns their sum. */
function patchColumns(img: Float32Array, weight: Float32Array, w: number, p: number, s: number, r: number, y0: number, y1: number, cols: Float64Array): number {
  let sum = 0;
  for (let i = 0; i <= 2 * r; i++) {
    const c = patchColumn(img, weight, w, p, s, i - r, y0, y1);
    cols[i] = c;
    sum += c;
  }
  return sum;
}

/**
 * One propagation + random-search sweep over targets[from..to) (in sweep order: forward when dir
 * is 1, backward when -1; `from`/`to` count positions in that order). Leaves every visited
 * target's match and its cost on the current image. Returns the new PRNG state.
 */
export function sweep(
  level: Level,
  field: Field,
  r: number,
  dir: 1 | -1,
  from: number,
  to: number,
  maxRadius: number,
  localRadius: number,
  rng: number,
): number {
  const { w, h, img } = level;
  const { columnsA, columnsB } = field;
  const { nnf, cost, isTarget, targets, valid, weight } = field;
  const n = targets.length;
  const last = w * h;
  const loX = r;
  const hiX = w - 1 - r;
  const loY = r;
  const hiY = h - 1 - r;
  // Column sums of the previous target's final match (when its window was whole in x). Along a
  // coherent field the next target's current match is that match shifted by one pixel, so its
  // cost needs one new column instead of a whole patch: most targets are in such runs.
  let cur = columnsA;
  let prev = columnsB;
  let prevP = -1;
  let prevS = -1;
  for (let k = from; k < to; k++) {
    const p = targets[dir === 1 ? k : n - 1 - k]!;
    const px = p % w;
    const py = (p - px) / w;
    const x0 = px < r ? -px : -r;
    const x1 = px + r >= w ? w - 1 - px : r;
    const y0 = py < r ? -py : -r;
    const y1 = py + r >= h ? h - 1 - py : r;
    const start = nnf[p]!;
    let best = start;
    // The current match's cost, fresh: the pixels of the hole changed in the last vote. Computed
    // here rather than in a pass of its own, while the target patch is in cache anyway.
    const wholeX = x0 === -r && x1 === r;
    let bestCost: number;
    if (wholeX && prevP === p - dir && start === prevS + dir) {
      const side = 2 * r;
      bestCost = 0;
      if (dir === 1) {
        for (let i = 0; i < side; i++) bestCost += cur[i] = prev[i + 1]!;
        bestCost += cur[side] = patchColumn(img, weight, w, p, start, r, y0, y1);
      } else {
        bestCost += cur[0] = patchColumn(img, weight, w, p, start, -r, y0, y1);
        for (let i = 1; i <= side; i++) bestCost += cur[i] = prev[i - 1]!;
      }
    } else if (wholeX) {
      bestCost = patchColumns(img, weight, w, p, start, r, y0, y1, cur);
    } else {
      bestCost = patchCost(img, weight, w, p, start, x0, x1, y0, y1, Infinity);
    }

    // Propagation: the horizontal and vertical neighbour already visited in this sweep.
    const qh = p - dir;
    if (px - dir >= 0 && px - dir < w && isTarget[qh]) {
      const s = nnf[qh]! + dir;
      if (s >= 0 && s < last && valid[s] && s !== best) {
        const c = patchCost(img, weight, w, p, s, x0, x1, y0, y1, bestCost);
        if (c < bestCost) {
          bestCost = c;
          best = s;
        }
      }
    }
    const qv = p - dir * w;
    if (qv >= 0 && qv < last && isTarget[qv]) {
      const s = nnf[qv]! + dir * w;
      if (s >= 0 && s < last && valid[s] && s !== best) {
        const c = patchCost(img, weight, w, p, s, x0, x1, y0, y1, bestCost);
        if (c < bestCost) {
          bestCost = c;
          best = s;
        }
      }
    }

    // Random search in exponentially shrinking windows around the current best.
    let radius = maxRadius;
    while (radius >= 1) {
      const bx = best % w;
      const by = (best - bx) / w;
      rng = nextState(rng);
      let sx = bx - radius + below(rng, 2 * radius + 1);
      rng = nextState(rng);
      let sy = by - radius + below(rng, 2 * radius + 1);
      if (sx < loX) sx = loX;
      else if (sx > hiX) sx = hiX;
      if (sy < loY) sy = loY;
      else if (sy > hiY) sy = hiY;
      const s = sy * w + sx;
      if (valid[s] && s !== best) {
        const c = patchCost(img, weight, w, p, s, x0, x1, y0, y1, bestCost);
        if (c < bestCost) {
          bestCost = c;
          best = s;
        }
      }
      radius >>= 1;
    }
    // Local search: sources near the target itself (natural images repeat themselves nearby), which
    // rescues targets whose current match sits in a wrong but self-consistent region.
    radius = localRadius;
    while (radius >= 2) {
      rng = nextState(rng);
      let sx = px - radius + below(rng, 2 * radius + 1);
      rng = nextState(rng);
      let sy = py - radius + below(rng, 2 * radius + 1);
      if (sx < loX) sx = loX;
      else if (sx > hiX) sx = hiX;
      if (sy < loY) sy = loY;
      else if (sy > hiY) sy = hiY;
      const s = sy * w + sx;
      if (valid[s] && s !== best) {
        const c = patchCost(img, weight, w, p, s, x0, x1, y0, y1, bestCost);
        if (c < bestCost) {
          bestCost = c;
          best = s;
        }
      }
      radius >>= 1;
    }
    nnf[p] = best;
    cost[p] = bestCost;
    prevP = -1;
    if (wholeX) {
      // A new match needs its columns only when the next target continues the run from it.
      const next = p + dir;
      const cached = best === start || (px + dir >= 0 && px + dir < w && isTarget[next] && nnf[next] === best + dir);
      if (cached) {
        if (best !== start) patchColumns(img, weight, w, p, best, r, y0, y1, cur);
        const t = prev;
        prev = cur;
        cur = t;
        prevP = p;
        prevS = best;
      }
    }
  }
  return rng;
}

/** Every target gets a uniformly random valid source. Returns the new PRNG state. */
export function randomField(field: Field, rng: number): number {
  const { nnf, targets, validList } = field;
  for (let k = 0; k < targets.length; k++) {
    rng = nextState(rng);
    nnf[targets[k]!] = validList[below(rng, validList.length)]!;
  }
  return rng;
}

/**
 * Seeds a fine field from the coarse one (offsets doubled, sub-pixel phase kept); targets whose
 * coarse parent had no entry, or whose mapped source is not valid here, get a random source.
 */
export function upsampleField(coarse: Level, coarseField: Field, fine: Level, field: Field, rng: number): number {
  const { w, h } = fine;
  const cw = coarse.w;
  const { nnf, targets, valid, validList } = field;
  for (let k = 0; k < targets.length; k++) {
    const p = targets[k]!;
    const px = p % w;
    const py = (p - px) / w;
    const pc = (py >> 1) * cw + (px >> 1);
    let s = -1;
    if (coarseField.isTarget[pc]) {
      const sc = coarseField.nnf[pc]!;
      const scx = sc % cw;
      const scy = (sc - scx) / cw;
      const sx = 2 * scx + (px & 1);
      const sy = 2 * scy + (py & 1);
      // The mapped centre may sit just inside the (finer) hole boundary: take the nearest valid
      // centre in a small window instead of losing the coarse match.
      for (let ring = 0; ring <= 2 && s < 0; ring++) {
        for (let dy = -ring; dy <= ring && s < 0; dy++) {
          const yy = sy + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -ring; dx <= ring; dx++) {
            if (dx !== -ring && dx !== ring && dy !== -ring && dy !== ring) continue;
            const xx = sx + dx;
            if (xx < 0 || xx >= w) continue;
            if (valid[yy * w + xx]) {
              s = yy * w + xx;
              break;
            }
          }
        }
      }
    }
    if (s < 0) {
      rng = nextState(rng);
      s = validList[below(rng, validList.length)]!;
    }
    nnf[p] = s;
  }
  return rng;
}
