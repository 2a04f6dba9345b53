/**
 * The page script of chromium-runtime.test.ts: core's own browser runtime (WebOrtRuntime on
 * onnxruntime-web, UrlPackSource over fetch, Engine, decodeImage, composeCandidate) in headless
 * Chromium. Bundled by esbuild for the browser from core's sources with build.mjs's browser
 * options (platform browser, esm, es2022; core/src/index.ts: browser.ts needs the DOM lib to
 * typecheck): core's browser entry (dist/browser/index.js) exports
 * neither WebOrtRuntime nor UrlPackSource (only the Web Worker, dist/browser/worker.js, has them),
 * so they cannot be taken from the build. The worker path is driven too: dist/browser/index.js's
 * createBrowserWorkerEngine with dist/browser/worker.js, both loaded as built.
 *
 * Exposed on globalThis: byteeditRuntimeDevices(), byteeditRuntimeHalf(url), byteeditRuntimeEdit(o).
 */
import * as ort from 'onnxruntime-web';
import { composeCandidate, decodeImage, Engine, maskFromImage, runEdit, type EditRequest, type EngineApi, type JobResult, type RgbaImage } from '../../../core/src/index';
import { WebOrtRuntime } from '../../../core/src/runtime/ort-web';
import { UrlPackSource } from '../../../core/src/runtime/web-pack-source';
import { KNOWN_ANSWER_DIMS, KNOWN_ANSWER_F16_INPUT_B64, KNOWN_ANSWER_F16_MODEL_B64 } from '../../../core/src/runtime/known-answer-model';
import type { DeviceChoice, DeviceFallback, DeviceStatus } from '../../../core/src/runtime/types';

/** The little of the DOM/WebGPU API used here (the test's tsconfig has no DOM lib). */
interface GpuAdapter {
  readonly features: { has(name: string): boolean };
  readonly info?: Record<string, string>;
}
interface GpuDevice {
  addEventListener(type: 'uncapturederror', f: (e: { error: { message: string } }) => void): void;
  readonly queue: { onSubmittedWorkDone(): Promise<void> };
}
declare const navigator: { gpu?: { requestAdapter(): Promise<GpuAdapter | null> } };
declare const location: { origin: string };
declare const btoa: (s: string) => string;
declare const atob: (s: string) => string;
declare const Worker: new (url: string, options: { type: 'module' }) => unknown;

export interface DevicesReport {
  shaderF16: boolean | null;
  adapter: Record<string, string> | null;
  devices: DeviceStatus[];
  auto: DeviceChoice;
  webgpu: DeviceChoice;
}

export interface HalfReport {
  inputTypes: string[];
  /**
   * What onnxruntime-web hands back for a float16 output here (the float16 known-answer model on
   * wasm, run directly): core's TensorData promises raw halves in a Uint16Array.
   */
  wasmFloat16Output: string;
  auto: { device: string; fallbacks: DeviceFallback[]; ran?: { maxAbs: number; finite: boolean } } | { error: { code?: string; message: string } };
  webgpu: { device: string } | { error: { code?: string; message: string } };
}

export interface EditOptions {
  via: 'page' | 'worker';
  /** The pack's folder on the server, e.g. packs/byteedit-small. */
  pack: string;
  device: 'webgpu' | 'wasm' | 'auto';
  steps: number;
  seed: number;
  prompt: string;
}

export interface EditReport {
  width: number;
  height: number;
  /** The composed canvas, RGBA8, base64. */
  rgba: string;
  region: { x: number; y: number; width: number; height: number };
  seed: number;
  summary: { device: string; deviceChoice: DeviceChoice; steps: number; canvas: { width: number; height: number }; timings: Record<string, number> };
  startedFallbacks?: DeviceFallback[];
  ms: number;
  /** WebGPU: uncaptured device errors while the edit ran (page path only). */
  gpuErrors: string[];
}

const WASM_PATHS = () => `${location.origin}/ort/`; // the test's loopback server: never a CDN

function runtime(): WebOrtRuntime {
  return new WebOrtRuntime({ wasmPaths: WASM_PATHS() });
}

async function get(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

function errorOf(e: unknown): { code?: string; message: string } {
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : undefined, message: e instanceof Error ? e.message : String(e) };
}

async function devices(): Promise<DevicesReport> {
  const a = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
  const rt = runtime();
  const statuses = await rt.devices();
  return {
    shaderF16: a ? a.features.has('shader-f16') : null,
    adapter: a ? Object.fromEntries(['vendor', 'architecture'].map((k) => [k, String(a.info?.[k] ?? '')])) : null,
    devices: statuses,
    auto: await rt.choose('auto'),
    webgpu: await rt.choose('webgpu'),
  };
}

