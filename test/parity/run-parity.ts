/**
 * Backend parity: one real edit on the CPU EP (the reference) with every session.run recorded,
 * then on each other backend (a) the recorded inputs of every model replayed and the outputs
 * compared with the CPU's (per component), and (b) the same request and seed run end to end and
 * the images compared. Writes one JSON report; test/parity/parity.test.ts asserts the bounds.
 *
 *   node run-parity.js --pack DIR --image IN --mask MASK --prompt P --seed S --steps N \
 *     --backends webgpu,wasm --out report.json
 *
 * webgpu is onnxruntime-node's WebGPU EP (run this under test/webgpu/node-lavapipe on a machine
 * without a GPU); wasm is onnxruntime-web's WASM backend in Node. `--trace DIR` also writes the
 * recorded calls (trace.json + trace.bin: up to --calls per model) for replay elsewhere, e.g. in
 * headless Chromium (test/parity/chromium).
 */
// First of all: onnxruntime-node must register its backends before onnxruntime-web is loaded. In the
// other order (onnxruntime-web 1.30 evaluated first: ort-web.ts imports it at module load, while
// ort-node.ts loads onnxruntime-node only when the first NodeOrtRuntime is made),
// onnxruntime-node's InferenceSession opens 'cpu' sessions on onnxruntime-web's WASM backend:
// the "CPU EP" reference silently ran on WASM, and a model with external data failed to load
// ("Module.MountedFiles is not available"). nativeCpuCheck() below makes that a loud error.
import * as ortNode from 'onnxruntime-node';
import { promises as fs } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { composeCandidate, decodeImage, Engine, halfToFloat32Array, maskFromImage, runEdit, type DeviceName, type EditRequest, type ModelSession, type ModelSource, type PackSource, type RgbaImage, type Runtime, type TensorData } from '../../core/src/node';
import { NodeOrtRuntime } from '../../core/src/runtime/ort-node';
import { WebOrtRuntime } from '../../core/src/runtime/ort-web';
import { folderPackSource } from '../../core/src/runtime/node-pack-source';

interface Call {
  feeds: Record<string, TensorData>;
  outputs: Record<string, TensorData>;
}

/** Wraps a runtime so that every run's inputs and outputs are kept, per model file. */
class RecordingRuntime implements Runtime {
  readonly kind: Runtime['kind'];
  readonly calls = new Map<string, { source: ModelSource; calls: Call[] }>();

  constructor(private readonly inner: Runtime) {
    this.kind = inner.kind;
  }

  devices = (): ReturnType<Runtime['devices']> => this.inner.devices();
  choose = (d: DeviceName): ReturnType<Runtime['choose']> => this.inner.choose(d);

  async createSession(source: ModelSource, device: DeviceName): Promise<ModelSession> {
    const session = await this.inner.createSession(source, device);
    const key = 'path' in source ? source.path : source.name;
    const entry = this.calls.get(key) ?? { source, calls: [] };
    this.calls.set(key, entry);
    return {
      inputs: session.inputs,
      outputs: session.outputs,
      device: session.device,
      fallbacks: session.fallbacks,
      release: () => session.release(),
      async run(feeds) {
        const outputs = await session.run(feeds);
        entry.calls.push({ feeds, outputs });
        return outputs;
      },
    };
  }
}

/** A folder whose models are handed over as bytes (what the browser runtime takes). */
function asBytes(source: PackSource): PackSource {
  return {
    location: source.location,
    readBytes: (p) => source.readBytes(p),
    exists: (p) => source.exists(p),
    async modelSource(p) {
      const bytes = await source.readBytes(p);
      if (!bytes) throw new Error(`${p} missing`);
      return { bytes, name: `${source.location}/${p}` };
    },
  };
}

function floats(t: TensorData): Float64Array {
  const d = t.type === 'float16' ? halfToFloat32Array(t.data as Uint16Array) : t.data;
  return Float64Array.from(d as ArrayLike<number | bigint>, Number);
}

