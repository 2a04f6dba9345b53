/**
 * Photo routing and learned erase packs (#19): the domain judgement on real photographs and clip
 * art, the plan's engine choice with its reason, and the MI-GAN- and LaMa-shaped fixture packs as
 * engine and as prefill through the real engine on onnxruntime-node.
 *
 * The fixture networks fill the hole with the mean colour of the known pixels plus a bounded random
 * residual (models/tools/make_fixture_packs.py), so what they give back is a known answer: a
 * swapped mask polarity (the hole would be read as known and keep the object's colour) or a wrong
 * value range (0..255 fed where 0..1 is expected saturates to white) is far outside the bounds.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installedInpaintPack, loadCatalog, pullPack, resolvePackRef, verifyPack } from '../src/download/index';
import { catalogOf, FakeHub, fixtureEntry } from './download-hub';
import { createEngine, FolderPackSource, NodeOrtRuntime } from '../src/node';
import { inpaintPrefill, openInpainter } from '../src/engine/inpaint-job';
import { generationMask } from '../src/engine/pipeline';
import { loadAnyPack, type LoadedInpaintPack } from '../src/packs/load';
import { composeCandidate, runEdit } from '../src/engine/run';
import type { Engine } from '../src/engine/engine';
import type { EditRequest } from '../src/engine/types';
import { decodeImage } from '../src/image/codecs';
import { judgeDomain, PHOTO_RULE } from '../src/image/domain';
import { createImage, createMask, type Mask, type RgbaImage } from '../src/image/image';
import { planEdit, planningProfile, pixelFacts, type PlanRequest, type PlanningProfile } from '../src/plan/plan';
import { validateAnyManifest, validateManifest } from '../src/packs/manifest';
import { SdkError } from '../src/protocol/errors';
import { FIXTURES, REPO } from './helpers';

const DOMAIN_DIR = join(REPO, 'models', 'photos', 'domain');
const SMALL = join(REPO, 'models', 'packs', 'byteedit-small');
const MIGAN = join(FIXTURES, 'tiny-migan');
const LAMA = join(FIXTURES, 'tiny-lama');
const load = (file: string): RgbaImage => decodeImage(new Uint8Array(readFileSync(file)));
const manifestAt = (dir: string): unknown => JSON.parse(readFileSync(join(dir, 'pack.json'), 'utf8'));

describe('judgeDomain', () => {
  const photos = ['photo-astronaut', 'photo-brick', 'photo-camera', 'photo-coffee'];
  const clips = ['clip-1', 'clip-2', 'clip-3', 'clip-4'];

  it.each(photos)('calls %s (a photograph; brick and camera are greyscale) a photo', (name) => {
    const j = judgeDomain(load(join(DOMAIN_DIR, `${name}.png`)));
    expect(j.domain).toBe('photo');
    expect(j.flat).toBeLessThan(0.25);
    expect(j.samples).toBeGreaterThan(10_000);
  });

  it.each(clips)('calls %s (openclipart, rendered) an illustration', (name) => {
    const j = judgeDomain(load(join(DOMAIN_DIR, `${name}.png`)));
    expect(j.domain).toBe('illustration');
    expect(j.flat).toBeGreaterThan(0.55);
  });

  it("calls the README's example an illustration", () => {
    expect(judgeDomain(load(join(REPO, 'docs', 'examples', 'before.png'))).domain).toBe('illustration');
  });

  it('judges only what the edit keeps: a photo pasted under the mask does not make a drawing a photo', () => {
    const drawing = load(join(DOMAIN_DIR, 'clip-3.png'));
    const photo = load(join(DOMAIN_DIR, 'photo-coffee.png'));
    const { width: w, height: h } = drawing;
    const mixed = createImage(w, h, new Uint8ClampedArray(drawing.data));
    const m = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w * 0.7; x++) {
        const o = (y * w + x) * 4;
        const p = (Math.min(y, photo.height - 1) * photo.width + Math.min(x, photo.width - 1)) * 4;
        for (let c = 0; c < 4; c++) mixed.data[o + c] = photo.data[p + c]!;
        m[y * w + x] = 255;
      }
    }
    expect(judgeDomain(mixed).domain).toBe('photo');
    expect(judgeDomain(mixed, createMask(w, h, m)).domain).toBe('illustration');
  });

  it('has nothing to judge in a fully transparent image, and says illustration', () => {
    expect(judgeDomain(createImage(40, 30))).toEqual({ domain: 'illustration', flat: 1, samples: 0 });
    expect(PHOTO_RULE.maxFlat).toBe(0.5);
  });
});

describe('pack.json of erase packs', () => {
  it('validates the two fixture erase packs and the small pack (illustrations only)', () => {
    for (const dir of [MIGAN, LAMA]) expect(validateAnyManifest(manifestAt(dir))).toMatchObject({ family: 'inpaint', modes: ['erase', 'outpaint'] });
    expect(planningProfile(validateManifest(manifestAt(SMALL))).domains).toEqual(['illustration']);
  });

  it('names the failing fields', () => {
    const bad = { ...(manifestAt(MIGAN) as object), io: { inputRange: [1, 0], mask: 'holes' }, modes: ['edit'], domains: ['painting'] };
    expect(() => validateAnyManifest(bad)).toThrow(/\$\.io\.inputRange.*\$\.io\.mask.*\$\.modes.*\$\.domains/);
    expect(() => validateAnyManifest({ ...(manifestAt(MIGAN) as object), family: 'gan' })).toThrow(/\$\.family: expected "diffusion" or "inpaint"/);
  });
});

describe('routing (the plan, pure)', () => {
  const small = planningProfile(validateManifest(manifestAt(SMALL)));
  const migan = planningProfile(validateAnyManifest(manifestAt(MIGAN)));
  const mask = { width: 200, height: 160, bounds: { x: 60, y: 50, width: 40, height: 40 } };
  const photo = { domain: 'photo' as const, flat: 0.1 };
  const drawing = { domain: 'illustration' as const, flat: 0.9 };
  const req = (over: Partial<PlanRequest> = {}): PlanRequest => ({ mode: 'erase', ...pixelFacts({ width: 200, height: 160 }, mask), seed: 7, ...over });
  const plan = (over: Partial<PlanRequest>, profile: PlanningProfile | null = small, net: PlanningProfile | null = null) => planEdit(req(over), profile, {}, net);

  it('sends a photograph away from an illustration-only pack: to the fill, or to an erase pack when one is at hand', () => {
    const fill = plan({ pixelDomain: photo });
    expect(fill.engine).toBe('fill');
    expect(fill.route.reason).toMatch(/looks like a photograph \(flat share 0\.10\) and pack byteedit-small serves illustrations only: erase with the content-aware fill/);
    expect(fill.route.domain).toEqual({ domain: 'photo', from: 'pixels', flat: 0.1 });
    const net = plan({ pixelDomain: photo, candidates: 4 }, small, migan);
    expect([net.engine, net.pack, net.inpaintPack, net.steps, net.seeds]).toEqual(['inpaint', 'tiny-migan', 'tiny-migan', 1, [7]]);
    expect(net.route.reason).toMatch(/learned erase pack tiny-migan/);
    expect(plan({ mode: 'outpaint', expand: { left: 0, top: 0, right: 64, bottom: 0 }, pixelDomain: photo }, small, migan).engine).toBe('inpaint');
  });

  it('keeps illustrations on the pack, and lets the request override the judgement or force an engine', () => {
    expect(plan({ pixelDomain: drawing }, small, migan).engine).toBe('diffusion');
    expect(plan({ pixelDomain: photo, domain: 'illustration' }, small, migan).engine).toBe('diffusion');
    const said = plan({ domain: 'photo' });
    expect([said.engine, said.route.domain]).toEqual(['fill', { domain: 'photo', from: 'request' }]);
    expect(plan({ pixelDomain: photo, engine: 'diffusion' }, small, migan).engine).toBe('diffusion');
    expect(plan({ pixelDomain: drawing, engine: 'inpaint' }, small, migan).engine).toBe('inpaint');
    expect(plan({ pixelDomain: drawing, engine: 'fill' }, small, migan).engine).toBe('fill');
    // A pack that serves photographs keeps them.
    expect(plan({ pixelDomain: photo }, { ...small, domains: ['photo', 'illustration'] }, migan).engine).toBe('diffusion');
    // edit paints from the prompt: only diffusion can, photo or not.
    expect(plan({ mode: 'edit', prompt: 'a hat', pixelDomain: photo }, small, migan).engine).toBe('diffusion');
  });

  it('runs an erase pack named as the pack, and refuses what an erase pack cannot do', () => {
    expect(plan({}, migan).engine).toBe('inpaint');
    expect(() => plan({ mode: 'edit', prompt: 'a hat' }, migan)).toThrow(/learned erase pack: it erases and outpaints; it cannot add content from a prompt/);
    const none = (() => {
      try {
        plan({ engine: 'inpaint' }, small, null);
      } catch (e) {
        return e;
      }
    })();
    expect(none).toBeInstanceOf(SdkError);
    expect((none as SdkError).code).toBe('mode_unsupported');
    expect((none as SdkError).message).toMatch(/byteedit packs pull migan/);
  });

  it('pre-fills a diffusion erase with the erase pack when one is at hand, else with the fill', () => {
    const withNet = plan({ engine: 'diffusion', prefill: true }, small, migan);
    expect([withNet.prefill, withNet.prefillWith, withNet.inpaintPack, withNet.engine]).toEqual([true, 'inpaint', 'tiny-migan', 'diffusion']);
    const without = plan({ engine: 'diffusion', prefill: true }, small, null);
    expect([without.prefillWith, without.inpaintPack]).toEqual(['fill', null]);
    expect(plan({ engine: 'diffusion' }, small, migan).prefillWith).toBeNull();
  });
});

/** A photo-like scene: a textured green field (noise around one mean colour) with a red disc on it. */
function scene(w: number, h: number): { image: RgbaImage; mask: Mask; field: [number, number, number] } {
  const image = createImage(w, h);
  let s = 12345;
  const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const field: [number, number, number] = [70, 140, 60];
  const m = new Uint8Array(w * h);
  const [cx, cy, r] = [w * 0.45, h * 0.5, Math.min(w, h) * 0.16];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      const inside = (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
      const c = inside ? [220, 30, 30] : field.map((v) => v + rnd() * 25);
      for (let k = 0; k < 3; k++) image.data[o + k] = c[k]!;
      image.data[o + 3] = 255;
      if ((x - cx) ** 2 + (y - cy) ** 2 <= (r + 3) ** 2) m[y * w + x] = 255;
    }
  }
  return { image, mask: createMask(w, h, m), field };
}

