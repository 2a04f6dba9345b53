import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planEdit, type PlanInput } from '../src/plan/plan';
import { validateManifest, type PackManifest } from '../src/packs/manifest';
import { rect } from '../src/image/geometry';
import { DIFFUSERS } from './helpers';

const fixture = validateManifest(JSON.parse(readFileSync(join(DIFFUSERS, 'pack.json'), 'utf8')));
const sd: PackManifest = { ...fixture, resolution: { native: 512, multiple: 64 } };

const base = (over: Partial<PlanInput> = {}): PlanInput => ({
  imageSize: { width: 2000, height: 1500 },
  mask: { width: 2000, height: 1500, bounds: rect(900, 700, 120, 80) },
  mode: 'edit',
  seed: 5,
  prompt: 'a red star',
  ...over,
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
    const p = planEdit(base({ mode: 'outpaint', mask: undefined, expand: { left: 64, top: 0, right: 64, bottom: 0 } }), sd);
    expect(p.canvas).toEqual({ width: 2128, height: 1500 });
    expect(p.sourceOffset).toEqual({ x: 64, y: 0 });
    expect(p.protectSource).toBe(true);
    expect(p.compositeFeather).toBe(0);
    const right = planEdit(base({ mode: 'outpaint', mask: undefined, expand: { left: 0, top: 0, right: 100, bottom: 0 } }), sd);
    expect(right.generationBounds).toEqual({ x: 2000, y: 0, width: 100, height: 1500 });
  });

  it("uses the pack's erase prompt for erase", () => {
    const p = planEdit(base({ mode: 'erase', prompt: 'ignored' }), fixture);
    expect(p.prompt).toBe('empty background');
    expect(p.negativePrompt).toBe('object');
    expect(p.generationGrow).toBeGreaterThan(0);
  });

  it('records one distinct seed per candidate', () => {
    expect(planEdit(base({ candidates: 3, seed: 4294967295 }), sd).seeds).toEqual([4294967295, 0, 1]);
  });

  it.each([
    ['mask_empty', base({ mask: { width: 2000, height: 1500, bounds: null } })],
    ['mask_size_mismatch', base({ mask: { width: 20, height: 1500, bounds: rect(0, 0, 1, 1) } })],
    ['image_too_large', base({ maxPixels: 1_000_000 })],
    ['invalid_argument', base({ steps: 0 })],
    ['invalid_argument', base({ guidance: -1 })],
    ['invalid_argument', base({ candidates: 17 })],
    ['invalid_argument', base({ strength: 0 })],
    ['invalid_argument', base({ mode: 'outpaint', mask: undefined, expand: { left: 0, top: 0, right: 0, bottom: 0 } })],
    ['invalid_argument', base({ mask: undefined })],
  ] as const)('refuses with %s', (code, input) => {
    expect(() => planEdit(input, sd)).toThrow(expect.objectContaining({ code }));
  });

  it('refuses a mode the pack does not support', () => {
    expect(() => planEdit(base({ mode: 'erase' }), { ...sd, modes: ['edit'] })).toThrow(expect.objectContaining({ code: 'mode_unsupported' }));
  });
});
