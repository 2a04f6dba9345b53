/**
 * Every backend computes the same pixels as the CPU EP (the reference), per model and end to end:
 * onnxruntime-node's WebGPU EP for real on lavapipe (software Vulkan, test/webgpu/node-lavapipe),
 * and onnxruntime-web's WASM backend in Node. Before the NCHW fix, WebGPU's UNet was off by a
 * relative 1.05-2.8 and the images by up to 255/255; the bounds below are 4 orders of magnitude
 * tighter (docs/parity.md has the measured figures).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { decodeImage } from '../../core/src/index';

const REPO = resolve(__dirname, '..', '..');
const LAVAPIPE = join(REPO, 'test', 'webgpu', 'node-lavapipe');
const BIN = join(REPO, 'core', 'bin', 'byteedit.js');
const SMALL = join(REPO, 'models', 'packs', 'byteedit-small');
const FIXTURES = join(REPO, 'models', 'fixtures');
const EXAMPLE = ['--image', join(REPO, 'docs/examples/before.png'), '--mask', join(REPO, 'docs/examples/mask.png')];
const PHOTO = ['--image', join(REPO, 'docs/examples/photo-coffee.png'), '--mask', join(REPO, 'docs/examples/photo-coffee-mask.png')];

/** Relative error of a component's outputs (max |a - b| / max |ref|), by output dtype. */
const COMPONENT_BOUND: Record<string, number> = { float32: 5e-5, float16: 1e-3 };
/**
 * End to end, per RGB channel value over the candidate's region (0-255). Measured: fp32 packs at
 * most 2, the fp16 pack 4 (half-precision UNet outputs round differently); means below 0.006.
 */
const IMAGE_MAX = { fp32: 3, fp16: 4 };
const IMAGE_MEAN = 0.05;

interface Component {
  component: string;
  device: string;
  dtype: string;
  rel: number;
  finite: boolean;
  calls: number;
}
interface Report {
  cpu: { ranking: number[] };
  backends: Record<string, { device: string; components: Component[]; endToEnd: { max: number; mean: number; ranking: number[] } }>;
}

