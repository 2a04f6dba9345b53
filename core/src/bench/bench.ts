/**
 * `npm run bench`: speed and memory of the sampler, as JSON plus a markdown table.
 * Per pack and device: cold end-to-end edit (pack load + session creation included), warm edits
 * (mean of several), per-step latency (denoise time / steps), the UNet alone per call at the
 * model resolution, and peak RSS. Targets are checked here, never in timed tests.
 *
 *   node core/dist/node/bench.js [--pack DIR]... [--device cpu|webgpu|cuda|auto] [--steps 8]
 *                                 [--size 512] [--runs 5] [--unet-runs 20] [--json OUT.json]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { createEngine, defaultPackPath } from '../node';
import { runEdit } from '../engine/run';
import { createImage, createMask } from '../image/image';
import type { DeviceName } from '../runtime/types';
import { NodeOrtRuntime } from '../runtime/ort-node';
import { FolderPackSource } from '../runtime/node-pack-source';
import { loadPack } from '../packs/load';
import { openPack } from '../engine/models';
import { floatTensor, timestepTensor } from '../engine/tensors';
import type { EditRequest } from '../engine/types';
import { benchFill } from './fill';

interface Row {
  pack: string;
  device: string;
  size: number;
  steps: number;
  coldMs: number;
  warmMs: number;
  warmMinMs: number;
  stepMs: number;
  unetCallMs: number;
  unetInput: string;
  peakRssMb: number;
}

function sceneRequest(size: number, steps: number, seed: number, pack: string): EditRequest {
  const image = createImage(size, size);
  for (let i = 0; i < size * size; i++) image.data.set([(i % size) % 256, Math.floor(i / size) % 256, 140, 255], i * 4);
  // An object-sized mask: a disc of a quarter of the side.
  const mask = new Uint8Array(size * size);
  const r = size / 8;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if ((x - size / 2) ** 2 + (y - size / 2) ** 2 < r * r) mask[y * size + x] = 255;
  return { image, mask: createMask(size, size, mask), mode: 'edit', prompt: 'a red star', steps, seed, pack, previewEvery: 0 };
}

let peakRss = 0;
const sampleRss = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

async function benchPack(pack: string, device: DeviceName, size: number, steps: number, runs: number, unetRuns: number): Promise<Row> {
  peakRss = 0;
  // unref: a failing device must end the benchmark with its error, not keep it alive.
  const timer = setInterval(sampleRss, 5);
  timer.unref();
  const engine = createEngine({ pack, device });
  const t0 = performance.now();
  const first = await runEdit(engine, sceneRequest(size, steps, 1, pack));
  const coldMs = performance.now() - t0;
  const warm: number[] = [];
  const perStep: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await runEdit(engine, sceneRequest(size, steps, 2 + i, pack));
    warm.push(performance.now() - t);
    perStep.push(r.summary.timings.denoiseMs / r.summary.steps);
  }
  await engine.dispose();

  // The UNet alone, at the resolution the plan chose, batch 2 (classifier-free guidance).
  const runtime = new NodeOrtRuntime();
  const open = await openPack(await loadPack(new FolderPackSource(pack)), runtime, device);
  const m = open.pack.manifest;
  const native = m.resolution.native;
  const lw = native / m.latent.scaleFactor;
  const ch = open.unet.layout.inChannels;
  const ctxLen = open.pack.tokenizer.maxLength;
  const te = await open.textEncoder.session.run({ [open.textEncoder.layout.input]: { type: open.textEncoder.layout.inputType, dims: [1, ctxLen], data: open.textEncoder.layout.inputType === 'int64' ? new BigInt64Array(ctxLen) : new Int32Array(ctxLen) } });
  const ctx = te[open.textEncoder.layout.output]!;
  const width = ctx.dims[2]!;
  const feeds = {
    [open.unet.layout.sample]: floatTensor(open.unet.layout.ioType, new Float32Array(2 * ch * lw * lw).fill(0.1), [2, ch, lw, lw]),
    [open.unet.layout.timestep]: timestepTensor(open.unet.layout.timestepType, open.unet.layout.timestepShape, 500, 2),
    [open.unet.layout.context]: floatTensor(open.unet.layout.ioType, new Float32Array(2 * ctxLen * width).fill(0.01), [2, ctxLen, width]),
  };
  for (let i = 0; i < Math.min(3, unetRuns); i++) await open.unet.session.run(feeds);
  const calls: number[] = [];
  for (let i = 0; i < unetRuns; i++) {
    const t = performance.now();
    await open.unet.session.run(feeds);
    calls.push(performance.now() - t);
  }
  await open.release();
  clearInterval(timer);
  sampleRss();
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  return {
    pack: m.name,
    device: first.summary.device,
    size,
    steps,
    coldMs: coldMs,
    warmMs: mean(warm),
    warmMinMs: Math.min(...warm),
    stepMs: mean(perStep),
    unetCallMs: mean(calls),
    unetInput: `2x${ch}x${lw}x${lw}`,
    peakRssMb: peakRss / 2 ** 20,
  };
}

function table(rows: Row[]): string {
  const head = '| pack | device | image | steps | cold edit | warm edit (mean / min) | per step | UNet call (batch 2) | peak RSS |\n|---|---|---|---|---|---|---|---|---|';
  const f = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
  return [head, ...rows.map((r) => `| ${r.pack} | ${r.device} | ${r.size}² | ${r.steps} | ${f(r.coldMs)} | ${f(r.warmMs)} / ${f(r.warmMinMs)} | ${f(r.stepMs)} | ${f(r.unetCallMs)} (${r.unetInput}) | ${r.peakRssMb.toFixed(0)} MB |`)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pack: { type: 'string', multiple: true },
      device: { type: 'string', default: 'cpu' },
      steps: { type: 'string', default: '8' },
      size: { type: 'string', default: '512' },
      runs: { type: 'string', default: '5' },
      // Fewer UNet-alone calls for big packs on slow devices (the SD-shaped pack on CPU).
      'unet-runs': { type: 'string', default: '20' },
      json: { type: 'string' },
      'fill-runs': { type: 'string', default: '5' },
    },
  });
  const packs = values.pack?.length ? values.pack : [defaultPackPath()];
  // The fill first, in a fresh process, as `byteedit edit --engine fill` runs it.
  const fillRuns = Number(values['fill-runs']);
  const fill = fillRuns > 0 ? await benchFill(fillRuns) : null;
  const rows: Row[] = [];
  for (const p of packs) rows.push(await benchPack(p, values.device as DeviceName, Number(values.size), Number(values.steps), Number(values.runs), Math.max(1, Number(values['unet-runs']))));
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGb: Math.round(totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString(), load: loadavg().map((v) => v.toFixed(2)).join(' ') };
  const result = { machine, rows, fill };
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
  process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGb} GB, node ${machine.node}, load ${machine.load}\n\n${table(rows)}\n`);
  if (fill) {
    process.stdout.write(`\nPatchMatch fill, 1024² with a 5 % hole (single thread): median ${fill.medianMs} ms wall, ${fill.medianCpuMs} ms CPU over ${fill.runs} runs\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
