import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILL_STEPS, needsPack, planEdit, planningProfile, PREFILL_STRENGTH, type EditPlan, type PlanningProfile, type PlanRequest } from '../src/plan/plan';
import { validateManifest } from '../src/packs/manifest';
import { parseRequestParams } from '../src/protocol/request';
import { rect } from '../src/image/geometry';
import { DIFFUSERS, REPO } from './helpers';

const fixtureManifest = validateManifest(JSON.parse(readFileSync(join(DIFFUSERS, 'pack.json'), 'utf8')));
const fixture = planningProfile(fixtureManifest);
const small = planningProfile(validateManifest(JSON.parse(readFileSync(join(REPO, 'models', 'packs', 'byteedit-small', 'pack.json'), 'utf8'))));
const sd: PlanningProfile = { ...fixture, resolution: { native: 512, multiple: 64 } };
const editOnly: PlanningProfile = { ...sd, modes: ['edit'] };

const base = (over: Partial<PlanRequest> = {}): PlanRequest => ({
  imageSize: { width: 2000, height: 1500 },
  mask: { width: 2000, height: 1500, bounds: rect(900, 700, 120, 80) },
  mode: 'edit',
  seed: 5,
  prompt: 'a red star',
  ...over,
});
const erase = (over: Partial<PlanRequest> = {}): PlanRequest => base({ mode: 'erase', prompt: undefined, ...over });
const outpaint = (over: Partial<PlanRequest> = {}): PlanRequest => base({ mode: 'outpaint', mask: undefined, expand: { left: 64, top: 0, right: 64, bottom: 0 }, ...over });

describe('planningProfile', () => {
  it('keeps only what planning needs from a manifest', () => {
    expect(fixture).toEqual({
      name: 'tiny-sd-diffusers',
      family: 'diffusion',
      domains: ['photo', 'illustration'],
      modes: ['edit', 'erase', 'outpaint'],
      resolution: { native: 64, multiple: 8 },
      latentScaleFactor: 8,
      defaults: { steps: 4, guidance: 5, scheduler: 'euler-a' },
      erase: { prompt: 'empty background', negativePrompt: 'object' },
      hasRewards: false,
    });
    expect(small.hasRewards).toBe(true);
    expect(small.resolution).toEqual({ native: 128, multiple: 16, max: 256 });
  });
});