/** A float16 model opened with auto (and run once where it lands), then with webgpu explicitly. */
async function half(modelUrl: string): Promise<HalfReport> {
  const bytes = await get(modelUrl);
  const out: Partial<HalfReport> = {};
  const rt = runtime();
  try {
    const s = await rt.createSession({ bytes: bytes.slice(), name: modelUrl }, 'auto');
    out.inputTypes = s.inputs.map((i) => String(i.type));
    out.auto = { device: s.device, fallbacks: [...s.fallbacks] };
    await s.release();
  } catch (e) {
    out.auto = { error: errorOf(e) };
  }
  try {
    const s = await runtime().createSession({ bytes: bytes.slice(), name: modelUrl }, 'webgpu');
    out.webgpu = { device: s.device };
    await s.release();
  } catch (e) {
    out.webgpu = { error: errorOf(e) };
  }
  return { inputTypes: out.inputTypes ?? [], wasmFloat16Output: await float16OutputType(), auto: out.auto!, webgpu: out.webgpu! };
}

function b64bytes(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function float16OutputType(): Promise<string> {
  const session = await ort.InferenceSession.create(b64bytes(KNOWN_ANSWER_F16_MODEL_B64), { executionProviders: ['wasm'] });
  try {
    const x = new ort.Tensor('float16', new Uint16Array(b64bytes(KNOWN_ANSWER_F16_INPUT_B64).buffer), [...KNOWN_ANSWER_DIMS.input]);
    const y = (await session.run({ x })).y!;
    return `${y.type} ${y.data.constructor.name}`;
  } finally {
    await session.release();
  }
}

const gpuErrors: string[] = [];
const watched = new Set<GpuDevice>();
async function watchDevice(): Promise<GpuDevice | undefined> {
  const device = (await (ort.env.webgpu as { device?: Promise<unknown> | unknown }).device) as GpuDevice | undefined;
  if (device && !watched.has(device)) {
    watched.add(device);
    device.addEventListener('uncapturederror', (e) => gpuErrors.push(e.error.message.split('\n')[0]!));
  }
  return device;
}

function base64(bytes: Uint8Array | Uint8ClampedArray): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

interface DistCore {
  createBrowserWorkerEngine(makeWorker: () => unknown, config: { packUrl: string; wasmPaths: string; device: string }): EngineApi;
  runEdit(engine: EngineApi, request: EditRequest, onEvent?: (e: { type: string; fallbacks?: DeviceFallback[] }) => void): Promise<JobResult>;
}

/** The README example edit on the small pack, composed as the CLI writes it. */
async function edit(o: EditOptions): Promise<EditReport> {
  const image = decodeImage(await get(`${location.origin}/examples/before.png`), { name: 'before.png' });
  const mask = maskFromImage(decodeImage(await get(`${location.origin}/examples/mask.png`), { name: 'mask.png' }));
  // The worker client transfers the request's pixel buffers (documented): send copies, keep the source.
  const request: EditRequest = { image: { ...image, data: image.data.slice() }, mask: { ...mask, data: mask.data.slice() }, mode: 'edit', prompt: o.prompt, steps: o.steps, seed: o.seed, candidates: 1, previewEvery: 0 };
  const packUrl = `${location.origin}/${o.pack}`;
  let engine: EngineApi;
  let run: (e: EngineApi, r: EditRequest, on: (ev: { type: string; fallbacks?: DeviceFallback[] }) => void) => Promise<JobResult>;
  let device: GpuDevice | undefined;
  if (o.via === 'page') {
    const rt = runtime();
    // The known-answer check opens WebGPU: watch its device for validation errors from here on.
    if ((await rt.choose(o.device)).device === 'webgpu') device = await watchDevice();
    engine = new Engine({ runtime: rt, packs: async () => new UrlPackSource(packUrl), device: o.device });
    run = runEdit;
  } else {
    // core's browser build as shipped: the ESM entry and its self-contained worker.
    const url = `${location.origin}/core/index.js`;
    const dist = (await import(url)) as DistCore;
    engine = dist.createBrowserWorkerEngine(() => new Worker(`${location.origin}/core/worker.js`, { type: 'module' }), { packUrl, wasmPaths: WASM_PATHS(), device: o.device });
    run = dist.runEdit;
  }
  const from = gpuErrors.length;
  let startedFallbacks: DeviceFallback[] | undefined;
  const t0 = performance.now();
  try {
    const r = await run(engine, request, (ev) => {
      if (ev.type === 'started') startedFallbacks = ev.fallbacks;
    });
    const ms = performance.now() - t0;
    if (device) {
      await device.queue.onSubmittedWorkDone();
      await new Promise((ok) => setTimeout(ok, 50));
    }
    const c = r.candidates[0]!;
    const composed: RgbaImage = composeCandidate(image, r.summary, c);
    const s = r.summary;
    return {
      width: composed.width,
      height: composed.height,
      rgba: base64(composed.data),
      region: { x: c.region.x, y: c.region.y, width: c.region.width, height: c.region.height },
      seed: c.seed,
      summary: { device: s.device, deviceChoice: s.deviceChoice, steps: s.steps, canvas: { width: s.canvas.width, height: s.canvas.height }, timings: { ...s.timings } },
      startedFallbacks,
      ms,
      gpuErrors: gpuErrors.slice(from),
    };
  } finally {
    await engine.dispose();
  }
}

const g = globalThis as unknown as { byteeditRuntimeDevices: typeof devices; byteeditRuntimeHalf: typeof half; byteeditRuntimeEdit: typeof edit };
g.byteeditRuntimeDevices = devices;
g.byteeditRuntimeHalf = half;
g.byteeditRuntimeEdit = edit;
