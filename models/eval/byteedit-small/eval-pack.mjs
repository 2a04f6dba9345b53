#!/usr/bin/env node
/**
 * Evaluates a trained pack through the TypeScript core (core/dist/node, the same engine the CLI
 * uses) on held-out procedural cases, and scores the results with the oracle.
 *
 *   npm run build   # once, so core/dist exists
 *   node models/eval/byteedit-small/eval-pack.mjs [--pack models/packs/byteedit-small] [--n 24]
 *        [--steps 20,8,4] [--work /tmp/byteedit-eval] [--json OUT.json]
 *
 * Steps: cases.py writes images/masks/prompts; every run goes through createEngine + runEdit
 * (device cpu, 1 candidate, default scheduler/guidance of the pack, colour match as by default);
 * wall time is measured around runEdit after one warm-up job (so it excludes session loading);
 * the pack's reward models score each result (alignment: cosine of the reward towers' embeddings
 * of the mask's surroundings and the prompt; coherence: mean sigmoid of the coherence map inside
 * the mask; aesthetic: the head on the image embedding); score.py applies the oracle. Needs
 * /usr/bin/python3 with numpy, Pillow and OpenCV.
 * --rewards DIR (repeatable) also scores every result with another reward set: a folder with a
 * pack.json holding `components.tokenizer` and `rewards` (models/feedback writes its held-out
 * reward model so); results.json then has `extra[basename(DIR)] = {alignment, aesthetic, coherence}`.
 */
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { core, makeCases, readMask, readPng, repo } from '../held-out.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const { values: a } = parseArgs({
  options: {
    pack: { type: 'string', default: join(repo, 'models', 'packs', 'byteedit-small') },
    n: { type: 'string', default: '24' },
    steps: { type: 'string', default: '20,8,4' },
    work: { type: 'string', default: join(os.tmpdir(), 'byteedit-eval') },
    json: { type: 'string' },
    python: { type: 'string', default: '/usr/bin/python3' },
    rewards: { type: 'string', multiple: true, default: [] },
  },
});
const pack = resolve(a.pack);
const work = resolve(a.work);
const casesDir = join(work, 'cases');
mkdirSync(join(work, 'out'), { recursive: true });
const cases = makeCases(a.python, a.n, casesDir);
const manifest = JSON.parse(readFileSync(join(pack, 'pack.json'), 'utf8'));


// ---- reward models, run directly with onnxruntime-node on a crop around the mask
/** One reward set: the `rewards` section of a pack.json and that folder's tokenizer. */
async function rewardSet(dir, m) {
  const R = m.rewards ?? {};
  const sess = {};
  for (const k of ['image_encoder', 'text_encoder', 'aesthetic', 'coherence']) if (R[k]) sess[k] = await ort.InferenceSession.create(join(dir, R[k].file));
  const vocab = JSON.parse(readFileSync(join(dir, m.components.tokenizer.vocab), 'utf8'));
  return { R, sess, tok: new core.WordTokenizer(vocab, m.components.tokenizer.maxLength) };
}
const packRewards = await rewardSet(pack, manifest);
const extraRewards = [];
for (const d of a.rewards) extraRewards.push({ label: basename(resolve(d)), set: await rewardSet(resolve(d), JSON.parse(readFileSync(join(resolve(d), 'pack.json'), 'utf8'))) });

