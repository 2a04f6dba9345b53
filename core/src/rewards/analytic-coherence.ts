/**
 * Coherence without a model, so every pack and the model-free fill get one. Three penalties,
 * each dimensionless, measured between the generated region (mask >= 128) and a ring of `ring` px
 * just outside it:
 *
 *   seam     mean Lab distance across the mask border (4-neighbour pairs inside|outside), divided
 *            by the mean Lab distance between 4-neighbours inside the ring (the image's own local
 *            variation): 1 for a seamless fill, larger for a visible edge
 *   colour   |mean_in - mean_ring| / (std_ring + 2), averaged over L, a, b
 *   texture  |ln((E_in + 1) / (E_ring + 1))|, E = mean squared Lab gradient: blur and noise both count
 *
 * score = -(seam + colour + texture); 0 is perfect, more negative is worse.
 */
import { rgbToLab } from '../image/color';
import { ringAround } from '../image/color';
import { cropImage } from '../image/ops';
import type { RewardInput, RewardModel, RewardScore } from './types';

export interface CoherenceBreakdown {
  seam: number;
  colour: number;
  texture: number;
  score: number;
}

function labPlanes(input: RewardInput['image']): Float32Array {
  const n = input.width * input.height;
  const out = new Float32Array(n * 3);
  const lab = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    rgbToLab(input.data[i * 4]!, input.data[i * 4 + 1]!, input.data[i * 4 + 2]!, lab);
    out[i * 3] = lab[0]!;
    out[i * 3 + 1] = lab[1]!;
    out[i * 3 + 2] = lab[2]!;
  }
  return out;
}

function dist(lab: Float32Array, a: number, b: number): number {
  const dl = lab[a * 3]! - lab[b * 3]!;
  const da = lab[a * 3 + 1]! - lab[b * 3 + 1]!;
  const db = lab[a * 3 + 2]! - lab[b * 3 + 2]!;
  return Math.sqrt(dl * dl + da * da + db * db);
}

/**
 * Only the generated region and its ring count, so everything is computed on their bounding box
 * (the region's bounds grown by the ring, plus the pixel a border pair reaches): pixels beyond it
 * are neither inside nor ring, add nothing to any sum, and the sums run in the same order, so the
 * scores are the same numbers as over the whole crop, at a fraction of the Lab conversions.
 */
export function analyticCoherence(input: RewardInput, ringWidth = 8): CoherenceBreakdown {
  const { width: W, height: H } = input.image;
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (input.mask.data[y * W + x]! < 128) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 < 0) return { seam: 0, colour: 0, texture: 0, score: 0 };
  const reach = Math.ceil(ringWidth) + 1;
  x0 = Math.max(0, x0 - reach);
  y0 = Math.max(0, y0 - reach);
  x1 = Math.min(W - 1, x1 + reach);
  y1 = Math.min(H - 1, y1 + reach);
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const image = cropImage(input.image, { x: x0, y: y0, width: w, height: h });
  const lab = labPlanes(image);
  const inside = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) inside[y * w + x] = input.mask.data[(y0 + y) * W + x0 + x]! >= 128 ? 1 : 0;
  const ring = ringAround({ width: w, height: h, data: inside, bounds: null }, ringWidth);

  let seamSum = 0;
  let seamN = 0;
  let ringSum = 0;
  let ringN = 0;
  const gradIn = { sum: 0, n: 0 };
  const gradRing = { sum: 0, n: 0 };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      for (const j of [x + 1 < w ? i + 1 : -1, y + 1 < h ? i + w : -1]) {
        if (j < 0) continue;
        const d = dist(lab, i, j);
        if (inside[i] !== inside[j] && (ring[i] || ring[j])) {
          seamSum += d;
          seamN++;
        } else if (ring[i] && ring[j]) {
          ringSum += d;
          ringN++;
          gradRing.sum += d * d;
          gradRing.n++;
        } else if (inside[i] && inside[j]) {
          gradIn.sum += d * d;
          gradIn.n++;
        }
      }
    }
  }
  if (seamN === 0 || ringN === 0 || gradIn.n === 0) return { seam: 0, colour: 0, texture: 0, score: 0 };
  const local = ringSum / ringN;
  const seam = seamSum / seamN / (local + 1);

  let colour = 0;
  for (let c = 0; c < 3; c++) {
    let si = 0;
    let ni = 0;
    let sr = 0;
    let sr2 = 0;
    let nr = 0;
    for (let i = 0; i < inside.length; i++) {
      const v = lab[i * 3 + c]!;
      if (inside[i]) {
        si += v;
        ni++;
      } else if (ring[i]) {
        sr += v;
        sr2 += v * v;
        nr++;
      }
    }
    const mr = sr / nr;
    const sd = Math.sqrt(Math.max(0, sr2 / nr - mr * mr));
    colour += Math.abs(si / ni - mr) / (sd + 2) / 3;
  }
  const texture = Math.abs(Math.log((gradIn.sum / gradIn.n + 1) / (gradRing.sum / gradRing.n + 1)));
  return { seam, colour, texture, score: -(seam + colour + texture) };
}

export class AnalyticCoherence implements RewardModel {
  readonly name = 'coherence' as const;
  readonly source = 'analytic';

  async score(input: RewardInput): Promise<RewardScore> {
    return { value: analyticCoherence(input).score };
  }
}
