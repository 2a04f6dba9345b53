/**
 * The known-answer check keeps `auto` (and explicit requests) off devices that compute wrong
 * numbers. A real device with the bug exists here only under the software Vulkan driver
 * (test/parity runs that); these tests simulate one by wrapping onnxruntime-node's CPU EP.
 */
import * as ort from 'onnxruntime-node';
import { join } from 'node:path';
import { Engine } from '../src/engine/engine';
import { runEdit } from '../src/engine/run';
import { runKnownAnswer, KNOWN_ANSWER_TOLERANCE } from '../src/runtime/known-answer';
import { NodeOrtRuntime, webgpuStatus, type VulkanProbe } from '../src/runtime/ort-node';
import { folderPackSource } from '../src/runtime/node-pack-source';
import type { OrtModule } from '../src/runtime/ort-shared';
import { SdkError } from '../src/util/errors';
import { boxMask, DIFFUSERS, gradientImage, LEGACY } from './helpers';

type Options = ort.InferenceSession.SessionOptions;
type Perturb = (data: Float32Array) => Float32Array;
/** What the fake device does to float32 and float16 outputs (float16 as raw half bits). */
interface Faults {
  f32?: Perturb;
  f16?: (data: Uint16Array) => Uint16Array;
}

function epName(options: Options | undefined): string {
  const ep = options?.executionProviders?.[0];
  return typeof ep === 'string' ? ep : (ep?.name ?? 'cpu');
}

/** onnxruntime-node whose "webgpu" is the CPU EP with its float outputs passed through `faults`. */
function fakeOrt(webgpu: Perturb | Faults | 'throws'): { module: OrtModule; created: string[] } {
  const faults: Faults = typeof webgpu === 'function' ? { f32: webgpu } : webgpu === 'throws' ? {} : webgpu;
  const created: string[] = [];
  const create = async (model: string | Uint8Array, options?: Options): Promise<ort.InferenceSession> => {
    const ep = epName(options);
    created.push(ep);
    if (ep !== 'webgpu') return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
    if (webgpu === 'throws') throw new Error('Failed to create a WebGPU device (simulated)');
    const cpuOptions = { ...options, executionProviders: ['cpu'] };
    const real = typeof model === 'string' ? await ort.InferenceSession.create(model, cpuOptions) : await ort.InferenceSession.create(model, cpuOptions);
    const run = real.run.bind(real);
    return Object.assign(Object.create(real) as ort.InferenceSession, {
      run: async (feeds: ort.InferenceSession.FeedsType) => {
        const out: Record<string, ort.Tensor> = { ...(await run(feeds)) };
        for (const [k, t] of Object.entries(out)) {
          if (t.type === 'float32' && faults.f32) out[k] = new ort.Tensor('float32', faults.f32(t.data as Float32Array), t.dims);
          // A plain tensor-like object: onnxruntime-node's Tensor would refuse a Float16Array stand-in.
          if (t.type === 'float16' && faults.f16) out[k] = { type: 'float16', dims: t.dims, data: faults.f16(t.data as Uint16Array) } as unknown as ort.Tensor;
        }
        return out;
      },
    });
  };
  const module = { Tensor: ort.Tensor, InferenceSession: { create } } as unknown as OrtModule;
  return { module, created };
}

const noCuda = { cuda: () => 'CUDA provider libraries are not installed (simulated)', webgpu: () => null };
// A channel mix-up like the real bug's: the right values in the wrong places.
const shuffled: Perturb = (d) => d.map((_, i) => d[(i * 7 + 3) % d.length]!);
const identity: Perturb = (d) => d;

