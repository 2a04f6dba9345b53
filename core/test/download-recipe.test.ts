/**
 * The recipe's export path (models/recipes/export_inpaint_pack.py) on tiny randomly initialised
 * modules with the real SD inpainting I/O: the packs it writes pass `verify` and run an edit in the
 * core; the fp16-weights variant gives nearly the same pixels as fp32 at about half the bytes.
 * The aesthetic-head export matches the signature the catalog declares. Needs Debian's
 * /usr/bin/python3 with python3-torch and python3-onnx (as the fixture generator does).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, boxMask, gradientImage } from './helpers';
import { verifyFolder, loadCatalog } from '../src/download/index';
import { createEngine } from '../src/node';
import { runEdit } from '../src/engine/run';

jest.setTimeout(180_000);

const PY = '/usr/bin/python3';
const RECIPES = join(REPO, 'models', 'recipes');
let work: string;

function python(args: string[]): string {
  return execFileSync(PY, args, { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 150_000 });
}

beforeAll(async () => {
  expect(existsSync(PY)).toBe(true);
  work = await fs.mkdtemp(join(tmpdir(), 'byteedit-recipe-'));
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('recipe: export_inpaint_pack.py --tiny-random', () => {
  it('writes fp32 and fp16-weights packs that verify and run an edit with nearly the same pixels', async () => {
    const packs: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    for (const precision of ['fp32', 'fp16-weights']) {
      const out = join(work, precision);
      const report = JSON.parse(python([join(RECIPES, 'export_inpaint_pack.py'), '--tiny-random', '--precision', precision, '--out', out])) as { files: Record<string, number> };
      expect(Object.keys(report.files).sort()).toEqual(['pack.json', 'text_encoder/model.onnx', 'tokenizer/merges.txt', 'tokenizer/vocab.json', 'unet/model.onnx', 'vae_decoder/model.onnx', 'vae_encoder/model.onnx']);
      const v = await verifyFolder(out, null, {});
      expect(v.problems).toEqual([]);
      expect(v.modelsOpened).toBe(4);
      packs[precision] = out;
      sizes[precision] = Object.entries(report.files).filter(([f]) => f.endsWith('.onnx')).reduce((a, [, n]) => a + n, 0);
    }
    expect(sizes['fp16-weights']! / sizes.fp32!).toBeLessThan(0.6);

    const engine = createEngine({ pack: packs.fp32, device: 'cpu' });
    try {
      const req = { image: gradientImage(64, 64), mask: boxMask(64, 64, 16, 16, 32, 32), mode: 'edit' as const, prompt: 'a red star', seed: 5, steps: 3, previewEvery: 0, rewards: false };
      const a = (await runEdit(engine, { ...req, pack: packs.fp32 })).candidates[0]!.patch;
      const b = (await runEdit(engine, { ...req, pack: packs['fp16-weights'] })).candidates[0]!.patch;
      expect([a.width, a.height]).toEqual([b.width, b.height]);
      let diff = 0;
      for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i]! - b.data[i]!);
      const mean = diff / a.data.length;
      // Measured here: 0.009 grey levels. Control: other random weights (seed 1) differ far more.
      expect(mean).toBeLessThan(0.5);
      const other = join(work, 'fp32-seed1');
      python([join(RECIPES, 'export_inpaint_pack.py'), '--tiny-random', '--precision', 'fp32', '--seed', '1', '--out', other]);
      const c = (await runEdit(engine, { ...req, pack: other })).candidates[0]!.patch;
      let control = 0;
      for (let i = 0; i < a.data.length; i++) control += Math.abs(a.data[i]! - c.data[i]!);
      expect(control / a.data.length).toBeGreaterThan(0.5);
    } finally {
      await engine.dispose();
    }
  });
});

describe('recipe: export_aesthetic_head.py --random', () => {
  it('matches the signature the catalog declares for laion-aesthetic-l14', async () => {
    const entry = loadCatalog({}).packs.find((p) => p.name === 'laion-aesthetic-l14')!;
    const out = join(work, 'aesthetic');
    python([join(RECIPES, 'export_aesthetic_head.py'), '--random', '--out', join(out, 'rewards', 'aesthetic.onnx')]);
    const ok = await verifyFolder(out, null, { entry });
    expect(ok.problems).toEqual([]);
    expect(ok.modelsOpened).toBe(1);
    // And the check can fail: a catalog that expects another input name is caught.
    const wrong = { ...entry, files: [{ ...entry.files[0]!, signature: { inputs: [{ name: 'image_embeds', rank: 2 }] } }] };
    const bad = await verifyFolder(out, null, { entry: wrong });
    expect(bad.problems).toEqual(['rewards/aesthetic.onnx: no input "image_embeds" (has "embedding")']);
  });
});
