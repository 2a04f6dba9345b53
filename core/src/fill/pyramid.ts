/**
 * The working region and its coarse-to-fine pyramid. Everything here is in "work" pixels: the crop
 * of the document around the hole (plus a source margin), halved per level. Pixel values are float
 * RGBA so coarse levels keep their averages; hole pixels hold the current estimate.
 */

/**
 * Channels per pixel in a level's image: R, G, B, A, then two texture features (local mean of
 * |dY/dx| and |dY/dy| of luma). The features are voted like colours, so a fill whose colours are
 * still blurry keeps the texture "signature" of its sources, and the search stops preferring
 * smooth sources for textured targets (Newson et al. 2014).
 */
export const CH = 6;

/** One scale of the pyramid. Flat row-major arrays of length w*h (img: w*h*CH). */
export interface Level {
  readonly w: number;
  readonly h: number;
  /** Current estimate (CH channels); known pixels are fixed, hole pixels are re-synthesized. */
  readonly img: Float32Array;
  /** 1 where the pixel must be synthesized. */
  readonly hole: Uint8Array;
  /** 1 where the pixel must never be copied from (user exclusion). */
  readonly excluded: Uint8Array;
  /** Indices of hole pixels, row-major. */
  readonly holeList: Int32Array;
}

export interface Crop {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** The hole's bounding box grown by `margin` on every side, clipped to the image. */
export function cropAround(
  width: number,
  height: number,
  bounds: { x: number; y: number; width: number; height: number },
  margin: number,
): Crop {
  const x0 = Math.max(0, bounds.x - margin);
  const y0 = Math.max(0, bounds.y - margin);
  const x1 = Math.min(width, bounds.x + bounds.width + margin);
  const y1 = Math.min(height, bounds.y + bounds.height + margin);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** Level 0: the crop at full resolution. `mask` and `exclude` are document-sized. */
export function baseLevel(
  data: Uint8ClampedArray,
  width: number,
  mask: Uint8Array,
  exclude: Uint8Array | null,
  crop: Crop,
): Level {
  const { w, h } = crop;
  const img = new Float32Array(w * h * CH);
  const hole = new Uint8Array(w * h);
  const excluded = new Uint8Array(w * h);
  let holes = 0;
  for (let y = 0; y < h; y++) {
    const srcRow = (crop.y + y) * width + crop.x;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const si = srcRow + x;
      if (mask[si]! !== 0) {
        hole[i] = 1;
        holes++;
      } else {
        const o = si * 4;
        img[i * CH] = data[o]!;
        img[i * CH + 1] = data[o + 1]!;
        img[i * CH + 2] = data[o + 2]!;
        img[i * CH + 3] = data[o + 3]!;
      }
      if (exclude && exclude[si]! >= 128) excluded[i] = 1;
    }
  }
  addFeatures(w, h, img, hole);
  return { w, h, img, hole, excluded, holeList: listOnes(hole, holes) };
}

/**
 * Texture features of the known pixels: |dY/dx| and |dY/dy| from known neighbours only (one-sided
 * at the hole's edge), averaged over the known pixels of a 3x3 window. Streams over rows with
 * three-row ring buffers (luma, gradients, row sums of the 3x3 window), so a large work region
 * allocates a few rows instead of several full planes.
 */
function addFeatures(w: number, h: number, img: Float32Array, hole: Uint8Array): void {
  const luma = new Float32Array(3 * w);
  const gx = new Float32Array(3 * w);
  const gy = new Float32Array(3 * w);
  // Row sums of the 3x3 window (hole pixels have zero gradients, so only the count needs the mask).
  const hx = new Float64Array(3 * w);
  const hy = new Float64Array(3 * w);
  const hn = new Float64Array(3 * w);
  const lumaRow = (y: number): void => {
    const o = (y % 3) * w;
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * CH;
      luma[o + x] = 0.299 * img[i]! + 0.587 * img[i + 1]! + 0.114 * img[i + 2]!;
    }
  };
  lumaRow(0);
  for (let y = 0; y <= h; y++) {
    if (y < h) {
      if (y + 1 < h) lumaRow(y + 1);
      const o = (y % 3) * w;
      const up = ((y + 2) % 3) * w;
      const dn = ((y + 1) % 3) * w;
      const row = y * w;
      for (let x = 0; x < w; x++) {
        const i = row + x;
        if (hole[i]) {
          gx[o + x] = 0;
          gy[o + x] = 0;
          continue;
        }
        const l = x > 0 && !hole[i - 1];
        const r = x < w - 1 && !hole[i + 1];
        const u = y > 0 && !hole[i - w];
        const d = y < h - 1 && !hole[i + w];
        const c = luma[o + x]!;
        gx[o + x] = l && r ? Math.abs(luma[o + x + 1]! - luma[o + x - 1]!) / 2 : r ? Math.abs(luma[o + x + 1]! - c) : l ? Math.abs(c - luma[o + x - 1]!) : 0;
        gy[o + x] = u && d ? Math.abs(luma[dn + x]! - luma[up + x]!) / 2 : d ? Math.abs(luma[dn + x]! - c) : u ? Math.abs(c - luma[up + x]!) : 0;
      }
      for (let x = 0; x < w; x++) {
        const i = row + x;
        let sx = gx[o + x]!;
        let sy = gy[o + x]!;
        let n = hole[i] ? 0 : 1;
        if (x > 0) {
          sx += gx[o + x - 1]!;
          sy += gy[o + x - 1]!;
          n += hole[i - 1] ? 0 : 1;
        }
        if (x < w - 1) {
          sx += gx[o + x + 1]!;
          sy += gy[o + x + 1]!;
          n += hole[i + 1] ? 0 : 1;
        }
        hx[o + x] = sx;
        hy[o + x] = sy;
        hn[o + x] = n;
      }
    }
    // Row y - 1 has its rows above and below summed now.
    const yy = y - 1;
    if (yy < 0) continue;
    const o = (yy % 3) * w;
    const up = ((yy + 2) % 3) * w;
    const dn = ((yy + 1) % 3) * w;
    const row = yy * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      if (hole[i]) continue;
      let sx = hx[o + x]!;
      let sy = hy[o + x]!;
      let n = hn[o + x]!;
      if (yy > 0) {
        sx += hx[up + x]!;
        sy += hy[up + x]!;
        n += hn[up + x]!;
      }
      if (yy < h - 1) {
        sx += hx[dn + x]!;
        sy += hy[dn + x]!;
        n += hn[dn + x]!;
      }
      img[i * CH + 4] = sx / n;
      img[i * CH + 5] = sy / n;
    }
  }
}