let dir: string;
let runner: string;
const env = { ...process.env, NODE_PATH: join(REPO, 'node_modules') };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'byteedit-parity-'));
  const check = spawnSync(LAVAPIPE, ['--check'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`WebGPU on the software driver is not set up: ${check.stderr.trim()}`);
  runner = join(dir, 'run-parity.js');
  await build({ entryPoints: [join(__dirname, 'run-parity.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node', 'onnxruntime-web'], outfile: runner, logLevel: 'error' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parity(name: string, pack: string, args: string[]): Report {
  const out = join(dir, `${name}.json`);
  const r = spawnSync(LAVAPIPE, [runner, '--pack', pack, ...args, '--backends', 'webgpu,wasm', '--out', out], { encoding: 'utf8', env, timeout: 10 * 60_000 });
  if (r.status !== 0) throw new Error(`run-parity ${name} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(readFileSync(out, 'utf8')) as Report;
}

function expectParity(report: Report, components: string[], precision: 'fp32' | 'fp16' = 'fp32'): void {
  for (const backend of ['webgpu', 'wasm']) {
    const b = report.backends[backend]!;
    expect(b.device).toBe(backend); // ran there: no silent fallback to the CPU
    expect(b.components.map((c) => c.component).sort()).toEqual([...components].sort());
    for (const c of b.components) {
      expect({ backend, component: c.component, device: c.device, finite: c.finite }).toEqual({ backend, component: c.component, device: backend, finite: true });
      expect({ backend, component: c.component, rel: c.rel }).toEqual({ backend, component: c.component, rel: expect.any(Number) });
      if (!(c.rel <= COMPONENT_BOUND[c.dtype]!)) throw new Error(`${backend} ${c.component} (${c.dtype}): relative error ${c.rel} > ${COMPONENT_BOUND[c.dtype]}`);
    }
    expect({ backend, max: b.endToEnd.max <= IMAGE_MAX[precision], mean: b.endToEnd.mean <= IMAGE_MEAN, got: b.endToEnd }).toEqual({ backend, max: true, mean: true, got: b.endToEnd });
    // Same candidates in the same order: OUT-1 ... OUT-K do not depend on the backend.
    expect(b.endToEnd.ranking).toEqual(report.cpu.ranking);
  }
}

const SD_COMPONENTS = ['unet', 'text_encoder', 'vae_encoder', 'vae_decoder'];
const SMALL_COMPONENTS = [...SD_COMPONENTS, 'rewards/image_encoder.onnx', 'rewards/text_encoder.onnx', 'rewards/aesthetic.onnx', 'rewards/coherence.onnx'];

describe('backend parity against the CPU EP (WebGPU on lavapipe, WASM)', () => {
  it('the default pack, on the README example, two candidates', () => {
    expectParity(parity('small-example', SMALL, [...EXAMPLE, '--prompt', 'a red heart', '--seed', '7', '--steps', '8', '--candidates', '2']), SMALL_COMPONENTS);
  });

  it('the default pack, on a photograph', () => {
    expectParity(parity('small-photo', SMALL, [...PHOTO, '--prompt', 'a red flower', '--seed', '11', '--steps', '8']), SMALL_COMPONENTS);
  });

  it.each(['tiny-sd-diffusers', 'tiny-sd-optimum', 'tiny-sd-legacy'])('the %s fixture pack', (name) => {
    expectParity(parity(name, join(FIXTURES, name), [...EXAMPLE, '--prompt', 'a red star', '--seed', '3', '--steps', '4', '--candidates', '2']), SD_COMPONENTS, name === 'tiny-sd-legacy' ? 'fp16' : 'fp32');
  });
});

describe('byteedit edit --device webgpu on lavapipe', () => {
  function cli(launcher: string[], args: string[], out: string, extraEnv: Record<string, string> = {}) {
    const r = spawnSync(launcher[0]!, [...launcher.slice(1), BIN, 'edit', ...args, '--out', join(dir, out), '--json'], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 5 * 60_000 });
    if (r.status !== 0) throw new Error(`byteedit ${out} failed (${r.status}): ${r.stderr.slice(-1500)}`);
    return { json: JSON.parse(r.stdout) as { device: string; deviceChoice: { fallbacks: { device: string; reason: string }[] } }, stderr: r.stderr, image: decodeImage(new Uint8Array(readFileSync(join(dir, out)))) };
  }
  function diff(a: ReturnType<typeof cli>['image'], b: ReturnType<typeof cli>['image']): { max: number; mean: number } {
    let max = 0;
    let sum = 0;
    for (let i = 0; i < a.data.length; i++) {
      const d = Math.abs(a.data[i]! - b.data[i]!);
      max = Math.max(max, d);
      sum += d;
    }
    return { max, mean: sum / a.data.length };
  }

  it.each([
    ['the README example', [...EXAMPLE, '--prompt', 'a red heart', '--seed', '7']],
    ['a photograph', [...PHOTO, '--prompt', 'a red flower', '--seed', '11']],
  ])('matches --device cpu on %s', (_what, args) => {
    const cpu = cli([process.execPath], [...args, '--device', 'cpu'], 'cpu.png');
    const gpu = cli([LAVAPIPE], [...args, '--device', 'webgpu'], 'webgpu.png');
    expect([cpu.json.device, gpu.json.device]).toEqual(['cpu', 'webgpu']);
    expect(gpu.image.width * gpu.image.height).toBe(cpu.image.width * cpu.image.height);
    const d = diff(cpu.image, gpu.image);
    expect(d.max).toBeLessThanOrEqual(IMAGE_MAX.fp32);
    expect(d.mean).toBeLessThanOrEqual(IMAGE_MEAN);
  });

  it('--device auto picks webgpu when it passes the known-answer check', () => {
    const r = cli([LAVAPIPE], [...EXAMPLE, '--prompt', 'a red heart', '--seed', '7', '--steps', '2'], 'auto.png');
    expect(r.json.device).toBe('webgpu');
    expect(r.json.deviceChoice.fallbacks).toEqual([]);
  });

  it('--device auto falls back to the CPU, with one line saying why, when the real bug is let through (NHWC)', () => {
    const r = cli([LAVAPIPE], [...EXAMPLE, '--prompt', 'a red heart', '--seed', '7', '--steps', '2'], 'nhwc.png', { BYTEEDIT_WEBGPU_LAYOUT: 'NHWC' });
    expect(r.json.device).toBe('cpu');
    expect(r.json.deviceChoice.fallbacks).toEqual([{ device: 'webgpu', reason: expect.stringMatching(/computes wrong numbers.*known-answer check.*off by/) }]);
    const ours = r.stderr.split('\n').filter((l) => l.startsWith('byteedit:'));
    expect(ours).toEqual([expect.stringMatching(/^byteedit: not using webgpu: it computes wrong numbers: .*; using cpu$/)]);
  });
});