/** Mean colour of the pixels well inside the mask (eroded by `inset`). */
function holeMean(img: RgbaImage, mask: Mask, inset: number): number[] {
  const { width: w, height: h } = img;
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = inset; y < h - inset; y++) {
    for (let x = inset; x < w - inset; x++) {
      if (mask.data[y * w + x]! === 0 || mask.data[(y - inset) * w + x]! === 0 || mask.data[(y + inset) * w + x]! === 0 || mask.data[y * w + x - inset]! === 0 || mask.data[y * w + x + inset]! === 0) continue;
      for (let k = 0; k < 3; k++) sum[k] += img.data[(y * w + x) * 4 + k]!;
      n++;
    }
  }
  return sum.map((v) => v / n);
}

describe('learned erase packs through the engine', () => {
  let engine: Engine;
  beforeAll(() => {
    engine = createEngine({ pack: SMALL, device: 'cpu', inpaintPack: null });
  });
  afterAll(() => engine.dispose());

  const W = 240;
  const H = 180;
  const { image, mask, field } = scene(W, H);
  const request = (over: Partial<EditRequest> = {}): EditRequest => ({ image, mask, mode: 'erase', seed: 3, previewEvery: 0, ...over });

  /** Every pixel that the candidate's compositing mask leaves at 0 is the source's, byte for byte. */
  function expectUntouchedOutside(out: RgbaImage, source: RgbaImage, region: { x: number; y: number }, patchMask: Mask, offset = { x: 0, y: 0 }): void {
    let changed = 0;
    for (let y = 0; y < out.height; y++) {
      for (let x = 0; x < out.width; x++) {
        const mx = x - region.x;
        const my = y - region.y;
        const inMask = mx >= 0 && my >= 0 && mx < patchMask.width && my < patchMask.height && patchMask.data[my * patchMask.width + mx]! > 0;
        if (inMask) continue;
        const sx = x - offset.x;
        const sy = y - offset.y;
        if (sx < 0 || sy < 0 || sx >= source.width || sy >= source.height) continue;
        for (let k = 0; k < 4; k++) if (out.data[(y * out.width + x) * 4 + k] !== source.data[(sy * source.width + sx) * 4 + k]) changed++;
      }
    }
    expect(changed).toBe(0);
  }

  it('routes a photograph on the illustration-only small pack to the fill and says why', async () => {
    const { summary } = await runEdit(engine, request());
    expect(summary.engine).toBe('patchmatch');
    expect(summary.route).toMatchObject({ engine: 'fill', domain: { domain: 'photo', from: 'pixels' } });
    expect(summary.route.reason).toMatch(/photograph.*byteedit-small serves illustrations only/);
  });

  it('outpaints a photograph with no engine flag on the fill too (judged on the whole source), and keeps the source', async () => {
    const { summary, candidates } = await runEdit(engine, { image, mode: 'outpaint', expand: { left: 32, top: 0, right: 0, bottom: 0 }, seed: 2, previewEvery: 0 });
    expect(summary.engine).toBe('patchmatch');
    expect(summary.route).toMatchObject({ engine: 'fill', domain: { domain: 'photo', from: 'pixels' } });
    expect(summary.route.reason).toMatch(/outpaint with the content-aware fill/);
    const out = composeCandidate(image, summary, candidates[0]!);
    expectUntouchedOutside(out, image, candidates[0]!.region, createMask(candidates[0]!.mask.width, candidates[0]!.mask.height), { x: 32, y: 0 });
  });

  it.each([
    ['MI-GAN-shaped (uint8, any size, mask 255 = keep)', MIGAN],
    ['LaMa-shaped (float 0..1 in, 0..255 out, fixed 512 x 512, mask 1 = hole)', LAMA],
  ])('erases with the %s fixture: the hole gets the known answer, nothing outside the mask changes', async (_, pack) => {
    const { summary, candidates } = await runEdit(engine, request({ inpaintPack: pack, candidates: 3 }));
    expect(summary.engine).toBe('inpaint');
    expect(summary.route.reason).toMatch(/learned erase pack tiny-(migan|lama)/);
    expect(candidates).toHaveLength(1);
    const [c] = candidates;
    const out = composeCandidate(image, summary, c!);
    expectUntouchedOutside(out, image, c!.region, c!.mask);
    // The field's mean colour (+-0.1 of the range from the random residual, + the texture's spread), never the red disc.
    const got = holeMean(out, mask, 4);
    for (let k = 0; k < 3; k++) expect(Math.abs(got[k]! - field[k]!)).toBeLessThan(30);
  });

  it('outpaints with an erase pack: the source pixels stay, the new strip takes the known answer', async () => {
    const { summary, candidates } = await runEdit(engine, { image, mode: 'outpaint', expand: { left: 0, top: 0, right: 48, bottom: 0 }, engine: 'inpaint', inpaintPack: MIGAN, seed: 1, previewEvery: 0 });
    const [c] = candidates;
    const out = composeCandidate(image, summary, c!);
    expect([out.width, out.height]).toEqual([W + 48, H]);
    expectUntouchedOutside(out, image, c!.region, createMask(c!.mask.width, c!.mask.height));
    const strip = createMask(out.width, out.height, Uint8Array.from({ length: out.width * out.height }, (_, i) => (i % out.width >= W + 8 ? 255 : 0)));
    const got = holeMean(out, strip, 2);
    // The known pixels are the whole source: the field and a little of the red disc.
    expect(Math.abs(got[1]! - field[1]!)).toBeLessThan(40);
    expect(got[0]!).toBeLessThan(130);
  });

  it('pre-fills a diffusion erase with the erase pack, and still keeps every pixel outside the mask', async () => {
    const { summary, candidates } = await runEdit(engine, request({ engine: 'diffusion', prefill: true, inpaintPack: LAMA, rewards: false }));
    expect(summary.engine).toBe('diffusion');
    expect(summary.route).toMatchObject({ prefill: 'inpaint', inpaintPack: 'tiny-lama' });
    const [c] = candidates;
    expectUntouchedOutside(composeCandidate(image, summary, c!), image, c!.region, c!.mask);
  });

  it("pre-fills with the network's answer in the hole and the source everywhere else", async () => {
    const net = await openInpainter((await loadAnyPack(new FolderPackSource(MIGAN))) as LoadedInpaintPack, new NodeOrtRuntime(), 'cpu');
    try {
      const p = planEdit({ mode: 'erase', engine: 'diffusion', prefill: true, ...pixelFacts(image, mask), seed: 1 }, planningProfile(validateManifest(manifestAt(SMALL))), {}, planningProfile(net.pack.manifest));
      expect(p.prefillWith).toBe('inpaint');
      const filled = await inpaintPrefill(p, image, mask, net);
      const gen = generationMask(p, image, mask);
      let outside = 0;
      for (let i = 0; i < W * H; i++) if (gen.data[i] === 0) for (let k = 0; k < 4; k++) outside += filled.data[i * 4 + k] === image.data[i * 4 + k] ? 0 : 1;
      expect(outside).toBe(0);
      const got = holeMean(filled, mask, 4);
      for (let k = 0; k < 3; k++) expect(Math.abs(got[k]! - field[k]!)).toBeLessThan(30);
    } finally {
      await net.release();
    }
  });

  it('refuses a diffusion pack as the erase pack, and an erase pack for edit', async () => {
    await expect(runEdit(engine, request({ engine: 'inpaint', inpaintPack: SMALL }))).rejects.toThrow(/not a learned erase pack/);
    await expect(runEdit(engine, { image, mask, mode: 'edit', prompt: 'a hat', pack: MIGAN, seed: 1 })).rejects.toThrow(/cannot add content from a prompt/);
  });
});

