/**
 * The feedback-learning recipe (models/feedback/, docs/feedback.md) end to end on its tiny
 * configuration: a tiny base from models/recipe/build_pack.py, then rewards -> ReFL -> adversarial
 * -> step reduction -> export -> ablation through the core; the exported pack then runs an edit
 * through the core. Also: the PyTorch sampler mirror agrees with the core's schedules, and the
 * preference reader skips bad JSONL lines by number.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createEngine, createImage, createMask, createSampler, runEdit, validateManifest } from '../core/src/node';

const SD_SCHEDULE = { betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 } as const;

const REPO = resolve(__dirname, '..');
const PY = '/usr/bin/python3';
const FB = join(REPO, 'models', 'feedback');

interface Row { label: string; steps: number; color_acc: number; shape_acc: number; erase_clean: number; ms_mean: number; train: Record<string, number | null>; heldout: Record<string, number | null>;
  n_edit: number; n_erase: number; erase_mae: number; erase_mae_by_case: Record<string, number>; heldout_coherence_by_case: Record<string, number> }

describe('models/feedback sampler mirror', () => {
  it('takes the same timesteps and noise levels as the core for every scheduler it trains with', () => {
    const py = execFileSync(PY, ['-c', [
      'import sys, json; sys.path.insert(0, sys.argv[1]); import sampler as S',
      's = S.Schedule()',
      'print(json.dumps({f"{n}:{k}": [[float(t), float(sg)] for t, _, sg in s.levels(n, k)] for n in S.SCHEDULERS for k in (4, 8, 20)}))',
    ].join('\n'), FB], { encoding: 'utf8' });
    const levels = JSON.parse(py) as Record<string, [number, number][]>;
    expect(Object.keys(levels)).toHaveLength(12);
    for (const [key, lv] of Object.entries(levels)) {
      const [name, steps] = key.split(':');
      const s = createSampler({ scheduler: name as 'euler', steps: Number(steps), schedule: SD_SCHEDULE, prediction: 'epsilon' });
      expect(lv.slice(0, -1).map(([t]) => Math.round(t))).toEqual(s.timesteps.map((t) => Math.round(t)));
    }
  });

  it('lands where the core lands for a fixed model, step by step (deterministic schedulers, eps and v)', () => {
    const noise = [0.5, -0.2, 0.1, 0.9];
    const model = (x: Float32Array, t: number) => x.map((v) => 0.3 * v + 0.1 + t / 2000);
    const py = execFileSync(PY, ['-c', [
      'import sys, json, torch; sys.path.insert(0, sys.argv[1]); import sampler as S',
      'out = {}',
      'for pred in ("epsilon", "v_prediction"):',
      '  for n in ("euler", "ddim", "dpmpp-2m"):',
      '    sp = S.Sampler(S.Schedule(), n, 6, pred)',
      `    x = sp.initial(torch.tensor(${JSON.stringify(noise)}, dtype=torch.float64))`,
      '    for i in range(6):',
      '      x, _ = sp.step(x, i, 0.3 * sp.model_input(x, i) + 0.1 + sp.timestep(i) / 2000)',
      '    out[pred + ":" + n] = x.tolist()',
      'print(json.dumps(out))',
    ].join('\n'), FB], { encoding: 'utf8' });
    const want = JSON.parse(py) as Record<string, number[]>;
    for (const [key, xs] of Object.entries(want)) {
      const [prediction, name] = key.split(':') as ['epsilon' | 'v_prediction', 'euler'];
      const s = createSampler({ scheduler: name, steps: 6, schedule: SD_SCHEDULE, prediction });
      let x = s.initial(Float32Array.from(noise));
      for (let i = 0; i < 6; i++) x = s.step(x, i, model(s.modelInput(x, i), Math.round(s.timesteps[i]!)), undefined as never).x;
      xs.forEach((v, k) => expect(x[k]).toBeCloseTo(v, 3));
    }
  });
});

describe('models/feedback/chain.py --config tiny', () => {
  let dir: string;
  let log: string;
  const bad = ['not json', '{"schema":"byteedit.preference/2"}', JSON.stringify({ schema: 'byteedit.preference/1', time: 'yesterday' })];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'byteedit-feedback-'));
    // the committed example, plus lines that must be reported and skipped
    cpSync(join(FB, 'examples', 'pref'), join(dir, 'prefs', 'pref'), { recursive: true });
    copyFileSync(join(FB, 'examples', 'preferences.jsonl'), join(dir, 'prefs', 'p.jsonl'));
    appendFileSync(join(dir, 'prefs', 'p.jsonl'), bad.join('\n') + '\n');
    // from scratch, one command: the tiny base (build_pack.py) and then every stage on it
    const r = spawnSync(PY, [join(FB, 'chain.py'), '--config', 'tiny', '--build-base', '--cache', join(dir, 'cache'),
      '--out', join(dir, 'work'), '--preferences', join(dir, 'prefs', 'p.jsonl')], { encoding: 'utf8', timeout: 40 * 60_000, maxBuffer: 64 << 20 });
    log = `${r.stdout}\n${r.stderr}`;
    process.stdout.write(log.split('\n').slice(-40).join('\n') + '\n');
    if (r.status !== 0) throw new Error(`chain.py failed (${r.status}): ${r.stderr.slice(-2000)}`);
  }, 50 * 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const info = () => JSON.parse(readFileSync(join(dir, 'work', 'feedback_info.json'), 'utf8')) as {
    stages: Record<string, Record<string, unknown>>;
    hardware: { cpu: string };
  };

  it('reads the editors\' preference records and reports bad lines by number', () => {
    const r = info().stages.rewards!;
    expect(r.user_records).toBe(3);
    expect(r.user_lines_skipped).toBe(bad.length);
    for (const n of [4, 5, 6]) expect(log).toContain(`p.jsonl:${n}: skipped`);
  });

  it('records every stage with its wall time, and trains a held-out reward model', () => {
    const s = info().stages;
    for (const k of ['rewards', 'refl', 'adv', 'accel', 'export', 'evaluate']) expect(s[k]?.wall_s).toBeGreaterThan(0);
    expect((s.refl as { steps: number }).steps).toBeGreaterThan(0);
    expect((s.rewards as { heldout: { val: { pair_accuracy: number } } }).heldout.val.pair_accuracy).toBeGreaterThanOrEqual(0);
    // the coherence AUC comes from its own held-out cases (100 on tiny), with a standard error that says how far to trust it
    for (const set of ['train', 'heldout'] as const) {
      const v = (s.rewards as Record<string, { val: { coherence_auc: number; coherence_auc_se: number; n_coherence_cases: number } }>)[set]!.val;
      expect(v.n_coherence_cases).toBe(100);
      expect(v.coherence_auc).toBeGreaterThanOrEqual(0);
      expect(v.coherence_auc).toBeLessThanOrEqual(1);
      expect(v.coherence_auc_se).toBeGreaterThanOrEqual(0);
      expect(v.coherence_auc_se).toBeLessThan(0.1);
    }
    expect(info().hardware.cpu.length).toBeGreaterThan(0);
  });

  it('re-measures a finished run\'s coherence models with rewards.py --measure, training nothing', () => {
    const before = readFileSync(join(dir, 'work', 'rewards.pt'));
    execFileSync(PY, [join(FB, 'rewards.py'), '--config', 'tiny', '--cache', join(dir, 'cache'), '--out', join(dir, 'work'), '--measure'], { stdio: 'pipe', timeout: 10 * 60_000 });
    const m = JSON.parse(readFileSync(join(dir, 'work', 'rewards-measured.json'), 'utf8')) as Record<string, Record<string, { auc: number; se: number; fakes: number; reals: number }>> & { cases: number };
    expect(m.cases).toBe(100);
    for (const set of ['base', 'train', 'heldout']) {
      for (const kind of ['feedback_records', 'base_recipe_damage']) {
        const v = m[set]![kind]!;
        expect(v.fakes + v.reals).toBe(100);
        expect(Math.min(v.fakes, v.reals)).toBeGreaterThan(20);
        expect(v.auc).toBeGreaterThanOrEqual(0);
        expect(v.auc).toBeLessThanOrEqual(1);
      }
    }
    // the same held-out cases as stage 1's own validation: the same figure for the held-out model
    expect(m.heldout!.feedback_records!.auc).toBe((info().stages.rewards as { heldout: { val: { coherence_auc: number } } }).heldout.val.coherence_auc);
    expect(readFileSync(join(dir, 'work', 'rewards.pt')).equals(before)).toBe(true);
  });

  it('exports packs with the base layout, version 0.2.0 and a changed UNet', () => {
    const base = JSON.parse(readFileSync(join(dir, 'work', 'base', 'pack.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    const m = validateManifest(JSON.parse(readFileSync(join(dir, 'work', 'packs', 'byteedit-small', 'pack.json'), 'utf8')));
    expect(m.version).toBe('0.2.0');
    expect(m.defaults.steps).toBe(8);
    expect(Object.keys(m).sort()).toEqual(Object.keys(base).sort());
    expect(Object.keys(m.components).sort()).toEqual(Object.keys(base.components!).sort());
    expect(Object.keys(m.rewards ?? {}).sort()).toEqual(Object.keys(base.rewards!).sort());
    const four = validateManifest(JSON.parse(readFileSync(join(dir, 'work', 'packs', 'byteedit-small-4step', 'pack.json'), 'utf8')));
    expect(four.defaults.steps).toBe(4);
    const unet = (p: string) => readFileSync(join(dir, 'work', 'packs', p, 'unet', 'model.onnx'));
    // ReFL keeps its best checkpoint on the validation cases, which may be where it started
    const info = JSON.parse(readFileSync(join(dir, 'work', 'feedback_info.json'), 'utf8')) as {
      stages: Record<string, { steps: number; selected_step: number; validation_curve: { step: number }[] }>;
    };
    const refl = info.stages.refl!;
    expect(refl.validation_curve.map((v) => v.step)).toContain(0);
    expect(refl.validation_curve.map((v) => v.step)).toContain(refl.steps);
    expect(refl.validation_curve.map((v) => v.step)).toContain(refl.selected_step);
    expect(unet('feedback').equals(unet('base'))).toBe(refl.selected_step === 0);
    expect(unet('byteedit-small').equals(unet('base'))).toBe(false);
    expect(readFileSync(join(dir, 'work', 'packs', 'byteedit-small', 'MODEL_CARD.md'), 'utf8')).toContain('Ablation, measured through the TypeScript core');
  });

  it('writes the ablation table from runs through the core, held-out reward model included', () => {
    const t = JSON.parse(readFileSync(join(dir, 'work', 'ablation.json'), 'utf8')) as { rows: Row[] };
    expect(t.rows.map((r) => `${r.label}@${r.steps}`)).toHaveLength(8);
    for (const r of t.rows) {
      for (const v of [r.color_acc, r.shape_acc, r.erase_clean]) expect(v).toBeGreaterThanOrEqual(0);
      for (const v of [r.color_acc, r.shape_acc, r.erase_clean]) expect(v).toBeLessThanOrEqual(1);
      expect(r.ms_mean).toBeGreaterThan(0);
      // pixel-level coherence against the truth: every erase case scored, the mean is theirs
      const errs = Object.values(r.erase_mae_by_case);
      expect(errs).toHaveLength(r.n_erase);
      for (const e of errs) expect(e).toBeGreaterThan(0);
      expect(r.erase_mae).toBeCloseTo(errs.reduce((a, b) => a + b, 0) / errs.length, 2);
      for (const k of ['aesthetic', 'alignment_edit', 'coherence']) {
        expect(typeof r.train[k]).toBe('number');
        expect(typeof r.heldout[k]).toBe('number');
      }
      // the held-out coherence of every run, for the paired comparison
      const coh = Object.values(r.heldout_coherence_by_case);
      expect(coh).toHaveLength(r.n_edit + r.n_erase);
      expect(r.heldout.coherence).toBeCloseTo(coh.reduce((a, b) => a + b, 0) / coh.length, 3);
    }
    const checks = (JSON.parse(readFileSync(join(dir, 'work', 'ablation.json'), 'utf8')) as {
      checks: { heldout_coherence_paired: { n: number; se: number } | null; erase_mae_paired: { n: number } | null }[];
    }).checks;
    expect(checks).toHaveLength(4);
    for (const c of checks) {
      expect(c.heldout_coherence_paired?.n).toBe(t.rows[0]!.n_edit + t.rows[0]!.n_erase);
      // a paired standard error needs two cases: the tiny config has one erase per row
      expect(c.erase_mae_paired?.n ?? null).toBe(t.rows[0]!.n_erase > 1 ? t.rows[0]!.n_erase : null);
    }
  });

  it('runs an edit with the exported pack through the core, pixels outside the mask untouched', async () => {
    const engine = createEngine({ pack: join(dir, 'work', 'packs', 'byteedit-small'), device: 'cpu' });
    const image = createImage(160, 160);
    for (let i = 0; i < 160 * 160; i++) image.data.set([120, 140, 160, 255], i * 4);
    const mask = new Uint8Array(160 * 160);
    for (let y = 50; y < 110; y++) for (let x = 50; x < 110; x++) mask[y * 160 + x] = 255;
    const r = await runEdit(engine, { image, mask: createMask(160, 160, mask), mode: 'edit', prompt: 'a red star', seed: 3 });
    await engine.dispose();
    expect(r.candidates).toHaveLength(1);
    const c = r.candidates[0]!;
    expect(c.scores).toMatchObject({ alignment: expect.any(Number), aesthetic: expect.any(Number), coherence: expect.any(Number) });
    // the patch covers the mask (plus feathering), never the far corners
    expect(c.region.x).toBeGreaterThan(0);
    expect(c.region.x + c.region.width).toBeLessThan(160);
  });
});
