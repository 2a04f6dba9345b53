/** Pure helpers of the sandbox adapter: export scale, transforms, mask union. No Figma globals here. */
import { decodeImage, maskBounds } from '@byteedit/core';
import { MAX_SIDE, type RawMask } from '../shared/messages';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The export scale: the image's own resolution (pixels per Figma unit, never below 1) capped so
 * the long side of the canvas (the image, or the outpaint frame) is at most 4096 px.
 */
export function chooseScale(node: { width: number; height: number }, imagePixels: { width: number; height: number } | null, canvas: { width: number; height: number }): number {
  const native = imagePixels ? Math.max(imagePixels.width / node.width, imagePixels.height / node.height) : 1;
  const cap = MAX_SIDE / Math.max(canvas.width, canvas.height);
  return Math.min(Math.max(native, 1), cap);
}

/** True when the transform only translates (no rotation, flip, skew or scale). */
export function isTranslation(t: ReadonlyArray<ReadonlyArray<number>>, eps = 1e-6): boolean {
  const [a = 0, c = 0] = t[0] ?? [];
  const [b = 0, d = 0] = t[1] ?? [];
  return Math.abs(a - 1) < eps && Math.abs(d - 1) < eps && Math.abs(b) < eps && Math.abs(c) < eps;
}

/**
 * Union of the shapes' rendered alpha, aligned on the image's pixel grid. Each shape is exported
 * at the same scale as the image; its render bounds say where its PNG's top-left sits.
 */
export function unionMask(width: number, height: number, image: Box, scale: number, shapes: { png: Uint8Array; bounds: Box }[]): RawMask {
  const data = new Uint8Array(width * height);
  for (const s of shapes) {
    const px = decodeImage(s.png);
    const ox = Math.round((s.bounds.x - image.x) * scale);
    const oy = Math.round((s.bounds.y - image.y) * scale);
    for (let y = 0; y < px.height; y++) {
      const ty = oy + y;
      if (ty < 0 || ty >= height) continue;
      for (let x = 0; x < px.width; x++) {
        const tx = ox + x;
        if (tx < 0 || tx >= width) continue;
        const a = px.data[(y * px.width + x) * 4 + 3]!;
        const i = ty * width + tx;
        if (a > data[i]!) data[i] = a;
      }
    }
  }
  return { width, height, data };
}

export function isEmpty(mask: RawMask): boolean {
  return maskBounds(mask.width, mask.height, mask.data) === null;
}
