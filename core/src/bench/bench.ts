/**
 * `npm run bench`: speed and memory of the sampler, as JSON plus a markdown table.
 * Per pack and device: cold end-to-end edit (pack load + session creation included), warm edits
 * (mean of several), per-step latency (denoise time / steps), the UNet alone per call at the
 * model resolution, and peak RSS. Targets are checked here, never in timed tests.
 *
 *   node core/dist/node/bench.js [--pack DIR]... [--device cpu|webgpu|cuda|auto] [--steps 8]
 *                                 [--size 512] [--runs 5] [--unet-runs 20] [--json OUT.json] [--profile]
 *
 * --profile: where a warm edit's time goes, phase by phase (PNG decode, plan, preparation, each
 * model, the host's work per step, blending, compositing, each reward, PNG encode), per pack, and
 * the engine-overhead ratios of docs/performance.md. Without --pack it profiles the default pack
 * and the diffusers fixture pack (random weights: almost all of its time is the engine's own work).
 *
 * --cpu-peer: the SD-1.5-shaped random-weight pack at 1/8 width (models/tools/make_sd15_pack.py,
 * made once into the cache) through the core on the CPU EP, against the same modules and weights in
 * PyTorch eager on the CPU (models/bench/torch_reference.py, what a diffusers user without a GPU
 * runs), same steps and model resolution; prints the ratios. Needs Debian's python3-torch.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine, defaultPackPath, fixturePackPath } from '../node';
import { runEdit } from '../engine/run';
import { createImage, createMask } from '../image/image';
import type { DeviceName } from '../runtime/types';
import { NodeOrtRuntime } from '../runtime/ort-node';
import { FolderPackSource } from '../runtime/node-pack-source';
import { loadPack } from '../packs/load';
import { openPack } from '../engine/models';
import { pixelFacts, planEdit, planningProfile } from '../plan/plan';
import { floatTensor, timestepTensor } from '../runtime/tensors';
import type { EditRequest } from '../engine/types';
import { benchFill } from './fill';
import { PhaseTotals, now } from '../util/profile';
import { decodeImage, encodeImage } from '../image/codecs';
import { composeCandidate } from '../engine/run';

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
  /** --profile: ms per warm edit and calls per warm edit, by phase. */
  profile?: { phase: string; ms: number; calls: number }[];
  /** --profile: per step, the step's time minus its UNet calls (tensors, guidance, sampler). */
  hostPerStepMs?: number;
  /** --profile: the UNet calls inside the edit, per call. */
  unetInEditMs?: number;
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

async function benchPack(pack: string, device: DeviceName, size: number, steps: number, runs: number, unetRuns: number, profiled: boolean): Promise<Row> {
  peakRss = 0;
  // unref: a failing device must end the benchmark with its error, not keep it alive.
  const timer = setInterval(sampleRss, 5);
  timer.unref();
  const totals = profiled ? new PhaseTotals() : undefined;
  const engine = createEngine({ pack, device, profile: totals });
  const t0 = performance.now();
  const first = await runEdit(engine, sceneRequest(size, steps, 1, pack));
  const coldMs = performance.now() - t0;
  totals?.phases.clear();
  const warm: number[] = [];
  const perStep: number[] = [];
  // The warm runs go from PNG bytes to PNG bytes, as the CLI does, so decode and encode count.
  const png = encodeImage(sceneRequest(size, steps, 0, pack).image, 'png');
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const request = sceneRequest(size, steps, 2 + i, pack);
    const td = now();
    request.image = decodeImage(png);
    totals?.add('PNG decode (input)', now() - td);
    const r = await runEdit(engine, request);
    const te = now();
    encodeImage(composeCandidate(request.image, r.summary, r.candidates[0]!), 'png');
    totals?.add('PNG encode (output)', now() - te);
    warm.push(performance.now() - t);
    perStep.push(r.summary.timings.denoiseMs / r.summary.steps);
  }
  await engine.dispose();
  let profile: Row['profile'];
  let hostPerStepMs: number | undefined;
  let unetInEditMs: number | undefined;
  if (totals) {
    profile = [...totals.phases].map(([phase, p]) => ({ phase, ms: p.ms / runs, calls: p.calls / runs }));
    const step = totals.get('step (UNet calls + host work)');
    const unet = totals.get('model unet');
    hostPerStepMs = (step.ms - unet.ms) / Math.max(1, step.calls);
    unetInEditMs = unet.ms / Math.max(1, unet.calls);
  }

  // The UNet alone, at the resolution the plan chose, batch 2 (classifier-free guidance).
  const runtime = new NodeOrtRuntime();
  const open = await openPack(await loadPack(new FolderPackSource(pack)), runtime, device);
  const scene = sceneRequest(size, steps, 1, pack);
  const { image, mask, ...params } = scene;
  const { width: lw, height: lh } = planEdit({ ...params, ...pixelFacts(image, mask), seed: 1 }, planningProfile(open.pack.manifest)).latent;
  const ch = open.unet.layout.inChannels;
  const ctxLen = open.pack.tokenizer.maxLength;
  const te = await open.textEncoder.session.run({ [open.textEncoder.layout.input]: { type: open.textEncoder.layout.inputType, dims: [1, ctxLen], data: open.textEncoder.layout.inputType === 'int64' ? new BigInt64Array(ctxLen) : new Int32Array(ctxLen) } });
  const ctx = te[open.textEncoder.layout.output]!;
  const width = ctx.dims[2]!;
  const feeds = {
    [open.unet.layout.sample]: floatTensor(open.unet.layout.ioType, new Float32Array(2 * ch * lh * lw).fill(0.1), [2, ch, lh, lw]),
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
    pack: open.pack.manifest.name,
    device: first.summary.device,
    size,
    steps,
    coldMs: coldMs,
    warmMs: mean(warm),
    warmMinMs: Math.min(...warm),
    stepMs: mean(perStep),
    unetCallMs: mean(calls),
    unetInput: `2x${ch}x${lh}x${lw}`,
    peakRssMb: peakRss / 2 ** 20,
    profile,
    hostPerStepMs,
    unetInEditMs,
  };
}

