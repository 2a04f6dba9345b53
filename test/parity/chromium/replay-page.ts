/**
 * The page script (bundled with esbuild for the browser, onnxruntime-web's default build: WASM +
 * the JSEP WebGPU backend, the one the Figma iframe runs). It fetches a pack's model files and a
 * recorded trace (test/parity/run-parity.ts --trace: trace.json + trace.bin) from the loopback
 * server, opens every recorded model on one backend, replays every recorded call and compares each
 * output with the CPU EP's recorded output: max |a - b| / max |ref|, float16 read as float.
 *
 * Exposed on globalThis for the test (playwright's page.evaluate): byteeditAdapter() and
 * byteeditReplay(options).
 */
import * as ort from 'onnxruntime-web';
import { halfToFloat32Array } from '../../../core/src/util/float16';
import type { AdapterReport, ModelReport, OutputReport, ReplayOptions, ReplayReport } from './types';

interface TraceTensor {
  type: string;
  dims: number[];
  offset: number;
  length: number;
}
interface TraceCall {
  model: string;
  call: number;
  feeds: Record<string, TraceTensor>;
  outputs: Record<string, TraceTensor>;
}
interface Trace {
  pack: string;
  calls: TraceCall[];
}

/** The little of WebGPU's API used here (the test's tsconfig has no DOM lib). */
interface GpuAdapter {
  readonly features: { has(name: string): boolean; forEach(f: (name: string) => void): void };
  readonly info?: Record<string, string>;
  readonly isFallbackAdapter?: boolean;
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null>;
}
interface GpuDevice {
  addEventListener(type: 'uncapturederror', f: (e: { error: { message: string } }) => void): void;
  readonly queue: { onSubmittedWorkDone(): Promise<void> };
}
declare const navigator: { gpu?: Gpu; userAgent: string };
declare const location: { origin: string };

async function adapter(): Promise<AdapterReport> {
  const gpu = navigator.gpu;
  if (!gpu) return { ok: false, reason: 'navigator.gpu is undefined (WebGPU is not exposed to this page)', userAgent: navigator.userAgent };
  let a: GpuAdapter | null;
  try {
    a = await gpu.requestAdapter();
  } catch (e) {
    return { ok: false, reason: `navigator.gpu.requestAdapter() threw: ${String(e)}`, userAgent: navigator.userAgent };
  }
  if (!a) return { ok: false, reason: 'navigator.gpu.requestAdapter() returned null (no adapter)', userAgent: navigator.userAgent };
  const info: Record<string, string> = {};
  for (const k of ['vendor', 'architecture', 'device', 'description']) info[k] = String(a.info?.[k] ?? '');
  const features: string[] = [];
  a.features.forEach((f) => features.push(f));
  return { ok: true, info, features: features.sort(), shaderF16: a.features.has('shader-f16'), isFallbackAdapter: a.isFallbackAdapter ?? null, userAgent: navigator.userAgent };
}

