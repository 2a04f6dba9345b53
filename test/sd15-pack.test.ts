/**
 * models/tools/make_sd15_pack.py on its tiny variant (--width-div 8: every width / 8, the full SD-1.5
 * depth and graph), so the generator of the GPU benchmark's workload cannot rot: the ONNX files
 * agree with the PyTorch modules, the core loads the pack (external data, synthetic CLIP tokenizer)
 * and runs an edit on it, the latents stay finite through 20 guided sampler steps, and
 * models/bench/torch_reference.py rebuilds the same weights and writes bench-format rows.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createEngine, createImage, createMask, createSampler, FolderPackSource, loadPack, NodeOrtRuntime, Rng, runEdit, validateManifest } from '../core/src/node';
import type { ModelSession, TensorData } from '../core/src/node';
import { buildRunner, expectParity, runParity } from './parity/harness';

const REPO = resolve(__dirname, '..');
const PY = '/usr/bin/python3';

interface CheckRow {
  component: string;
  output: string;
  relErr: number;
  corr: number;
  finite: boolean;
  ok: boolean;
}

describe('models/tools/make_sd15_pack.py --width-div 8', () => {
  let out: string;
  let pack: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'byteedit-sd15-'));
    pack = join(out, 'pack');
    // --external-above 0: every model as model.onnx + model.onnx_data, the layout of the full-size UNet.
    execFileSync(PY, [join(REPO, 'models', 'tools', 'make_sd15_pack.py'), '--out', pack, '--width-div', '8', '--native', '128', '--seed', '3', '--external-above', '0', '--reference', join(out, 'ref'), '--reference-size', '128'], {
      stdio: 'inherit',
      timeout: 15 * 60_000,
    });
  }, 16 * 60_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes a valid pack that says it holds random weights', () => {
    const manifest = validateManifest(JSON.parse(readFileSync(join(pack, 'pack.json'), 'utf8')));
    expect(manifest.kind).toBe('fixture');
    expect(manifest.description).toMatch(/random weights, not a model/i);
    const info = JSON.parse(readFileSync(join(pack, 'build_info.json'), 'utf8')) as { random_weights: boolean; params: Record<string, number> };
    expect(info.random_weights).toBe(true);
    // The full UNet has 320/640/1280/1280 channels (~860M parameters); divided by 8, about 1/64 of that.
    expect(info.params.unet! / 1e6).toBeGreaterThan(12);
    expect(info.params.unet! / 1e6).toBeLessThan(15);
    for (const c of ['text_encoder', 'unet', 'vae_encoder', 'vae_decoder']) expect(existsSync(join(pack, c, 'model.onnx_data'))).toBe(true);
  });

  it('has a synthetic tokenizer the core CLIP BPE tokenizer accepts, with CLIP\'s special-token ids', async () => {
    const loaded = await loadPack(new FolderPackSource(pack));
    const ids = Array.from(loaded.tokenizer.encode('a red star'));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(49406);
    const end = ids.indexOf(49407);
    expect(end).toBeGreaterThan(1);
    expect(ids.slice(end).every((i) => i === 49407)).toBe(true);
  });

  it('ONNX (onnxruntime-node through the core) matches the PyTorch modules on every component', () => {
    const json = join(out, 'check.json');
    execFileSync(process.execPath, [join(REPO, 'models', 'bench', 'check_reference.mjs'), '--pack', pack, '--reference', join(out, 'ref'), '--json', json], { stdio: 'inherit', timeout: 5 * 60_000 });
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { rows: CheckRow[] }).rows;
    expect(rows.map((r) => `${r.component}.${r.output}`)).toEqual(['text_encoder.last_hidden_state', 'text_encoder.pooler_output', 'unet.out_sample', 'vae_encoder.latent_sample', 'vae_decoder.sample']);
    for (const r of rows) {
      expect(r.finite).toBe(true);
      expect(r.relErr).toBeLessThan(1e-3);
      expect(r.corr).toBeGreaterThan(0.99999);
    }
  });

  it('keeps the latents finite and bounded through 20 guided DDIM and Euler-a steps', async () => {
    const runtime = new NodeOrtRuntime();
    const loaded = await loadPack(new FolderPackSource(pack));
    const m = loaded.manifest;
    const open = async (file: string): Promise<ModelSession> => runtime.createSession(await loaded.source.modelSource(file), 'cpu');
    const [text, unet] = await Promise.all([open(m.components.text_encoder.file), open(m.components.unet.file)]);
    const encode = async (prompt: string): Promise<Float32Array> => {
      const ids = loaded.tokenizer.encode(prompt);
      return (await text.run({ input_ids: { type: 'int32', dims: [1, ids.length], data: ids } })).last_hidden_state!.data as Float32Array;
    };
    const ctx = new Float32Array([...(await encode('')), ...(await encode('a red star'))]);
    const width = ctx.length / 2 / 77;
    const lw = 16;
    const n = 4 * lw * lw;
    const mask = new Float32Array(lw * lw).fill(1);
    const masked = new Rng(5).fillNormal(new Float32Array(n)).map((v) => v * 0.5);
    for (const scheduler of ['ddim', 'euler-a'] as const) {
      const sampler = createSampler({ scheduler, steps: 20, schedule: m.noiseSchedule, prediction: m.prediction });
      const rng = new Rng(7);
      let x = sampler.initial(rng.fillNormal(new Float32Array(n)));
      for (let i = 0; i < sampler.timesteps.length; i++) {
        const inp = sampler.modelInput(x, i);
        const sample = new Float32Array(2 * 9 * lw * lw);
        for (let b = 0; b < 2; b++) sample.set([...inp, ...mask, ...masked], b * 9 * lw * lw);
        const feeds: Record<string, TensorData> = {
          sample: { type: 'float32', dims: [2, 9, lw, lw], data: sample },
          timestep: { type: 'int64', dims: [1], data: new BigInt64Array([BigInt(Math.round(sampler.timesteps[i]!))]) },
          encoder_hidden_states: { type: 'float32', dims: [2, 77, width], data: ctx },
        };
        const o = (await unet.run(feeds)).out_sample!.data as Float32Array;
        const eps = new Float32Array(n).map((_, k) => o[k]! + 7.5 * (o[n + k]! - o[k]!));
        x = sampler.step(x, i, eps, rng).x;
        const maxAbs = x.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        expect(Number.isFinite(maxAbs)).toBe(true);
        expect(maxAbs).toBeLessThan(1e3);
      }
      const mean = x.reduce((a, v) => a + v, 0) / n;
      const std = Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
      // Not collapsed to a constant, not blown up.
      expect(std).toBeGreaterThan(0.05);
      expect(std).toBeLessThan(100);
    }
    await Promise.all([text.release(), unet.release()]);
  });

  it('runs an edit through the core and keeps the pixels outside the mask', async () => {
    const engine = createEngine({ pack, device: 'cpu' });
    const size = 128;
    const image = createImage(size, size);
    for (let i = 0; i < size * size; i++) image.data.set([(i % size) * 2, Math.floor(i / size) * 2, 120, 255], i * 4);
    const mask = new Uint8Array(size * size);
    for (let y = 40; y < 88; y++) for (let x = 40; x < 88; x++) mask[y * size + x] = 255;
    const r = await runEdit(engine, { image, mask: createMask(size, size, mask), mode: 'edit', prompt: 'a red star', seed: 3, steps: 4 });
    await engine.dispose();
    expect(r.summary.device).toBe('cpu');
    expect(r.candidates).toHaveLength(1);
    const c = r.candidates[0]!;
    let changed = 0;
    for (let y = 0; y < c.patch.height; y++) {
      for (let x = 0; x < c.patch.width; x++) {
        const p = (y * c.patch.width + x) * 4;
        const src = ((y + c.region.y) * size + x + c.region.x) * 4;
        const same = [0, 1, 2].every((k) => c.patch.data[p + k] === image.data[src + k]);
        if (c.mask.data[y * c.mask.width + x] === 0) expect(same).toBe(true);
        else if (!same) changed++;
      }
    }
    expect(changed).toBeGreaterThan(500);
  });

  // WebGPU only: the browser runtime (WASM) takes models as bytes and has no external-data
  // support yet, and this pack keeps every model's weights in model.onnx_data.
  it('computes the same outputs and pixels on WebGPU (lavapipe) as on the CPU EP', async () => {
    const runner = await buildRunner(out);
    const example = ['--image', join(REPO, 'docs/examples/before.png'), '--mask', join(REPO, 'docs/examples/mask.png')];
    const report = runParity(runner, out, 'sd15-parity', pack, [...example, '--prompt', 'a red star', '--seed', '3', '--steps', '4', '--candidates', '2'], ['webgpu']);
    expectParity(report, ['unet', 'text_encoder', 'vae_encoder', 'vae_decoder'], 'fp32', ['webgpu']);
  });

  it('models/bench/torch_reference.py rebuilds the same weights and writes bench-format rows', () => {
    const json = join(out, 'torch.json');
    execFileSync(PY, [join(REPO, 'models', 'bench', 'torch_reference.py'), '--device', 'cpu', '--width-div', '8', '--seed', '3', '--size', '128', '--steps', '2', '--runs', '1', '--unet-runs', '2', '--hash', '--json', json], { stdio: 'inherit', timeout: 5 * 60_000 });
    const result = JSON.parse(readFileSync(json, 'utf8')) as { machine: object; rows: Record<string, unknown>[] };
    const row = result.rows[0]!;
    for (const k of ['coldMs', 'warmMs', 'warmMinMs', 'stepMs', 'unetCallMs', 'peakRssMb']) expect(row[k]).toBeGreaterThan(0);
    expect(row).toMatchObject({ size: 128, steps: 2, unetInput: '2x9x16x16', dtype: 'float32', runtime: 'pytorch-eager' });
    const info = JSON.parse(readFileSync(join(pack, 'build_info.json'), 'utf8')) as { weights_sha256: Record<string, string> };
    expect(row.unetWeightsSha256).toBe(info.weights_sha256.unet);
  });
});
