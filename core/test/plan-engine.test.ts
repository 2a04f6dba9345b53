/**
 * The engine runs what the plan decides: the engine choice, the prefill strength, the steps it
 * reports, the reward set and the ranking weights of a job are the pure plan's, computed here
 * from the same request without the engine.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/node';
import type { Engine } from '../src/engine/engine';
import { runEdit } from '../src/engine/run';
import type { EditRequest, JobEvent } from '../src/protocol/events';
import { validateManifest } from '../src/packs/manifest';
import { createSampler } from '../src/samplers/sampler';
import { FILL_STEPS, needsPack, pixelFacts, planEdit, planningProfile, type EditPlan } from '../src/plan/plan';
import { boxMask, DIFFUSERS, gradientImage, REPO } from './helpers';

const SMALL = join(REPO, 'models', 'packs', 'byteedit-small');
const W = 96;
const H = 80;
const request = (over: Partial<EditRequest> = {}): EditRequest => ({
  image: gradientImage(W, H),
  mask: boxMask(W, H, 30, 20, 30, 30),
  mode: 'edit',
  prompt: 'a red star',
  seed: 11,
  previewEvery: 0,
  ...over,
});

let engine: Engine;
let editOnly: string;
beforeAll(() => {
  engine = createEngine({ pack: DIFFUSERS, device: 'cpu' });
  editOnly = mkdtempSync(join(tmpdir(), 'byteedit-plan-editonly-'));
  cpSync(DIFFUSERS, editOnly, { recursive: true });
  const m = JSON.parse(readFileSync(join(editOnly, 'pack.json'), 'utf8'));
  m.modes = ['edit'];
  writeFileSync(join(editOnly, 'pack.json'), JSON.stringify(m));
});
afterAll(async () => {
  await engine.dispose();
  rmSync(editOnly, { recursive: true, force: true });
});

const manifestOf = (dir: string) => validateManifest(JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8')));

/** The plan of `req` as the engine makes it (the engine's default pack is DIFFUSERS). */
function planOf(req: EditRequest): EditPlan {
  const { image, mask, ...params } = req;
  const profile = needsPack(params) ? planningProfile(manifestOf(params.pack ?? DIFFUSERS)) : null;
  return planEdit({ ...params, ...pixelFacts(image, mask), seed: params.seed! }, profile);
}

async function run(req: EditRequest) {
  const events: JobEvent[] = [];
  const result = await runEdit(engine, req, (e) => events.push(e));
  const started = events.find((e): e is Extract<JobEvent, { type: 'started' }> => e.type === 'started')!;
  const progress = events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress');
  return { ...result, started, progress, plan: planOf(req) };
}

describe('the engine runs the plan', () => {
  it("reports a fill job's steps as the plan's, in its started event, progress and summary", async () => {
    const r = await run(request({ mode: 'erase', engine: 'fill', candidates: 2, steps: 7 }));
    expect(r.plan).toMatchObject({ engine: 'fill', steps: FILL_STEPS });
    expect(r.summary.engine).toBe('patchmatch');
    expect(r.started.steps).toBe(r.plan.steps);
    expect(r.summary.steps).toBe(r.plan.steps);
    expect(new Set(r.progress.map((e) => e.total))).toEqual(new Set([r.plan.steps]));
    for (const c of [0, 1]) expect(r.progress.filter((e) => e.candidate === c).at(-1)!.step).toBe(r.plan.steps);
  });

  it('falls back to the fill exactly when the plan does', async () => {
    const erase = await run(request({ mode: 'erase', pack: editOnly }));
    expect(erase.plan.engine).toBe('fill');
    expect(erase.summary).toMatchObject({ engine: 'patchmatch', steps: erase.plan.steps, canvas: erase.plan.canvas, seeds: erase.plan.seeds });
    const diffusion = await run(request({ mode: 'erase' }));
    expect(diffusion.plan.engine).toBe('diffusion');
    expect(diffusion.summary).toMatchObject({ engine: 'diffusion', steps: diffusion.plan.steps, pack: { name: diffusion.plan.pack } });
    expect(diffusion.started.steps).toBe(diffusion.plan.steps);
  });

  it.each([
    ['the default prefill strength', request({ mode: 'erase', prefill: true, steps: 10 }), 0.6, 6],
    ['an asked-for strength', request({ mode: 'erase', prefill: true, steps: 10, strength: 0.8 }), 0.8, 8],
    ['full strength without prefill', request({ mode: 'erase', steps: 10 }), 1, 10],
  ] as const)('denoises from the plan strength: %s', async (_, req, strength, unetSteps) => {
    const r = await run(req);
    expect(r.plan).toMatchObject({ engine: 'diffusion', strength, prefill: req.prefill === true });
    const m = manifestOf(DIFFUSERS);
    const sampler = createSampler({ scheduler: r.plan.scheduler, steps: r.plan.steps, schedule: m.noiseSchedule, prediction: m.prediction, strength: r.plan.strength });
    expect(sampler.timesteps.length).toBe(unetSteps);
    expect(r.progress).toHaveLength(unetSteps);
    expect(r.summary.steps).toBe(r.plan.steps);
  });

  it("scores with the plan's reward set and ranks with its weights", async () => {
    const analytic = await run(request({ candidates: 2, rank: { aesthetic: 0 } }));
    expect(analytic.plan.rewards.set).toBe('analytic');
    expect(analytic.summary.rewardSources).toEqual({ coherence_analytic: 'analytic', coherence: 'analytic' });
    expect(analytic.summary.rankWeights).toEqual(analytic.plan.rewards.weights);

    const none = await run(request({ candidates: 2, rewards: false }));
    expect(none.plan.rewards.set).toBe('none');
    expect(none.summary.rewardSources).toEqual({});
    expect(none.candidates.every((c) => c.scores === undefined)).toBe(true);

    const fill = await run(request({ mode: 'erase', engine: 'fill', rewardPack: SMALL }));
    expect(fill.plan.rewards).toMatchObject({ set: 'reward-pack', rewardPack: SMALL });
    expect(fill.summary.rewardSources.aesthetic).toMatch(/pack byteedit-small/);
    expect(fill.summary.rankWeights).toEqual(fill.plan.rewards.weights);
  });
});