describe('planEdit (pure)', () => {
  it('puts an object-sized mask in a native-sized, aligned context around it', () => {
    const p = planEdit(base(), sd);
    const m = { x: 900, y: 700, width: 120, height: 80 };
    expect(p.context.x).toBeLessThanOrEqual(m.x);
    expect(p.context.y).toBeLessThanOrEqual(m.y);
    expect(p.context.x + p.context.width).toBeGreaterThanOrEqual(m.x + m.width);
    expect(p.context.width).toBeGreaterThanOrEqual(512);
    expect(p.context.height).toBeGreaterThanOrEqual(512);
    expect(p.context.width % 8).toBe(0);
    expect(p.model.width % 64).toBe(0);
    expect(p.model.height % 64).toBe(0);
    expect(p.latent).toEqual({ width: p.model.width / 8, height: p.model.height / 8 });
    expect(p).toMatchSnapshot();
  });

  it('clamps the context to the canvas at its edges', () => {
    const p = planEdit(base({ mask: { width: 2000, height: 1500, bounds: rect(0, 1400, 50, 100) } }), sd);
    expect(p.context.x).toBe(0);
    expect(p.context.y + p.context.height).toBe(1500);
  });

  it('scales a large mask down so the model sees about native^2 pixels', () => {
    const p = planEdit(base({ mask: { width: 2000, height: 1500, bounds: rect(100, 100, 1600, 1200) } }), sd);
    expect(p.model.width * p.model.height).toBeLessThan(512 * 512 * 1.5);
    expect(p.model.width / p.model.height).toBeCloseTo(p.context.width / p.context.height, 1);
  });

  it('uses the whole canvas for an image smaller than native', () => {
    const p = planEdit(base({ imageSize: { width: 300, height: 200 }, mask: { width: 300, height: 200, bounds: rect(10, 10, 20, 20) } }), sd);
    expect(p.context).toEqual({ x: 0, y: 0, width: 300, height: 200 });
  });

  it('grows the canvas for outpaint and protects the source pixels', () => {
    const p = planEdit(outpaint(), sd);
    expect(p.canvas).toEqual({ width: 2128, height: 1500 });
    expect(p.sourceOffset).toEqual({ x: 64, y: 0 });
    expect(p.protectSource).toBe(true);
    expect(p.compositeFeather).toBe(0);
    const right = planEdit(outpaint({ expand: { left: 0, top: 0, right: 100, bottom: 0 } }), sd);
    expect(right.generationBounds).toEqual({ x: 2000, y: 0, width: 100, height: 1500 });
  });

  it("uses the pack's erase prompt for erase", () => {
    const p = planEdit(erase({ prompt: 'ignored' }), fixture);
    expect(p.prompt).toBe('empty background');
    expect(p.negativePrompt).toBe('object');
    expect(p.generationGrow).toBeGreaterThan(0);
  });

  it('records one distinct seed per candidate', () => {
    expect(planEdit(base({ candidates: 3, seed: 4294967295 }), sd).seeds).toEqual([4294967295, 0, 1]);
  });

  it("takes the protocol parser's output as it is (the plan does not check ranges again)", () => {
    const params = parseRequestParams({ mode: 'edit', prompt: 'a red star', steps: '12', guidance: '7.5', scheduler: 'ddim', candidates: '2' }, { form: 'text' });
    const p = planEdit({ ...params, imageSize: base().imageSize, mask: base().mask, seed: 5 }, sd);
    expect([p.steps, p.guidance, p.scheduler, p.seeds]).toEqual([12, 7.5, 'ddim', [5, 6]]);
  });

  it.each([
    ['mask_empty', base({ mask: { width: 2000, height: 1500, bounds: null } })],
    ['mask_size_mismatch', base({ mask: { width: 20, height: 1500, bounds: rect(0, 0, 1, 1) } })],
    ['image_too_large', base({ maxPixels: 1_000_000 })],
    ['invalid_argument', outpaint({ expand: { left: 0, top: 0, right: 0, bottom: 0 } })],
    ['invalid_argument', base({ mask: undefined })],
  ] as const)('refuses with %s what needs the image to know', (code, input) => {
    expect(() => planEdit(input, sd)).toThrow(expect.objectContaining({ code }));
  });

  it("caps the canvas at the engine's limit unless the request sets its own", () => {
    expect(() => planEdit(base(), sd, { maxPixels: 1_000_000 })).toThrow(expect.objectContaining({ code: 'image_too_large' }));
    expect(planEdit(base({ maxPixels: 4_000_000 }), sd, { maxPixels: 1_000_000 }).canvas).toEqual({ width: 2000, height: 1500 });
  });
});