describe('erase packs from the catalog', () => {
  it("ships catalog entries for MI-GAN and LaMa whose pack.json validate as erase packs (photos), unverified like the others", () => {
    const catalog = loadCatalog({});
    for (const e of catalog.packs.filter((p) => p.manifest)) expect(() => validateAnyManifest(e.manifest, `catalog ${e.name}`)).not.toThrow();
    const erase = catalog.packs.filter((p) => p.manifest?.family === 'inpaint');
    expect(erase.map((e) => [e.name, e.license, e.verified?.urls])).toEqual([
      ['migan', 'MIT', false],
      ['lama', 'Apache-2.0', false],
    ]);
    for (const e of erase) expect(planningProfile(validateAnyManifest(e.manifest)).domains).toEqual(['photo']);
  });

  it('pulls an erase pack from a hub on loopback; from then on a photo erase routes to it, with no flag', async () => {
    const hub = new FakeHub();
    await hub.start();
    const cache = mkdtempSync(join(tmpdir(), 'byteedit-erase-'));
    try {
      const catalog = catalogOf(await fixtureEntry(hub, 'tiny-migan', MIGAN));
      const o = { cacheDir: cache, catalog, env: { HF_ENDPOINT: hub.endpoint } };
      expect(await installedInpaintPack(o)).toBeUndefined();
      await pullPack('tiny-migan', o);
      const report = await verifyPack('tiny-migan', { ...o, env: {} });
      expect([report.ok, report.modelsOpened]).toEqual([true, 1]);
      expect(await installedInpaintPack(o)).toBe('tiny-migan');
      expect(await installedInpaintPack({ ...o, env: { BYTEEDIT_INPAINT_PACK: 'none' } })).toBeUndefined();
      const folder = await resolvePackRef('tiny-migan', o);
      const engine = createEngine({ pack: SMALL, device: 'cpu', inpaintPack: folder });
      try {
        const { image, mask } = scene(160, 120);
        const { summary } = await runEdit(engine, { image, mask, mode: 'erase', seed: 1, previewEvery: 0 });
        expect([summary.engine, summary.pack.name]).toEqual(['inpaint', 'tiny-migan']);
      } finally {
        await engine.dispose();
      }
    } finally {
      await hub.stop();
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
