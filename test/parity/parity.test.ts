/**
 * Every backend computes the same pixels as the CPU EP (the reference), per model and end to end:
 * onnxruntime-node's WebGPU EP for real on lavapipe (software Vulkan, test/webgpu/node-lavapipe),
 * and onnxruntime-web's WASM backend in Node. Before the NCHW fix, WebGPU's UNet was off by a
 * relative 1.05-2.8 and the images by up to 255/255; the bounds below are 4 orders of magnitude
 * tighter (docs/parity.md has the measured figures).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage } from '../../core/src/index';
import { buildRunner, expectParity, IMAGE_MAX, IMAGE_MEAN, LAVAPIPE, PARITY_ENV as env, REPO, runParity } from './harness';

const BIN = join(REPO, 'core', 'bin', 'byteedit.js');
const SMALL = join(REPO, 'models', 'packs', 'byteedit-small');
const FIXTURES = join(REPO, 'models', 'fixtures');
const EXAMPLE = ['--image', join(REPO, 'docs/examples/before.png'), '--mask', join(REPO, 'docs/examples/mask.png')];
const PHOTO = ['--image', join(REPO, 'docs/examples/photo-coffee.png'), '--mask', join(REPO, 'docs/examples/photo-coffee-mask.png')];

let dir: string;
let runner: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'byteedit-parity-'));
  runner = await buildRunner(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const parity = (name: string, pack: string, args: string[]) => runParity(runner, dir, name, pack, args);

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

describe('the bridge on lavapipe', () => {
  async function health(extraEnv: Record<string, string>): Promise<{ deviceChoice: unknown; devices: { name: string; available: boolean; check?: string }[] }> {
    const config = mkdtempSync(join(dir, 'config-'));
    const child = spawn(LAVAPIPE, [BIN, 'serve', '--port', '0'], { env: { ...env, XDG_CONFIG_HOME: config, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((res, rej) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) res(m[1]!);
        });
        child.on('exit', (code) => rej(new Error(`bridge exited with ${code}`)));
      });
      // Devices and deviceChoice come only with the token (unauthenticated health is minimal).
      const { token } = JSON.parse(readFileSync(join(config, 'byteedit', 'bridge.json'), 'utf8')) as { token: string };
      return (await (await fetch(`${url}/v1/health`, { headers: { Authorization: `Bearer ${token}` } })).json()) as Awaited<ReturnType<typeof health>>;
    } finally {
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
    }
  }

  it('says in /v1/health which device auto chose, and why it passed over webgpu when webgpu computes wrong numbers', async () => {
    const good = await health({});
    expect(good.deviceChoice).toEqual({ requested: 'auto', device: 'webgpu', fallbacks: [] });
    const bad = await health({ BYTEEDIT_WEBGPU_LAYOUT: 'NHWC' });
    expect(bad.deviceChoice).toEqual({ requested: 'auto', device: 'cpu', fallbacks: [{ device: 'webgpu', reason: expect.stringMatching(/computes wrong numbers/) }] });
    expect(bad.devices.find((d) => d.name === 'webgpu')).toMatchObject({ available: false, check: 'failed' });
  });
});