/**
 * Halves a level. A coarse pixel is a hole when any of its children is (so known coarse pixels are
 * averages of known pixels only), and excluded when any child is.
 */
export function downsample(fine: Level): Level {
  const w = (fine.w + 1) >> 1;
  const h = (fine.h + 1) >> 1;
  const fw = fine.w;
  const fimg = fine.img;
  const img = new Float32Array(w * h * CH);
  const hole = new Uint8Array(w * h);
  const excluded = new Uint8Array(w * h);
  let holes = 0;
  for (let y = 0; y < h; y++) {
    const fy = 2 * y;
    const down = fy + 1 < fine.h;
    for (let x = 0; x < w; x++) {
      const fx = 2 * x;
      const right = fx + 1 < fw;
      // Children in the order (0,0), (1,0), (0,1), (1,1), those inside the level only.
      const a = fy * fw + fx;
      const b = right ? a + 1 : -1;
      const c = down ? a + fw : -1;
      const d = right && down ? a + fw + 1 : -1;
      const i = y * w + x;
      let isHole = fine.hole[a]!;
      let isExcl = fine.excluded[a]!;
      if (b >= 0) {
        isHole |= fine.hole[b]!;
        isExcl |= fine.excluded[b]!;
      }
      if (c >= 0) {
        isHole |= fine.hole[c]!;
        isExcl |= fine.excluded[c]!;
      }
      if (d >= 0) {
        isHole |= fine.hole[d]!;
        isExcl |= fine.excluded[d]!;
      }
      excluded[i] = isExcl;
      if (isHole) {
        hole[i] = 1;
        holes++;
        continue;
      }
      const n = 1 + (b >= 0 ? 1 : 0) + (c >= 0 ? 1 : 0) + (d >= 0 ? 1 : 0);
      for (let ch = 0; ch < CH; ch++) {
        let sum = fimg[a * CH + ch]!;
        if (b >= 0) sum += fimg[b * CH + ch]!;
        if (c >= 0) sum += fimg[c * CH + ch]!;
        if (d >= 0) sum += fimg[d * CH + ch]!;
        img[i * CH + ch] = sum / n;
      }
    }
  }
  return { w, h, img, hole, excluded, holeList: listOnes(hole, holes) };
}