async function get(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${r.statusText}`);
  return r.arrayBuffer();
}

function view(bin: ArrayBuffer, t: TraceTensor): ort.Tensor['data'] {
  const n = (bytes: number) => t.length / bytes;
  switch (t.type) {
    case 'float32':
      return new Float32Array(bin, t.offset, n(4));
    case 'float16':
      return new Uint16Array(bin, t.offset, n(2));
    case 'int64':
      return new BigInt64Array(bin, t.offset, n(8));
    case 'int32':
      return new Int32Array(bin, t.offset, n(4));
    case 'uint8':
    case 'bool':
      return new Uint8Array(bin, t.offset, n(1));
    default:
      throw new Error(`trace tensor type ${t.type} is not handled`);
  }
}

/** A tensor's values as float64: float16 from raw halves (Uint16Array) or from a Float16Array. */
function numbers(type: string, data: ort.Tensor['data']): Float64Array {
  if (type === 'float16' && data instanceof Uint16Array) return Float64Array.from(halfToFloat32Array(data));
  return Float64Array.from(data as ArrayLike<number | bigint>, Number);
}

function compare(name: string, type: string, ref: Float64Array, got: ort.Tensor | undefined, dims: number[]): OutputReport {
  if (!got) return { name, dtype: type, rel: Infinity, abs: Infinity, finite: false, problem: 'output missing' };
  if (got.type !== type) return { name, dtype: type, rel: Infinity, abs: Infinity, finite: false, problem: `dtype ${got.type}, recorded ${type}` };
  if (got.dims.join(',') !== dims.join(',')) return { name, dtype: type, rel: Infinity, abs: Infinity, finite: false, problem: `dims [${got.dims.join(',')}], recorded [${dims.join(',')}]` };
  const b = numbers(type, got.data);
  let abs = 0;
  let scale = 1e-6;
  let finite = true;
  let gotMax = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(b[i]!)) finite = false;
    abs = Math.max(abs, Math.abs(ref[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
    gotMax = Math.max(gotMax, Math.abs(b[i]!));
  }
  return { name, dtype: type, rel: finite ? abs / scale : Infinity, abs, finite, refMax: scale, gotMax };
}

/** WebGPU errors nobody caught (validation errors: a shader or pipeline refused), from now on. */
const gpuErrors: string[] = [];
const watched = new Set<GpuDevice>();
async function watchDevice(): Promise<GpuDevice> {
  const device = (await ort.env.webgpu.device) as unknown as GpuDevice;
  if (!watched.has(device)) {
    watched.add(device);
    device.addEventListener('uncapturederror', (e) => gpuErrors.push(e.error.message.split('\n')[0]!));
  }
  return device;
}

async function replay(options: ReplayOptions): Promise<ReplayReport> {
  ort.env.wasm.wasmPaths = `${location.origin}/ort/`; // served by the test's loopback server: never a CDN
  ort.env.wasm.numThreads = 1; // like the Figma iframe (not cross-origin isolated)
  ort.env.wasm.proxy = false;
  const base = `${location.origin}/${options.pack}`;
  const trace = JSON.parse(new TextDecoder().decode(await get(`${base}/trace/trace.json`))) as Trace;
  const bin = await get(`${base}/trace/trace.bin`);
  const byModel = new Map<string, TraceCall[]>();
  for (const c of trace.calls) byModel.set(c.model, [...(byModel.get(c.model) ?? []), c]);

  const models: ModelReport[] = [];
  for (const [model, calls] of byModel) {
    if (options.models && !options.models.includes(model)) continue;
    const report: ModelReport = { model, backend: options.backend, calls: calls.map((c) => c.call), outputs: [], finite: true, createMs: 0, msPerCall: 0 };
    models.push(report);
    let session: ort.InferenceSession | undefined;
    try {
      const bytes = new Uint8Array(await get(`${base}/${options.variant === 'conv-defaults' ? 'pack-conv-defaults' : 'pack'}/${model}`));
      const t0 = performance.now();
      session = await ort.InferenceSession.create(bytes, { executionProviders: [options.backend] });
      report.createMs = performance.now() - t0;
      const device = options.backend === 'webgpu' ? await watchDevice() : undefined;
      const errorsFrom = gpuErrors.length;
      const t1 = performance.now();
      for (let k = 0; k < calls.length; k++) {
        const call = calls[k]!;
        const feeds: Record<string, ort.Tensor> = {};
        for (const [name, t] of Object.entries(call.feeds)) feeds[name] = new ort.Tensor(t.type as ort.Tensor.Type, view(bin, t) as Float32Array, t.dims);
        const got = await session.run(feeds);
        // The negative control: compare with another recorded call's outputs (must not match).
        const refCall = options.wrongCall ? calls[(k + 1) % calls.length]! : call;
        for (const [name, t] of Object.entries(refCall.outputs)) {
          report.outputs.push({ call: call.call, ...compare(name, t.type, numbers(t.type, view(bin, t)), got[name], t.dims) });
        }
        for (const t of Object.values(got)) t.dispose();
      }
      report.msPerCall = (performance.now() - t1) / calls.length;
      if (device) {
        // Uncaptured errors arrive as events after the work: let them all in before counting.
        await device.queue.onSubmittedWorkDone();
        await new Promise((ok) => setTimeout(ok, 50));
        report.gpuErrors = gpuErrors.slice(errorsFrom);
      }
    } catch (e) {
      report.error = e instanceof Error ? e.message : String(e);
    } finally {
      await session?.release();
    }
    report.finite = !report.error && report.outputs.every((o) => o.finite);
  }
  // The adapter onnxruntime-web itself took (it requests its own).
  const used = options.backend === 'webgpu' ? (ort.env.webgpu as { adapter?: GpuAdapter }).adapter : undefined;
  const ortAdapter = used ? Object.fromEntries(['vendor', 'architecture'].map((k) => [k, String(used.info?.[k] ?? '')])) : undefined;
  return { pack: trace.pack, backend: options.backend, ortVersion: ort.env.versions.web ?? '', ortAdapter, models };
}

const g = globalThis as unknown as { byteeditAdapter: typeof adapter; byteeditReplay: typeof replay };
g.byteeditAdapter = adapter;
g.byteeditReplay = replay;