function cropAround(img, mask) {
  const b = mask.bounds;
  const side = Math.min(Math.max(img.width, img.height), Math.round(Math.max(b.width, b.height) * 1.5));
  const x = Math.max(0, Math.min(img.width - side, Math.round(b.x + b.width / 2 - side / 2)));
  const y = Math.max(0, Math.min(img.height - side, Math.round(b.y + b.height / 2 - side / 2)));
  const r = { x, y, width: side, height: side };
  return { img: core.cropImage(img, r), mask: core.cropMask(mask, r) };
}
function nchw(img, s, mean, std) {
  const r = core.resizeImage(img, s, s);
  const out = new Float32Array(3 * s * s);
  for (let c = 0; c < 3; c++) for (let i = 0; i < s * s; i++) out[c * s * s + i] = (r.data[i * 4 + c] / 255 - mean[c]) / std[c];
  return new ort.Tensor('float32', out, [1, 3, s, s]);
}
async function rewards(img, mask, prompt, { R, sess, tok } = packRewards) {
  const out = {};
  const c = cropAround(img, mask);
  if (sess.image_encoder) {
    const s = R.image_encoder.resolution;
    const ieT = (await sess.image_encoder.run({ pixel_values: nchw(c.img, s, R.image_encoder.mean ?? [0, 0, 0], R.image_encoder.std ?? [1, 1, 1]) })).image_embeds;
    const ie = ieT.data;
    if (sess.aesthetic) out.aesthetic = (await sess.aesthetic.run({ image_embeds: ieT })).score.data[0];
    if (sess.text_encoder && prompt) {
      const ids = BigInt64Array.from(tok.encode(prompt), (v) => BigInt(v));
      const te = (await sess.text_encoder.run({ input_ids: new ort.Tensor('int64', ids, [1, ids.length]) })).text_embeds.data;
      let dot = 0, ni = 0, nt = 0;
      for (let i = 0; i < ie.length; i++) { dot += ie[i] * te[i]; ni += ie[i] ** 2; nt += te[i] ** 2; }
      out.alignment = dot / Math.sqrt(ni * nt);
    }
  }
  if (sess.coherence) {
    const s = R.coherence.resolution;
    const m = core.resizeMask(c.mask, s, s);
    const mt = new Float32Array(s * s);
    for (let i = 0; i < mt.length; i++) mt[i] = m.data[i] > 127 ? 1 : 0;
    const logits = (await sess.coherence.run({ image: nchw(c.img, s, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]), mask: new ort.Tensor('float32', mt, [1, 1, s, s]) })).logits.data;
    let sum = 0, n = 0;
    for (let i = 0; i < mt.length; i++) if (mt[i]) { sum += 1 / (1 + Math.exp(-logits[i])); n++; }
    out.coherence = n ? sum / n : null;
  }
  return out;
}
async function allRewards(img, mask, prompt) {
  const out = await rewards(img, mask, prompt);
  if (extraRewards.length) {
    out.extra = {};
    for (const e of extraRewards) out.extra[e.label] = await rewards(img, mask, prompt, e.set);
  }
  return out;
}

// ---- the runs, through the engine
const engine = core.createEngine({ pack, device: 'cpu' });
const request = (c, steps) => ({
  image: readPng(join(casesDir, `${c.id}.png`)),
  mask: readMask(join(casesDir, `${c.id}-mask.png`)),
  mode: c.kind === 'edit' ? 'edit' : 'erase',
  prompt: c.kind === 'edit' ? c.prompt : undefined,
  steps,
  seed: 1000 + cases.indexOf(c),
  candidates: 1,
  previewEvery: 0,
});
const tl = Date.now();
await core.runEdit(engine, request(cases[0], 2));
const warmupMs = Date.now() - tl;
const results = [];
const steps = a.steps.split(',').map(Number);
for (const st of steps) {
  for (const c of cases) {
    const req = request(c, st);
    const t0 = performance.now();
    const res = await core.runEdit(engine, req);
    const ms = performance.now() - t0;
    const full = core.composeCandidate(req.image, res.summary, res.candidates[0]);
    const file = join(work, 'out', `${c.run}-s${st}.png`);
    writeFileSync(file, core.encodePng(full));
    results.push({ run: c.run, steps: st, file, ms, ...(await allRewards(full, req.mask, c.kind === 'edit' ? c.prompt : '')) });
  }
  process.stderr.write(`steps ${st}: ${cases.length} runs done\n`);
}
await engine.dispose();
writeFileSync(join(work, 'results.json'), JSON.stringify(results, null, 1));
const summary = JSON.parse(execFileSync(a.python, [join(here, 'score.py'), casesDir, join(work, 'results.json')], { encoding: 'utf8' }));
const report = {
  pack: manifest.name, packVersion: manifest.version, kind: manifest.kind, device: 'cpu (onnxruntime-node)',
  cpu: os.cpus()[0]?.model, cores: os.cpus().length, firstJobMs: warmupMs, image: '512x512', cases: cases.length,
  scheduler: manifest.defaults.scheduler, guidance: manifest.defaults.guidance, byStepCount: summary,
  date: new Date().toISOString(),
};
console.log(JSON.stringify(report, null, 1));
if (a.json) writeFileSync(a.json, JSON.stringify(report, null, 1) + '\n');