export function listOnes(flags: Uint8Array, count: number): Int32Array {
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i]! !== 0) out[k++] = i;
  return out;
}

/**
 * City-block-ish (chamfer 3-4) distance, in pixels, from each pixel to the nearest non-hole pixel;
 * 0 outside the hole. Hole pixels with no known pixel anywhere get a large value.
 */
export function holeDistance(level: Level): Float32Array {
  const { w, h, holeList } = level;
  const big = 1e9;
  const d = new Float32Array(w * h);
  if (holeList.length === 0) return d;
  // Hole pixels and their nearest known pixels all lie in the hole's bounding box grown by one:
  // the passes need not leave it.
  let bx0 = w;
  let bx1 = 0;
  for (let k = 0; k < holeList.length; k++) {
    const x = holeList[k]! % w;
    if (x < bx0) bx0 = x;
    if (x > bx1) bx1 = x;
  }
  const X0 = Math.max(0, bx0 - 1);
  const X1 = Math.min(w - 1, bx1 + 1);
  const Y0 = Math.max(0, Math.floor(holeList[0]! / w) - 1);
  const Y1 = Math.min(h - 1, Math.floor(holeList[holeList.length - 1]! / w) + 1);
  for (let k = 0; k < holeList.length; k++) d[holeList[k]!] = big;
  for (let y = Y0; y <= Y1; y++) {
    for (let x = X0; x <= X1; x++) {
      const i = y * w + x;
      let v = d[i]!;
      if (v === 0) continue;
      if (x > 0) v = Math.min(v, d[i - 1]! + 3);
      if (y > 0) {
        v = Math.min(v, d[i - w]! + 3);
        if (x > 0) v = Math.min(v, d[i - w - 1]! + 4);
        if (x < w - 1) v = Math.min(v, d[i - w + 1]! + 4);
      }
      d[i] = v;
    }
  }
  for (let y = Y1; y >= Y0; y--) {
    for (let x = X1; x >= X0; x--) {
      const i = y * w + x;
      let v = d[i]!;
      if (v === 0) continue;
      if (x < w - 1) v = Math.min(v, d[i + 1]! + 3);
      if (y < h - 1) {
        v = Math.min(v, d[i + w]! + 3);
        if (x < w - 1) v = Math.min(v, d[i + w + 1]! + 4);
        if (x > 0) v = Math.min(v, d[i + w - 1]! + 4);
      }
      d[i] = v;
    }
  }
  for (let k = 0; k < holeList.length; k++) d[holeList[k]!] = d[holeList[k]!]! / 3;
  return d;
}

/**
 * Source patch centres: the whole (2r+1)² patch inside the level, with no hole and no excluded
 * pixel in it (box sums over an integral image). When that leaves nothing (tiny or nearly fully
 * masked images), it relaxes to any in-bounds centre that is neither hole nor excluded.
 */
