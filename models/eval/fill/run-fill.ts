/**
 * Eval driver: runs patchMatchFill, and optionally the engine's other erase engines, on raw
 * RGBA/mask files listed in a jobs file, writes raw RGBA results and prints per-job timings as
 * JSON. eval.py builds and calls it; raw files keep this driver free of image codecs.
 *   node run-fill.cjs jobs.json
 * jobs.json: { "options": FillOptions, "engines"?: Engine[], "jobs": [{ "id", "width", "height", "image", "mask", "out" }] }
 * An engine is {"name", "pack"?, "inpaintPack"?}: name "patchmatch" is the fill called directly;
 * any other runs `mode: erase` through the core's engine (CPU) — a diffusion pack with
 * `pack` (engine diffusion), an erase pack with `inpaintPack` (engine inpaint) — and writes the
 * composed result to `<out without .fill.rgba>.<name>.rgba`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createImage, createMask } from '../../../core/src/image/image';
import { patchMatchFill, type FillOptions } from '../../../core/src/fill/index';
import { createEngine } from '../../../core/src/node';
import { composeCandidate, runEdit } from '../../../core/src/engine/run';

interface Job {
  id: string;
  width: number;
  height: number;
  image: string;
  mask: string;
  out: string;
}

interface EngineSpec {
  name: string;
  pack?: string;
  inpaintPack?: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { options?: FillOptions; engines?: EngineSpec[]; jobs: Job[] };
  const timings: Record<string, number> = {};
  const engines = spec.engines ?? [{ name: 'patchmatch' }];
  for (const e of engines) {
    const engine = e.name === 'patchmatch' ? null : createEngine({ pack: e.pack, device: 'cpu', inpaintPack: null });
    try {
      for (const job of spec.jobs) {
        const image = createImage(job.width, job.height, new Uint8Array(readFileSync(job.image)));
        const mask = createMask(job.width, job.height, new Uint8Array(readFileSync(job.mask)));
        const key = e.name === 'patchmatch' ? job.id : `${job.id}:${e.name}`;
        const out = e.name === 'patchmatch' ? job.out : job.out.replace(/\.fill\.rgba$/, `.${e.name}.rgba`);
        const t0 = process.hrtime.bigint();
        if (!engine) {
          writeFileSync(out, (await patchMatchFill(image, mask, spec.options ?? {})).data);
        } else {
          const r = await runEdit(engine, { image, mask, mode: 'erase', engine: e.inpaintPack ? 'inpaint' : 'diffusion', ...(e.inpaintPack ? { inpaintPack: e.inpaintPack } : {}), seed: spec.options?.seed ?? 0, rewards: false, previewEvery: 0 });
          writeFileSync(out, composeCandidate(image, r.summary, r.candidates[0]!).data);
        }
        timings[key] = Number(process.hrtime.bigint() - t0) / 1e6;
      }
    } finally {
      await engine?.dispose();
    }
  }
  console.log(JSON.stringify(timings));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
