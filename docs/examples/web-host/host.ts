/**
 * A minimal byteedit host: a web page with a canvas (docs/hosts.md walks through it). What every
 * host does, in order: selection → request; submit to an engine; follow the job's events
 * (progress, candidates); put each candidate back as a new layer; never touch the original.
 * The engine runs in a Web Worker (onnxruntime-web, WebGPU or WASM); swapping in
 * `new HttpEngineClient({baseUrl, token})` from '@byteedit/core/http' runs it on the local bridge
 * instead, and nothing else here changes.
 */
import { composeCandidate, createBrowserWorkerEngine, createImage, createMask, maskBounds, candidateLayerName, type Candidate, type EditMode, type EngineApi, type JobHandle, type RgbaImage } from '@byteedit/core/browser';

/** Where the page finds the engine's files (overridable for tests and other deployments). */
const config = Object.assign({ worker: '/core/worker.js', packUrl: '/packs/byteedit-small/', wasmPaths: '/ort/', device: 'auto' as const, image: '/examples/before.png' }, (globalThis as { byteeditHostConfig?: object }).byteeditHostConfig);

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const source = $<HTMLCanvasElement>('source');
const stack = $<HTMLDivElement>('stack');
const status = (text: string): void => void ($('status').textContent = text);

const engine: EngineApi = createBrowserWorkerEngine(() => new Worker(config.worker, { type: 'module' }), { packUrl: config.packUrl, wasmPaths: config.wasmPaths, device: config.device });
let selection: { x: number; y: number; width: number; height: number } | null = null;
let running: JobHandle | null = null;

/** The original pixels, read once: requests are built from this copy, never from what is on screen. */
let original: RgbaImage;

async function load(url: string): Promise<void> {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  source.width = bitmap.width;
  source.height = bitmap.height;
  const ctx = source.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const pixels = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  original = createImage(pixels.width, pixels.height, new Uint8ClampedArray(pixels.data));
}

/** Step 1, selection → request: a hard rectangular mask (255 inside) of the image's size. */
function request(mode: EditMode, prompt: string, candidates: number) {
  if (!selection) throw new Error('select an area first: drag over the picture');
  const { width, height } = original;
  const data = new Uint8Array(width * height);
  for (let y = selection.y; y < selection.y + selection.height; y++) data.fill(255, y * width + selection.x, y * width + selection.x + selection.width);
  const mask = createMask(width, height, data);
  if (!maskBounds(width, height, data)) throw new Error('the selection is empty');
  // The engine takes ownership of the buffers it is given (they move to its worker): send copies.
  return { image: createImage(width, height, new Uint8ClampedArray(original.data)), mask, mode, prompt, candidates, seed: 7 };
}

/** Step 3, candidate → new layer: a canvas stacked over the original, named for the layers list. */
function addLayer(pixels: RgbaImage, name: string): HTMLCanvasElement {
  const layer = document.createElement('canvas');
  layer.width = pixels.width;
  layer.height = pixels.height;
  layer.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(pixels.data), pixels.width, pixels.height), 0, 0);
  layer.title = name;
  stack.appendChild(layer);
  const item = document.createElement('li');
  item.textContent = name;
  item.onclick = () => void (layer.hidden = !layer.hidden);
  $('layers').prepend(item); // the list reads like a layers panel: top layer first
  return layer;
}

/** Step 2, submit and follow: progress while it runs, one layer per candidate, best on top. */
async function generate(mode: EditMode, prompt: string, candidates: number): Promise<{ layers: string[]; ranking: number[] }> {
  const job = await engine.submit(request(mode, prompt, candidates));
  running = job;
  $<HTMLButtonElement>('cancel').disabled = false;
  const layers: string[] = [];
  try {
    for await (const e of job.events) {
      if (e.type === 'queued') status('queued');
      if (e.type === 'started') status(`running on ${e.device}`);
      if (e.type === 'progress') $<HTMLProgressElement>('progress').value = e.done / e.of;
      if (e.type === 'error') status(`failed: ${e.error.message}`);
      if (e.type === 'cancelled') status('cancelled: nothing was added');
    }
    const summary = await job.done;
    const result = await resultCandidates(job);
    // Ranking order, best first; the best is added last so that it is on top.
    for (const c of [...result].reverse()) {
      const name = candidateLayerName({ prompt, mode, index: summary.ranking.indexOf(c.index) + 1, seed: c.seed });
      addLayer(composeCandidate(original, summary, c), name);
      layers.unshift(name);
    }
    status(`${layers.length} candidate layer(s) added`);
    return { layers, ranking: summary.ranking };
  } finally {
    running = null;
    $<HTMLButtonElement>('cancel').disabled = true;
  }
}

/** The candidates of a finished job, in ranking order (events replay from the start). */
async function resultCandidates(job: JobHandle) {
  const byIndex = new Map<number, Candidate>();
  for await (const e of job.events) if (e.type === 'candidate') byIndex.set(e.candidate.index, e.candidate);
  return (await job.done).ranking.map((i) => byIndex.get(i)!).filter(Boolean);
}

// Dragging selects; the buttons run and cancel.
let start: { x: number; y: number } | null = null;
source.onpointerdown = (e) => void (start = { x: e.offsetX, y: e.offsetY });
source.onpointerup = (e) => {
  if (!start) return;
  const x = Math.max(0, Math.min(start.x, e.offsetX));
  const y = Math.max(0, Math.min(start.y, e.offsetY));
  select({ x, y, width: Math.min(source.width, Math.max(start.x, e.offsetX)) - x, height: Math.min(source.height, Math.max(start.y, e.offsetY)) - y });
  start = null;
};
function select(r: { x: number; y: number; width: number; height: number }): void {
  selection = r.width > 0 && r.height > 0 ? r : null;
  Object.assign($('selection').style, { display: selection ? 'block' : 'none', left: `${r.x}px`, top: `${r.y}px`, width: `${r.width}px`, height: `${r.height}px` });
}
$('generate').onclick = () => void generate($<HTMLSelectElement>('mode').value as EditMode, $<HTMLInputElement>('prompt').value, Number($<HTMLInputElement>('candidates').value)).catch((err: Error) => status(err.message));
$('cancel').onclick = () => void running?.cancel();

/** For scripted use (the headless test drives the page through these). */
Object.assign(globalThis, { byteeditHost: { ready: load(config.image), select, generate, original: () => original } });
