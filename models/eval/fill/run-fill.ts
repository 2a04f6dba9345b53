/**
 * Eval driver: runs patchMatchFill on raw RGBA/mask files listed in a jobs file, writes raw RGBA
 * results and prints per-job timings as JSON. eval.py builds and calls it; raw files keep this
 * driver free of image codecs.
 *   node run-fill.cjs jobs.json
 * jobs.json: { "options": FillOptions, "jobs": [{ "id", "width", "height", "image", "mask", "out" }] }
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createImage, createMask } from '../../../core/src/image/image';
import { patchMatchFill, type FillOptions } from '../../../core/src/fill/index';

interface Job {
  id: string;
  width: number;
  height: number;
  image: string;
  mask: string;
  out: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { options?: FillOptions; jobs: Job[] };
  const timings: Record<string, number> = {};
  for (const job of spec.jobs) {
    const image = createImage(job.width, job.height, new Uint8Array(readFileSync(job.image)));
    const mask = createMask(job.width, job.height, new Uint8Array(readFileSync(job.mask)));
    const t0 = process.hrtime.bigint();
    const out = await patchMatchFill(image, mask, spec.options ?? {});
    timings[job.id] = Number(process.hrtime.bigint() - t0) / 1e6;
    writeFileSync(job.out, out.data);
  }
  console.log(JSON.stringify(timings));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