const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`);

/** One table per profiled pack: ms and calls per warm edit, share of the warm edit. */
function profileTable(r: Row): string {
  const lines = [`${r.pack} (${r.device}, ${r.size}², ${r.steps} steps): warm edit ${fmt(r.warmMs)}`, '', '| phase | per edit | calls | share |', '|---|---|---|---|'];
  // Parts of another row are listed under it, marked: model unet inside the steps, each reward inside all rewards.
  const rows = [...(r.profile ?? [])];
  const nest = (child: (p: string) => boolean, parent: string): void => {
    const kids = rows.filter((p) => child(p.phase));
    const rest = rows.filter((p) => !child(p.phase));
    const at = rest.findIndex((p) => p.phase === parent);
    if (at >= 0) rows.splice(0, rows.length, ...rest.slice(0, at + 1), ...kids.map((k) => ({ ...k, phase: `↳ ${k.phase}` })), ...rest.slice(at + 1));
  };
  nest((p) => p === 'model unet', 'step (UNet calls + host work)');
  nest((p) => p.startsWith('reward '), 'rewards (all)');
  for (const p of rows) lines.push(`| ${p.phase} | ${fmt(p.ms)} | ${+p.calls.toFixed(2)} | ${((100 * p.ms) / r.warmMs).toFixed(1)} % |`);
  lines.push('', `host work per step outside the UNet: ${fmt(r.hostPerStepMs ?? 0)}; UNet call inside the edit: ${fmt(r.unetInEditMs ?? 0)}`);
  return lines.join('\n');
}

const REPO = resolve(__dirname, '..', '..', '..');
const PY = '/usr/bin/python3';

interface PeerResult {
  core: Row;
  torch: { warmMs: number; stepMs: number; unetCallMs: number; coldMs: number };
  ratios: { unetCall: number; step: number; edit: number };
}

/** The core and PyTorch eager on the same SD-1.5-shaped weights, both on the CPU. */
function cpuPeerPack(): string {
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const dir = join(cache, 'byteedit', 'bench', 'sd15-w8-s0');
  if (!existsSync(join(dir, 'pack.json'))) {
    process.stderr.write(`bench: making the SD-1.5-shaped 1/8-width pack in ${dir} (once, about 20 s)\n`);
    execFileSync(PY, [join(REPO, 'models', 'tools', 'make_sd15_pack.py'), '--out', dir, '--width-div', '8', '--native', '256', '--seed', '0'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return dir;
}

async function cpuPeer(steps: number, runs: number, unetRuns: number): Promise<PeerResult> {
  const size = 256;
  const core = await benchPack(cpuPeerPack(), 'cpu', size, steps, runs, unetRuns, false);
  const tmp = mkdtempSync(join(tmpdir(), 'byteedit-peer-'));
  try {
    const json = join(tmp, 'torch.json');
    execFileSync(PY, [join(REPO, 'models', 'bench', 'torch_reference.py'), '--device', 'cpu', '--dtype', 'fp32', '--width-div', '8', '--seed', '0', '--size', String(size), '--steps', String(steps), '--runs', String(runs), '--unet-runs', String(unetRuns), '--json', json], { stdio: ['ignore', 'ignore', 'inherit'] });
    const torch = (JSON.parse(readFileSync(json, 'utf8')) as { rows: PeerResult['torch'][] }).rows[0]!;
    return { core, torch, ratios: { unetCall: core.unetCallMs / torch.unetCallMs, step: core.stepMs / torch.stepMs, edit: core.warmMs / torch.warmMs } };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function peerTable(p: PeerResult): string {
  const v = (x: number): string => `${x.toFixed(2)} (goal <= 1.0: ${x <= 1 ? 'met' : 'missed'})`;
  return [
    `CPU peer: SD-1.5-shaped pack at 1/8 width, ${p.core.size}² model resolution, ${p.core.steps} steps, both on the CPU`,
    '',
    '| | core (onnxruntime-node CPU) | PyTorch eager (CPU, fp32) | core / PyTorch |',
    '|---|---|---|---|',
    `| UNet call (batch 2) | ${fmt(p.core.unetCallMs)} | ${fmt(p.torch.unetCallMs)} | ${v(p.ratios.unetCall)} |`,
    `| step | ${fmt(p.core.stepMs)} | ${fmt(p.torch.stepMs)} | ${v(p.ratios.step)} |`,
    `| warm edit | ${fmt(p.core.warmMs)} | ${fmt(p.torch.warmMs)} | ${v(p.ratios.edit)} |`,
    '',
    "PyTorch's edit is the model work alone (text, VAE encode, steps, VAE decode); the core's includes its work around the models.",
  ].join('\n');
}

/** The engine-overhead goals of docs/performance.md, as ratios measured in this run. */
function overheadRatios(rows: Row[]): string {
  const small = rows.find((r) => r.pack === 'byteedit-small');
  const fixture = rows.find((r) => r.pack.startsWith('tiny-sd'));
  if (!small || !fixture) return '(the overhead ratios need both the default pack and a fixture pack in one run)';
  const a = fixture.warmMs / small.warmMs;
  const b = (small.hostPerStepMs ?? 0) / (small.unetInEditMs ?? 1);
  const verdict = (v: number, goal: number): string => `${v.toFixed(3)} (goal <= ${goal}: ${v <= goal ? 'met' : 'missed'})`;
  return [`fixture-pack warm edit / default-pack warm edit: ${verdict(a, 0.25)}`, `default pack, host work per step outside the UNet / its UNet call: ${verdict(b, 0.1)}`].join('\n');
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
      profile: { type: 'boolean', default: false },
      'cpu-peer': { type: 'boolean', default: false },
    },
  });
  const packs = values.pack?.length ? values.pack : values.profile ? [defaultPackPath(), fixturePackPath()] : [defaultPackPath()];
  // The fill first, in a fresh process, as `byteedit edit --engine fill` runs it.
  const fillRuns = Number(values['fill-runs']);
  const fill = fillRuns > 0 ? await benchFill(fillRuns) : null;
  const rows: Row[] = [];
  for (const p of packs) rows.push(await benchPack(p, values.device as DeviceName, Number(values.size), Number(values.steps), Number(values.runs), Math.max(1, Number(values['unet-runs'])), values.profile!));
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGb: Math.round(totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString(), load: loadavg().map((v) => v.toFixed(2)).join(' ') };
  const peer = values['cpu-peer'] ? await cpuPeer(Number(values.steps), Number(values.runs), Math.max(1, Number(values['unet-runs']))) : null;
  const result = { machine, rows, fill, peer };
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
  process.stdout.write(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGb} GB, node ${machine.node}, load ${machine.load}\n\n${table(rows)}\n`);
  if (values.profile) process.stdout.write(`\n${rows.map(profileTable).join('\n\n')}\n\n${overheadRatios(rows)}\n`);
  if (peer) process.stdout.write(`\n${peerTable(peer)}\n`);
  if (fill) {
    process.stdout.write(`\nPatchMatch fill, 1024² with a 5 % hole (single thread): median ${fill.medianMs} ms wall, ${fill.medianCpuMs} ms CPU over ${fill.runs} runs\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