/** max |a - b| / max |ref|: the error relative to the tensor's scale. */
function relError(ref: TensorData, got: TensorData): { rel: number; abs: number; finite: boolean } {
  const a = floats(ref);
  const b = floats(got);
  if (a.length !== b.length) return { rel: Infinity, abs: Infinity, finite: false };
  let abs = 0;
  let scale = 1e-6;
  let finite = true;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(b[i]!)) finite = false;
    abs = Math.max(abs, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return { rel: finite ? abs / scale : Infinity, abs, finite };
}

function imageDiff(a: RgbaImage, b: RgbaImage, region: { x: number; y: number; width: number; height: number }): { max: number; mean: number; meanAll: number } {
  if (a.width !== b.width || a.height !== b.height) return { max: 255, mean: 255, meanAll: 255 };
  let max = 0;
  let sum = 0;
  let n = 0;
  let sumAll = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const inside = x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height;
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(a.data[(y * a.width + x) * 4 + c]! - b.data[(y * a.width + x) * 4 + c]!);
        max = Math.max(max, d);
        sumAll += d;
        if (inside) {
          sum += d;
          n++;
        }
      }
    }
  }
  return { max, mean: sum / Math.max(1, n), meanAll: sumAll / (a.width * a.height * 3) };
}

/** The first, middle and last call (at most `limit`): where drift or a bad step would show. */
function pick(n: number, limit: number): number[] {
  return [...new Set([0, Math.floor(n / 2), n - 1])].slice(0, limit).filter((i) => i >= 0 && i < n);
}

interface TraceTensor {
  type: TensorData['type'];
  dims: number[];
  offset: number;
  length: number;
}

/** trace.json (per call: model path relative to the pack, tensors as byte ranges) + trace.bin. */
async function writeTrace(dir: string, packDir: string, recorder: RecordingRuntime, limit: number): Promise<void> {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const put = (t: TensorData): TraceTensor => {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
    const pad = (8 - (offset % 8)) % 8; // typed-array views need aligned offsets
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(bytes);
    const entry = { type: t.type, dims: [...t.dims], offset, length: bytes.byteLength };
    offset += bytes.byteLength;
    return entry;
  };
  const calls = [];
  for (const [key, entry] of recorder.calls) {
    for (const i of pick(entry.calls.length, limit)) {
      const c = entry.calls[i]!;
      const tensors = (m: Record<string, TensorData>) => Object.fromEntries(Object.entries(m).map(([k, t]) => [k, put(t)]));
      calls.push({ model: relative(packDir, key), call: i, feeds: tensors(c.feeds), outputs: tensors(c.outputs) });
    }
  }
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(`${dir}/trace.bin`, Buffer.concat(chunks));
  await fs.writeFile(`${dir}/trace.json`, `${JSON.stringify({ pack: basename(packDir), calls }, null, 1)}\n`);
}

/** The reference must be onnxruntime-node's own CPU EP (its session handler), never another backend. */
async function nativeCpuCheck(packDir: string): Promise<void> {
  const session = await ortNode.InferenceSession.create(`${packDir}/vae_decoder/model.onnx`, { executionProviders: ['cpu'] });
  // `handler` is not public API: read here only to name the backend that answered.
  const handler = (session as unknown as { handler?: { constructor?: { name?: string } } }).handler?.constructor?.name;
  await session.release();
  if (handler !== 'OnnxruntimeSessionHandler') throw new Error(`the CPU reference does not run on onnxruntime-node's CPU EP (session handler ${handler ?? 'unknown'}): load onnxruntime-node before onnxruntime-web`);
}