describe('the known-answer check', () => {
  it('passes on the CPU EP, against a reference computed outside onnxruntime', async () => {
    const r = await runKnownAnswer(ort as unknown as OrtModule, { executionProviders: ['cpu'] });
    expect(r.ok).toBe(true);
    expect(r.error).toBeLessThan(1e-5);
  });

  it('passes in float16 on the CPU EP, and fails a device that returns zeros for float16', async () => {
    const cpu = await runKnownAnswer(ort as unknown as OrtModule, { executionProviders: ['cpu'] }, 'fp16');
    expect(cpu.ok).toBe(true);
    expect(cpu.error).toBeLessThan(5e-3);
    const zeros = await runKnownAnswer(fakeOrt({ f16: (d) => new Uint16Array(d.length) }).module, { executionProviders: ['webgpu'] }, 'fp16');
    expect(zeros).toMatchObject({ ok: false, detail: expect.stringMatching(/float16 9->32 channel 3x3 Conv is off by 1\.0e\+0/) });
  });

  it('keeps fp32 models on a device whose float16 is wrong, and moves float16 models off it', async () => {
    const runtime = new NodeOrtRuntime({ ort: fakeOrt({ f16: (d) => new Uint16Array(d.length) }).module, probes: noCuda });
    expect((await runtime.choose('auto')).device).toBe('webgpu');
    const fp32 = await runtime.createSession({ path: join(DIFFUSERS, 'unet', 'model.onnx') }, 'auto');
    expect([fp32.device, fp32.fallbacks]).toEqual(['webgpu', []]);
    const fp16 = await runtime.createSession({ path: join(LEGACY, 'unet', 'model.onnx') }, 'auto');
    expect(fp16.device).toBe('cpu');
    expect(fp16.fallbacks).toEqual([{ device: 'webgpu', reason: expect.stringMatching(/computes wrong numbers: it failed the known-answer check: a float16 9->32/) }]);
    await Promise.all([fp32.release(), fp16.release()]);
  });

  it('reads float16 outputs that come back as a 16-bit typed array other than Uint16Array (Float16Array in Chromium)', async () => {
    // Node 20 has no Float16Array: an Int16Array view of the same bits stands in for one.
    const asOther = (d: Uint16Array) => new Int16Array(d.buffer, d.byteOffset, d.length) as unknown as Uint16Array;
    const runtime = new NodeOrtRuntime({ ort: fakeOrt({ f16: asOther }).module, probes: noCuda });
    const session = await runtime.createSession({ path: join(LEGACY, 'unet', 'model.onnx') }, 'auto');
    expect([session.device, session.fallbacks]).toEqual(['webgpu', []]);
    const cpu = await new NodeOrtRuntime().createSession({ path: join(LEGACY, 'unet', 'model.onnx') }, 'cpu');
    const feeds = {
      sample: { type: 'float16' as const, dims: [1, 4, 8, 8], data: new Uint16Array(256).fill(0x3c00) },
      timestep: { type: 'float16' as const, dims: [1], data: new Uint16Array([0x5c00]) },
      encoder_hidden_states: { type: 'float16' as const, dims: [1, 77, 32], data: new Uint16Array(77 * 32).fill(0x3800) },
    };
    const [a, b] = [await session.run(feeds), await cpu.run(feeds)];
    const name = Object.keys(b)[0]!;
    expect(a[name]!.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(a[name]!.data as Uint16Array)).toEqual(Array.from(b[name]!.data as Uint16Array));
    await Promise.all([session.release(), cpu.release()]);
  });

  it('fails a device whose Conv is off by 1 % (the bound is 1e-4 relative)', async () => {
    const r = await runKnownAnswer(fakeOrt((d) => d.map((v) => v * 1.01)).module, { executionProviders: ['webgpu'] });
    expect(r.ok).toBe(false);
    expect(r.error).toBeGreaterThan(KNOWN_ANSWER_TOLERANCE.fp32 * 10);
    expect(r.detail).toMatch(/9->32 channel 3x3 Conv is off by/);
  });

  it('makes auto fall back to cpu, with the device and the reason, when webgpu computes wrong numbers', async () => {
    const fake = fakeOrt(shuffled);
    const runtime = new NodeOrtRuntime({ ort: fake.module, probes: noCuda });
    const choice = await runtime.choose('auto');
    expect(choice.device).toBe('cpu');
    expect(choice.fallbacks).toEqual([{ device: 'webgpu', reason: expect.stringMatching(/computes wrong numbers.*known-answer check/) }]);
    const webgpu = (await runtime.devices()).find((d) => d.name === 'webgpu')!;
    expect(webgpu).toMatchObject({ available: false, check: 'failed' });
    const session = await runtime.createSession({ path: join(DIFFUSERS, 'unet', 'model.onnx') }, 'auto');
    expect(session.device).toBe('cpu');
    expect(session.fallbacks.map((f) => f.device)).toEqual(['webgpu']);
    // The check ran once, on webgpu only; no real model was ever opened there.
    expect(fake.created.filter((ep) => ep === 'webgpu')).toHaveLength(1);
    await session.release();
  });

  it('checks the next device before using it when the first one passed its check but cannot open the model', async () => {
    // cuda: right numbers on the check model (bytes), but every real model (a path) fails to open.
    const webgpu = fakeOrt(shuffled).module;
    const created: string[] = [];
    const create = async (model: string | Uint8Array, options?: Options): Promise<ort.InferenceSession> => {
      const ep = epName(options);
      created.push(`${ep}:${typeof model === 'string' ? 'model' : 'check'}`);
      if (ep !== 'cuda') return webgpu.InferenceSession.create(model as Uint8Array, options);
      if (typeof model === 'string') throw new Error('CUDA out of memory (simulated)');
      return ort.InferenceSession.create(model, { ...options, executionProviders: ['cpu'] });
    };
    const module = { Tensor: ort.Tensor, InferenceSession: { create } } as unknown as OrtModule;
    const runtime = new NodeOrtRuntime({ ort: module, probes: { cuda: () => null, webgpu: () => null } });
    const session = await runtime.createSession({ path: join(DIFFUSERS, 'unet', 'model.onnx') }, 'auto');
    expect(session.device).toBe('cpu');
    expect(session.fallbacks).toEqual([
      { device: 'cuda', reason: expect.stringMatching(/could not open the model \(CUDA out of memory/) },
      { device: 'webgpu', reason: expect.stringMatching(/computes wrong numbers/) },
    ]);
    expect(created.filter((c) => c.startsWith('webgpu'))).toEqual(['webgpu:check']);
    await session.release();
  });

  it('refuses an explicit --device webgpu that fails the check, saying what to use instead', async () => {
    const runtime = new NodeOrtRuntime({ ort: fakeOrt(shuffled).module, probes: noCuda });
    const err = await runtime.createSession({ path: join(DIFFUSERS, 'unet', 'model.onnx') }, 'webgpu').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect((err as SdkError).code).toBe('device_unavailable');
    expect((err as SdkError).message).toMatch(/webgpu.*computes wrong numbers.*--device cpu/);
  });

  it('treats a device that cannot run the check as unavailable, and keeps a correct device', async () => {
    const broken = new NodeOrtRuntime({ ort: fakeOrt('throws').module, probes: noCuda });
    expect((await broken.choose('auto')).fallbacks[0]!.reason).toMatch(/could not run the known-answer check \(Failed to create a WebGPU device/);
    const good = new NodeOrtRuntime({ ort: fakeOrt(identity).module, probes: noCuda });
    expect(await good.choose('auto')).toEqual({ requested: 'auto', device: 'webgpu', fallbacks: [] });
    expect((await good.devices()).find((d) => d.name === 'webgpu')).toMatchObject({ available: true, check: 'passed' });
  });

  it('never runs the check for a device nobody asked for', async () => {
    const fake = fakeOrt(shuffled);
    const runtime = new NodeOrtRuntime({ ort: fake.module, probes: noCuda });
    expect(await runtime.choose('cpu')).toEqual({ requested: 'cpu', device: 'cpu', fallbacks: [] });
    expect(fake.created).toEqual([]);
  });

  it('reports the fallback in the started event and the job summary of a real edit', async () => {
    const runtime = new NodeOrtRuntime({ ort: fakeOrt(shuffled).module, probes: noCuda });
    const engine = new Engine({ runtime, packs: async () => folderPackSource(DIFFUSERS), device: 'auto' });
    try {
      const started: unknown[] = [];
      const result = await runEdit(engine, { image: gradientImage(64, 64), mask: boxMask(64, 64, 16, 16, 24, 24), mode: 'edit', prompt: 'a red star', steps: 2, seed: 3 }, (e) => {
        if (e.type === 'started') started.push(e.fallbacks);
      });
      expect(result.summary.device).toBe('cpu');
      expect(result.summary.deviceChoice).toEqual({ requested: 'auto', device: 'cpu', fallbacks: [{ device: 'webgpu', reason: expect.stringMatching(/known-answer/) }] });
      expect(started).toEqual([[{ device: 'webgpu', reason: expect.stringMatching(/known-answer/) }]]);
      expect((await engine.capabilities()).deviceChoice.device).toBe('cpu');
    } finally {
      await engine.dispose();
    }
  });
});

describe('webgpu availability on Linux', () => {
  const probe = (files: string[], env: Record<string, string> = {}): VulkanProbe => ({
    platform: 'linux',
    env,
    exists: (p) => files.includes(p),
    list: (d) => files.filter((f) => f.startsWith(`${d}/`)).map((f) => f.slice(d.length + 1)),
  });
  const loader = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';

  it('is not tried without the Vulkan loader, or with the loader but no driver (Dawn would print its own noise)', () => {
    expect(webgpuStatus(probe([]))).toMatch(/no Vulkan loader found/);
    expect(webgpuStatus(probe([loader]))).toMatch(/no Vulkan driver found/);
  });

  it('is tried with a driver manifest where the loader looks, or one named by VK_DRIVER_FILES', () => {
    expect(webgpuStatus(probe([loader, '/usr/share/vulkan/icd.d/nvidia_icd.json']))).toBeNull();
    expect(webgpuStatus(probe([loader, '/etc/vulkan/icd.d/lvp_icd.x86_64.json']))).toBeNull();
    expect(webgpuStatus(probe([loader], { VK_DRIVER_FILES: '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json' }))).toBeNull();
    expect(webgpuStatus(probe(['/opt/vk/libvulkan.so.1', '/usr/share/vulkan/icd.d/x.json'], { LD_LIBRARY_PATH: '/opt/vk' }))).toBeNull();
  });
});

