import type { JobEvent, JobHandle } from '../src/protocol/events';
import { join, resolve } from 'node:path';
import { createImage, createMask, type Mask, type RgbaImage } from '../src/image/image';

export const REPO = resolve(__dirname, '..', '..');
export const FIXTURES = join(REPO, 'models', 'fixtures');
export const DIFFUSERS = join(FIXTURES, 'tiny-sd-diffusers');
export const OPTIMUM = join(FIXTURES, 'tiny-sd-optimum');
export const LEGACY = join(FIXTURES, 'tiny-sd-legacy');

/** A smooth gradient with a little structure, so crops and resizes are visible in assertions. */
export function gradientImage(width: number, height: number, alpha = 255): RgbaImage {
  const img = createImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      img.data[o] = (x * 255) / Math.max(1, width - 1);
      img.data[o + 1] = (y * 255) / Math.max(1, height - 1);
      img.data[o + 2] = (x + y) % 2 ? 90 : 160;
      img.data[o + 3] = alpha;
    }
  }
  return img;
}

export function boxMask(width: number, height: number, x: number, y: number, w: number, h: number, value = 255): Mask {
  const data = new Uint8Array(width * height);
  for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) data[yy * width + xx] = value;
  return createMask(width, height, data);
}

/** Every event of a submitted job, collected in the background as it arrives. */
export function collect(handle: JobHandle): JobEvent[] {
  const out: JobEvent[] = [];
  void (async () => {
    for await (const e of handle.events) out.push(e);
  })();
  return out;
}

/** All events of a job, once it has ended (iterating replays them from the start). */
export async function drain(handle: JobHandle): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for await (const e of handle.events) out.push(e);
  return out;
}
