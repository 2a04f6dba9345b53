/**
 * The default pack's training recipe, end to end on its tiny configuration (minutes), so the recipe
 * cannot rot: data from Debian's openclipart-svg, training with Debian's PyTorch, ONNX export,
 * pack assembly; then the pack runs an edit through the TypeScript core.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createEngine, runEdit, validateManifest, createImage, createMask } from '../core/src/node';

const REPO = resolve(__dirname, '..');

describe('models/recipe/build_pack.py --config tiny', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'byteedit-recipe-'));
    execFileSync('/usr/bin/python3', [join(REPO, 'models', 'recipe', 'build_pack.py'), '--config', 'tiny', '--out', join(out, 'pack'), '--cache', join(out, 'cache')], {
      stdio: 'inherit',
      timeout: 20 * 60_000,
    });
  }, 21 * 60_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes a valid pack with its build record', () => {
    const manifest = validateManifest(JSON.parse(readFileSync(join(out, 'pack', 'pack.json'), 'utf8')));
    expect(manifest.kind).toBe('trained');
    expect(manifest.modes).toEqual(expect.arrayContaining(['edit', 'erase', 'outpaint']));
    const info = JSON.parse(readFileSync(join(out, 'pack', 'build_info.json'), 'utf8')) as { config: string; wall_time_s: number };
    expect(info.config).toBe('tiny');
    expect(info.wall_time_s).toBeGreaterThan(0);
  });

  it('runs an edit through the core, with its reward models scoring the candidate', async () => {
    const engine = createEngine({ pack: join(out, 'pack'), device: 'cpu' });
    const image = createImage(160, 160);
    for (let i = 0; i < 160 * 160; i++) image.data.set([200, 180, 120, 255], i * 4);
    const mask = new Uint8Array(160 * 160);
    for (let y = 50; y < 110; y++) for (let x = 50; x < 110; x++) mask[y * 160 + x] = 255;
    const r = await runEdit(engine, { image, mask: createMask(160, 160, mask), mode: 'edit', prompt: 'a red star', seed: 3, steps: 4 });
    await engine.dispose();
    expect(r.candidates).toHaveLength(1);
    expect(r.candidates[0]!.scores).toMatchObject({ alignment: expect.any(Number), aesthetic: expect.any(Number), coherence: expect.any(Number) });
  });
});