async function readImage(path: string): Promise<RgbaImage> {
  return decodeImage(new Uint8Array(await fs.readFile(path)), { name: path });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pack: { type: 'string' },
      image: { type: 'string' },
      mask: { type: 'string' },
      prompt: { type: 'string', default: '' },
      mode: { type: 'string', default: 'edit' },
      seed: { type: 'string', default: '7' },
      steps: { type: 'string', default: '8' },
      candidates: { type: 'string', default: '1' },
      backends: { type: 'string', default: 'webgpu,wasm' },
      calls: { type: 'string', default: '3' },
      out: { type: 'string' },
      trace: { type: 'string' },
    },
  });
  if (!values.pack || !values.image || !values.out) throw new Error('usage: run-parity --pack DIR --image IN [--mask M] --out report.json');
  const image = await readImage(values.image);
  const request: EditRequest = {
    image,
    mask: values.mask ? maskFromImage(await readImage(values.mask)) : undefined,
    mode: values.mode as EditRequest['mode'],
    prompt: values.prompt,
    seed: Number(values.seed),
    steps: Number(values.steps),
    candidates: Number(values.candidates),
    previewEvery: 0,
  };
  const packDir = values.pack;
  const source = await folderPackSource(packDir);
  const edit = async (runtime: Runtime, device: DeviceName, packs: PackSource) => {
    const engine = new Engine({ runtime, packs: async () => packs, device });
    const t0 = Date.now();
    try {
      const r = await runEdit(engine, request);
      return { ...r, ms: Date.now() - t0, images: r.candidates.map((c) => composeCandidate(image, r.summary, c)) };
    } finally {
      await engine.dispose();
    }
  };

  await nativeCpuCheck(packDir);
  const recorder = new RecordingRuntime(new NodeOrtRuntime());
  const ref = await edit(recorder, 'cpu', source);
  const report: Record<string, unknown> = { pack: basename(packDir), request: { ...request, image: `${image.width}x${image.height}`, mask: values.mask ? basename(values.mask) : null }, cpu: { ms: ref.ms, ranking: ref.candidates.map((c) => c.seed) }, backends: {} };
  const limit = Number(values.calls);
  if (values.trace) await writeTrace(values.trace, packDir, recorder, limit);

  for (const backend of values.backends!.split(',').filter(Boolean)) {
    const runtime: Runtime = backend === 'wasm' ? new WebOrtRuntime() : new NodeOrtRuntime();
    const packs = backend === 'wasm' ? asBytes(source) : source;
    const components: unknown[] = [];
    for (const [key, entry] of recorder.calls) {
      const rel = relative(packDir, key);
      const modelSource = 'path' in entry.source && backend === 'wasm' ? await packs.modelSource(rel) : entry.source;
      const session = await runtime.createSession(modelSource, backend as DeviceName);
      const picks = pick(entry.calls.length, limit);
      let worst = { rel: 0, abs: 0, finite: true };
      const t0 = Date.now();
      for (const i of picks) {
        const call = entry.calls[i]!;
        const got = await session.run(call.feeds);
        for (const [name, t] of Object.entries(call.outputs)) {
          const e = got[name] ? relError(t, got[name]!) : { rel: Infinity, abs: Infinity, finite: false };
          if (!(e.rel <= worst.rel)) worst = e;
        }
      }
      components.push({ component: rel.split('/')[0] === 'rewards' ? rel : dirname(rel), device: session.device, calls: picks.length, recorded: entry.calls.length, dtype: Object.values(entry.calls[0]?.outputs ?? {})[0]?.type ?? 'none', msPerCall: (Date.now() - t0) / Math.max(1, picks.length), ...worst });
      await session.release();
    }
    const got = await edit(runtime, backend as DeviceName, packs);
    const diffs = got.images.map((img, i) => imageDiff(ref.images[i]!, img, ref.candidates[i]!.region));
    (report.backends as Record<string, unknown>)[backend] = {
      device: got.summary.device,
      ms: got.ms,
      components,
      endToEnd: { max: Math.max(...diffs.map((d) => d.max)), mean: Math.max(...diffs.map((d) => d.mean)), meanAll: Math.max(...diffs.map((d) => d.meanAll)), ranking: got.candidates.map((c) => c.seed) },
    };
  }
  await fs.writeFile(values.out, `${JSON.stringify(report, null, 1)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`run-parity: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
