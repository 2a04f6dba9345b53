/**
 * The reference the host end-to-end tests compare with: the same request run by the byteedit CLI
 * on the CPU (`byteedit edit ... --device cpu --json`), one full output canvas per candidate seed,
 * and a per-channel comparison of two RGBA images. The request is what the host sent (the context
 * crop for Photoshop and GIMP, the exported pixels for Figma): PNG files carry it losslessly.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cropImage, decodeImage, encodeGrayPng, encodePng, type RgbaImage } from '@byteedit/core';

export const REPO = resolve(__dirname, '..', '..');
export const SMALL_PACK = join(REPO, 'models', 'packs', 'byteedit-small');
export const FIXTURE_PACK = join(REPO, 'models', 'fixtures', 'tiny-sd-diffusers');

export interface ReferenceRequest {
  image: RgbaImage;
  /** 8-bit, 255 = edit; absent for outpaint. */
  mask?: { width: number; height: number; data: Uint8Array };
  mode: 'edit' | 'erase' | 'outpaint';
  prompt?: string;
  expand?: { left: number; top: number; right: number; bottom: number };
  steps: number;
  seed: number;
  candidates: number;
  pack: string;
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ReferenceCandidate {
  seed: number;
  /** Where the candidate's patch sits on the canvas. */
  region: Region;
  /** The whole output canvas (the CLI's OUT.png for this seed). */
  canvas: RgbaImage;
  /** `canvas` cropped to `region`: what a host that applies patches should show. */
  patch: RgbaImage;
}

export interface Reference {
  device: string;
  bySeed(seed: number): ReferenceCandidate;
}

/** Runs `byteedit edit` for `r` on the CPU; resolves every candidate, looked up by seed. */
export async function cliReference(r: ReferenceRequest): Promise<Reference> {
  const dir = mkdtempSync(join(tmpdir(), 'byteedit-ref-'));
  try {
    writeFileSync(join(dir, 'in.png'), encodePng(r.image));
    const args = [join(REPO, 'core', 'bin', 'byteedit.js'), 'edit', '--image', join(dir, 'in.png'), '--mode', r.mode, '--pack', r.pack, '--device', 'cpu'];
    if (r.mask) {
      writeFileSync(join(dir, 'mask.png'), encodeGrayPng(r.mask.width, r.mask.height, r.mask.data));
      args.push('--mask', join(dir, 'mask.png'));
    }
    if (r.prompt) args.push('--prompt', r.prompt);
    if (r.expand) args.push('--expand', [r.expand.left, r.expand.top, r.expand.right, r.expand.bottom].join(','));
    args.push('--steps', String(r.steps), '--seed', String(r.seed), '--candidates', String(r.candidates), '--out', join(dir, 'out.png'), '--json', '--quiet');
    const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 24 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as { files: string[]; seeds: number[]; regions: Region[]; device: string };
    const candidates = out.files.map((file, i): ReferenceCandidate => {
      const canvas = decodeImage(readFileSync(file));
      return { seed: out.seeds[i]!, region: out.regions[i]!, canvas, patch: cropImage(canvas, out.regions[i]!) };
    });
    return {
      device: out.device,
      bySeed(seed) {
        const c = candidates.find((k) => k.seed === seed);
        if (!c) throw new Error(`the reference has no candidate with seed ${seed} (it has ${out.seeds.join(', ')})`);
        return c;
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Diff {
  /** Largest per-channel absolute difference, in 8-bit levels (4 = 4/255). */
  max: number;
  /** Mean per-channel absolute difference, in 8-bit levels. */
  mean: number;
  /** Pixels compared. */
  n: number;
}

/** Compares two RGBA8 buffers of the same size, channel by channel (alpha included). */
export function compareRgba(a: { width: number; height: number; data: ArrayLike<number> }, b: { width: number; height: number; data: ArrayLike<number> }): Diff {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`compareRgba: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  let max = 0;
  let sum = 0;
  const len = a.width * a.height * 4;
  for (let i = 0; i < len; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / len, n: a.width * a.height };
}

/** One line for the test log: "label: max 1/255, mean 0.012/255 over 9216 px". */
export function describeDiff(label: string, d: Diff): string {
  return `${label}: max ${d.max}/255, mean ${d.mean.toFixed(3)}/255 over ${d.n} px`;
}