export function sourceCentres(level: Level, r: number): { valid: Uint8Array; list: Int32Array } {
  const { w, h, hole, excluded } = level;
  const valid = new Uint8Array(w * h);
  const iw = w + 1;
  const integral = new Int32Array(iw * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      row += hole[i]! | excluded[i]!;
      integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1]! + row;
    }
  }
  let count = 0;
  for (let y = r; y < h - r; y++) {
    for (let x = r; x < w - r; x++) {
      const x0 = x - r;
      const y0 = y - r;
      const x1 = x + r + 1;
      const y1 = y + r + 1;
      const bad = integral[y1 * iw + x1]! - integral[y0 * iw + x1]! - integral[y1 * iw + x0]! + integral[y0 * iw + x0]!;
      if (bad === 0) {
        valid[y * w + x] = 1;
        count++;
      }
    }
  }
  if (count === 0) {
    for (let y = r; y < h - r; y++) {
      for (let x = r; x < w - r; x++) {
        const i = y * w + x;
        if (!hole[i] && !excluded[i]) {
          valid[i] = 1;
          count++;
        }
      }
    }
  }
  return { valid, list: listOnes(valid, count) };
}

/** Patch centres whose patch touches the hole: the hole dilated by r (square), clipped. */
export function targetCentres(level: Level, r: number): { isTarget: Uint8Array; list: Int32Array } {
  const { w, h, hole } = level;
  const rowDil = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    let last = -1e9;
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (hole[row + x]) last = x;
      if (x - last <= r) rowDil[row + x] = 1;
    }
    last = 1e9;
    for (let x = w - 1; x >= 0; x--) {
      if (hole[row + x]) last = x;
      if (last - x <= r) rowDil[row + x] = 1;
    }
  }
  const isTarget = new Uint8Array(w * h);
  let count = 0;
  for (let x = 0; x < w; x++) {
    let last = -1e9;
    for (let y = 0; y < h; y++) {
      if (rowDil[y * w + x]) last = y;
      if (y - last <= r) isTarget[y * w + x] = 1;
    }
    last = 1e9;
    for (let y = h - 1; y >= 0; y--) {
      if (rowDil[y * w + x]) last = y;
      if (last - y <= r) isTarget[y * w + x] = 1;
    }
  }
  for (let i = 0; i < isTarget.length; i++) count += isTarget[i]!;
  return { isTarget, list: listOnes(isTarget, count) };
}

/**
 * First guess for a hole at the coarsest level: peel it from the outside in, each layer the mean of
 * its already-known 8-neighbours.
 */
export function onionFill(level: Level): void {
  const { w, h, img, hole, holeList } = level;
  const known = new Uint8Array(w * h);
  for (let i = 0; i < known.length; i++) known[i] = hole[i] ? 0 : 1;
  let remaining = holeList.length;
  const layer = new Int32Array(holeList.length);
  const sum = new Float64Array(CH);
  while (remaining > 0) {
    let n = 0;
    for (let k = 0; k < holeList.length; k++) {
      const i = holeList[k]!;
      if (known[i]) continue;
      const x = i % w;
      const y = (i - x) / w;
      let c = 0;
      sum.fill(0);
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          const j = yy * w + xx;
          if (!known[j]) continue;
          for (let ch = 0; ch < CH; ch++) sum[ch] = sum[ch]! + img[j * CH + ch]!;
          c++;
        }
      }
      if (c > 0) {
        for (let ch = 0; ch < CH; ch++) img[i * CH + ch] = sum[ch]! / c;
        layer[n++] = i;
      }
    }
    if (n === 0) {
      // No known pixel at all (cannot happen after validation); leave zeros.
      break;
    }
    for (let k = 0; k < n; k++) known[layer[k]!] = 1;
    remaining -= n;
  }
}
