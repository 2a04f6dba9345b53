#!/usr/bin/env node
/**
 * Single sample vs best-of-4 vs reward-guided search, through the TypeScript core, on the small
 * pack's held-out procedural cases, scored by the procedural oracle (models/recipe/oracle.py via
 * models/eval/byteedit-small/score.py). Budgets in UNet evaluations: single = steps, best-of-4 and
 * guided = 4 x steps.
 *
 *   npm run build
 *   node models/eval/rewards/eval-search.mjs [--pack DIR] [--n 24] [--steps 8] [--work DIR] [--json OUT.json]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { core, makeCases, readMask, readPng, repo } from '../held-out.mjs';

const evalDir = join(repo, 'models', 'eval', 'byteedit-small');

const { values: a } = parseArgs({
  options: {
    pack: { type: 'string', default: join(repo, 'models', 'packs', 'byteedit-small') },
    n: { type: 'string', default: '24' },
    steps: { type: 'string', default: '8' },
    work: { type: 'string', default: join(os.tmpdir(), 'byteedit-eval-search') },
    json: { type: 'string' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const pack = resolve(a.pack);
const work = resolve(a.work);
const casesDir = join(work, 'cases');
mkdirSync(join(work, 'out'), { recursive: true });
const cases = makeCases(a.python, a.n, casesDir);
const steps = Number(a.steps);

const CONFIGS = [
  { name: 'single', candidates: 1, search: 'best-of-n', unetEvals: steps },
  { name: 'best-of-4', candidates: 4, search: 'best-of-n', unetEvals: 4 * steps },
  { name: 'guided-4', candidates: 4, search: 'guided', unetEvals: 4 * steps },
];

const engine = core.createEngine({ pack, device: 'cpu' });
const results = [];
const scoresByConfig = {};
for (const cfg of CONFIGS) {
  const t = performance.now();
  for (const c of cases) {
    const req = {
      image: readPng(join(casesDir, `${c.id}.png`)),
      mask: readMask(join(casesDir, `${c.id}-mask.png`)),
      mode: c.kind === 'edit' ? 'edit' : 'erase',
      prompt: c.kind === 'edit' ? c.prompt : undefined,
      steps,
      seed: 1000 + cases.indexOf(c),
      candidates: cfg.candidates,
      search: cfg.search,
      previewEvery: 0,
    };
    const t0 = performance.now();
    const res = await core.runEdit(engine, req);
    const ms = performance.now() - t0;
    const best = res.candidates[0];
    const file = join(work, 'out', `${c.run}-${cfg.name}.png`);
    writeFileSync(file, core.encodePng(core.composeCandidate(req.image, res.summary, best)));
    results.push({ run: c.run, steps: cfg.name, file, ms });
    const s = (scoresByConfig[cfg.name] ??= { alignment: [], coherence: [], aesthetic: [] });
    for (const k of Object.keys(s)) if (typeof best.scores?.[k] === 'number') s[k].push(best.scores[k]);
  }
  process.stderr.write(`${cfg.name}: ${cases.length} cases in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}
await engine.dispose();
writeFileSync(join(work, 'results.json'), JSON.stringify(results, null, 1));
const oracle = JSON.parse(execFileSync(a.python, [join(evalDir, 'score.py'), casesDir, join(work, 'results.json')], { encoding: 'utf8' }));
const mean = (v) => (v.length ? v.reduce((x, y) => x + y, 0) / v.length : null);
const report = {
  pack: pack.split('/').pop(),
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  steps,
  cases: cases.length,
  configs: CONFIGS.map((c) => ({ ...c, oracle: oracle[c.name], rewardsOfChosen: Object.fromEntries(Object.entries(scoresByConfig[c.name]).map(([k, v]) => [k, mean(v)])) })),
  date: new Date().toISOString(),
};
console.log(JSON.stringify(report, null, 1));
if (a.json) writeFileSync(a.json, JSON.stringify(report, null, 1) + '\n');