describe('planEdit decides the engine', () => {
  it('runs diffusion when the pack does the mode, fill when asked or when an erase/outpaint has no pack to do it', () => {
    expect(planEdit(base(), sd)).toMatchObject({ engine: 'diffusion', pack: 'tiny-sd-diffusers' });
    expect(planEdit(erase(), sd)).toMatchObject({ engine: 'diffusion', pack: 'tiny-sd-diffusers' });
    expect(planEdit(erase({ engine: 'fill' }), null)).toMatchObject({ engine: 'fill', pack: null });
    expect(planEdit(erase({ engine: 'fill' }), sd)).toMatchObject({ engine: 'fill', pack: null });
    expect(planEdit(erase(), editOnly)).toMatchObject({ engine: 'fill', pack: null });
    expect(planEdit(outpaint(), editOnly)).toMatchObject({ engine: 'fill', pack: null });
    expect(planEdit(erase(), null)).toMatchObject({ engine: 'fill' });
  });

  it('plans an automatic fill exactly like an asked-for one (no pack value leaks into it)', () => {
    // Only the stated reason differs.
    const same = (p: EditPlan): Omit<EditPlan, 'route'> & { route: string } => ({ ...p, route: p.route.engine });
    expect(same(planEdit(erase(), editOnly))).toEqual(same(planEdit(erase({ engine: 'fill' }), null)));
    expect(same(planEdit(outpaint({ prompt: 'sky' }), editOnly))).toEqual(same(planEdit(outpaint({ prompt: 'sky', engine: 'fill' }), null)));
    expect(planEdit(erase(), editOnly).route.reason).toBe('pack tiny-sd-diffusers does not do erase: the content-aware fill instead');
  });

  it.each([
    ['edit on a pack without edit', base(), { ...sd, modes: ['erase'] } as PlanningProfile, /pack tiny-sd-diffusers does not support mode "edit" \(it supports erase\)/],
    ['diffusion asked for a mode the pack lacks', erase({ engine: 'diffusion' }), editOnly, /does not support mode "erase".*or engine fill \(or auto\) to erase without a model/],
    ['edit without a pack', base(), null, /mode edit needs a diffusion pack/],
    ['diffusion without a pack', erase({ engine: 'diffusion' }), null, /engine diffusion needs a pack/],
    ['fill asked to edit', base({ engine: 'fill' }), null, /the fill engine erases and outpaints; it cannot add content from a prompt/],
  ] as const)('refuses with mode_unsupported: %s', (_, input, profile, message) => {
    expect(() => planEdit(input, profile)).toThrow(expect.objectContaining({ code: 'mode_unsupported', message: expect.stringMatching(message) }));
  });

  it('needs the pack for every request but an explicit fill', () => {
    expect([needsPack({}), needsPack({ engine: 'auto' }), needsPack({ engine: 'diffusion' }), needsPack({ engine: 'fill' })]).toEqual([true, true, true, false]);
  });

  it('gives the fill its own geometry and 100 progress steps, whatever the request says of the sampler', () => {
    const p = planEdit(erase({ engine: 'fill', steps: 30, guidance: 9, strength: 0.5, scheduler: 'lcm' }), null);
    expect(p).toMatchObject({ steps: FILL_STEPS, guidance: 0, strength: 1, scheduler: 'ddim', prefill: false, prompt: '', negativePrompt: '' });
    expect(FILL_STEPS).toBe(100);
    // At least 256 px around the hole, at full resolution (model = context).
    expect(p.context.width).toBeGreaterThanOrEqual(256);
    expect(p.model).toEqual({ width: p.context.width, height: p.context.height });
    expect(p).toMatchSnapshot();
  });
});

describe('planEdit decides the prefill', () => {
  it('pre-fills a diffusion erase/outpaint when asked, from strength 0.6 unless the request sets one', () => {
    expect(planEdit(erase({ prefill: true }), sd)).toMatchObject({ engine: 'diffusion', prefill: true, strength: PREFILL_STRENGTH });
    expect(PREFILL_STRENGTH).toBe(0.6);
    expect(planEdit(outpaint({ prefill: true }), sd)).toMatchObject({ prefill: true, strength: 0.6 });
    expect(planEdit(erase({ prefill: true, strength: 0.8 }), sd)).toMatchObject({ prefill: true, strength: 0.8 });
    expect(planEdit(erase(), sd)).toMatchObject({ prefill: false, strength: 1 });
  });

  it('never pre-fills the fill itself or an edit (and then keeps full strength)', () => {
    expect(planEdit(erase({ prefill: true }), editOnly)).toMatchObject({ engine: 'fill', prefill: false, strength: 1 });
    expect(planEdit(base({ prefill: true }), sd)).toMatchObject({ engine: 'diffusion', prefill: false, strength: 1 });
  });
});

describe('planEdit decides the rewards', () => {
  it.each([
    ["the pack's own, with its models", base(), small, 'pack'],
    ['the analytic coherence alone for a pack without rewards', base(), fixture, 'analytic'],
    ['a reward pack over the pack', base({ rewardPack: 'reward-pack-dir' }), small, 'reward-pack'],
    ['a reward pack for the fill', erase({ engine: 'fill', rewardPack: 'reward-pack-dir' }), null, 'reward-pack'],
    ["not the pack's for a fill it falls back to", erase(), { ...small, modes: ['edit'] } as PlanningProfile, 'analytic'],
    ['none when rewards are off', base({ rewards: false, rewardPack: 'reward-pack-dir' }), small, 'none'],
  ] as const)('scores with %s', (_, input, profile, set) => {
    const r = planEdit(input, profile).rewards;
    expect(r.set).toBe(set);
    expect(r.rewardPack).toBe(set === 'reward-pack' ? 'reward-pack-dir' : undefined);
  });

  it("ranks with the mode's default weights overlaid by the request's", () => {
    expect(planEdit(erase(), sd).rewards.weights).toEqual({ alignment: 0, coherence: 0.7, aesthetic: 0.3 });
    expect(planEdit(base({ rank: { aesthetic: 0 } }), sd).rewards.weights).toEqual({ alignment: 0.5, coherence: 0.3, aesthetic: 0 });
  });
});
