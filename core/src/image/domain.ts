/**
 * Is this image a photograph? A simple, documented judgement that routing (plan.ts) uses to keep
 * photographs away from packs that never saw one (the small pack: illustrations and flat graphics).
 *
 * One statistic over the pixels the edit keeps (outside the mask, opaque), on a grid of at most
 * 128 x 128 sample points: `flat`, the share of sample points whose right and lower neighbours (at
 * full resolution) have exactly the same RGB. Flat graphics are mostly runs of one colour; a
 * photograph has sensor noise, grain and texture nearly everywhere. A photo is `flat < 0.5`.
 * Measured (`npm run eval:domain`, docs/fill.md): the 16 photographs of the project's photo set
 * score 0.000-0.222 with their object masks left out (greyscale ones included, which is why colour
 * counts are not used), 40 openclipart drawings rendered at 512 px 0.679-0.998. The request's
 * `domain` overrides the judgement.
 */
import type { ImageDomain } from '../protocol/unions';
import type { Mask, RgbaImage } from './image';

export interface DomainJudgement {
  domain: ImageDomain;
  /** Share of sample points with both neighbours exactly equal (0..1). */
  flat: number;
  /** Sample points used (kept, opaque pixels). */
  samples: number;
}

export const PHOTO_RULE = Object.freeze({ maxFlat: 0.5, grid: 128 });

export function judgeDomain(image: RgbaImage, mask?: Pick<Mask, 'data' | 'width' | 'height'>): DomainJudgement {
  const { width: w, height: h, data } = image;
  const stepX = Math.max(1, Math.floor((w - 1) / PHOTO_RULE.grid));
  const stepY = Math.max(1, Math.floor((h - 1) / PHOTO_RULE.grid));
  const m = mask && mask.width === w && mask.height === h ? mask.data : undefined;
  let samples = 0;
  let flat = 0;
  for (let y = 0; y + 1 < h; y += stepY) {
    for (let x = 0; x + 1 < w; x += stepX) {
      const i = y * w + x;
      if (m && (m[i]! > 0 || m[i + 1]! > 0 || m[i + w]! > 0)) continue;
      const o = i * 4;
      if (data[o + 3]! < 128) continue;
      samples++;
      const right = o + 4;
      const down = o + w * 4;
      if (data[right] === data[o] && data[right + 1] === data[o + 1] && data[right + 2] === data[o + 2] && data[down] === data[o] && data[down + 1] === data[o + 1] && data[down + 2] === data[o + 2]) flat++;
    }
  }
  // Nothing to judge by (all masked or transparent): no evidence of a photograph.
  if (samples === 0) return { domain: 'illustration', flat: 1, samples };
  const f = flat / samples;
  return { domain: f < PHOTO_RULE.maxFlat ? 'photo' : 'illustration', flat: f, samples };
}
