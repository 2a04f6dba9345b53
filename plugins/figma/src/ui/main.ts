/**
 * The plug-in UI (inlined into dist/ui.html): form, bridge status, job progress, candidate grid,
 * apply/discard. Talks to the sandbox by postMessage ({pluginMessage}) and to an EngineApi
 * (Web Worker in this iframe, or the bridge): each job is followed through its handle's events,
 * which start at `queued`, so nothing needs buffering while the job is submitted.
 */
import { DEFAULT_SETTINGS, type Mode, type SandboxToUi, type Settings, type UiToSandbox } from '../shared/messages';
import { bridgeHealth, candidateSignals, cloneImage, engineLine, composeCandidate, decodeImage, encodePng, resizeImage, withBounds, type BridgeOptions, type Candidate, type EditRequest, type JobEvent, type JobHandle, type JobSummary, type RgbaImage } from './core';
import { openEngine, type EngineHandle } from './engines';
import { renderGrid, type CardData } from './grid';
import { recordChoice } from './preferences';

type SourceMsg = Extract<SandboxToUi, { type: 'source' }>;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const el = {
  status: $('bridge-status'),
  selection: $('selection'),
  prompt: $<HTMLTextAreaElement>('prompt'),
  mode: $<HTMLSelectElement>('mode'),
  candidates: $<HTMLInputElement>('candidates'),
  steps: $<HTMLInputElement>('steps'),
  generate: $<HTMLButtonElement>('generate'),
  cancel: $<HTMLButtonElement>('cancel'),
  progress: $<HTMLProgressElement>('progress'),
  preview: $<HTMLCanvasElement>('preview'),
  progressText: $('progress-text'),
  message: $('message'),
  grid: $('grid'),
  apply: $<HTMLButtonElement>('apply'),
  discard: $<HTMLButtonElement>('discard'),
  bridgeUrl: $<HTMLInputElement>('bridge-url'),
  token: $<HTMLInputElement>('token'),
  engine: $<HTMLSelectElement>('engine'),
  device: $<HTMLSelectElement>('device'),
  runtimePack: $<HTMLInputElement>('runtime-pack'),
  recordPreferences: $<HTMLInputElement>('record-preferences'),
  preferenceStatus: $('preference-status'),
  save: $<HTMLButtonElement>('save-settings'),
};

let settings: Settings = { ...DEFAULT_SETTINGS };
let engine: { key: string; handle: Promise<EngineHandle> } | null = null;
let nextRequest = 1;
const pendingSources = new Map<number, (msg: SourceMsg | Error) => void>();

interface Job {
  /** The engine's handle, once submitted. */
  handle: JobHandle | null;
  id: string | null;
  where: 'iframe' | 'bridge' | null;
  source: SourceMsg;
  image: RgbaImage;
  prompt: string;
  candidates: Candidate[];
  summary: JobSummary | null;
  selected: number | null;
  count: number;
  thumbs: Map<number, RgbaImage>;
}
let job: Job | null = null;

function send(msg: UiToSandbox): void {
  parent.postMessage({ pluginMessage: msg }, '*');
}

function say(text: string, kind: 'info' | 'error' = 'info'): void {
  el.message.textContent = text;
  el.message.dataset.kind = kind;
}

function readForm(): Settings {
  const int = (v: string, lo: number, hi: number, d: number) => Math.min(hi, Math.max(lo, Number.parseInt(v, 10) || d));
  return {
    bridgeUrl: el.bridgeUrl.value.trim() || DEFAULT_SETTINGS.bridgeUrl,
    token: el.token.value.trim(),
    engine: el.engine.value as Settings['engine'],
    device: el.device.value as Settings['device'],
    runtimePack: el.runtimePack.value.trim() || DEFAULT_SETTINGS.runtimePack,
    candidates: int(el.candidates.value, 1, 8, DEFAULT_SETTINGS.candidates),
    steps: int(el.steps.value, 1, 50, DEFAULT_SETTINGS.steps),
    mode: el.mode.value as Mode,
    prompt: el.prompt.value,
    recordPreferences: el.recordPreferences.checked,
  };
}

function writeForm(s: Settings): void {
  el.bridgeUrl.value = s.bridgeUrl;
  el.token.value = s.token;
  el.engine.value = s.engine;
  el.device.value = s.device;
  el.runtimePack.value = s.runtimePack;
  el.candidates.value = String(s.candidates);
  el.steps.value = String(s.steps);
  el.mode.value = s.mode;
  el.prompt.value = s.prompt;
  el.recordPreferences.checked = s.recordPreferences === true;
}

function bridge(): BridgeOptions {
  return { baseUrl: settings.bridgeUrl, token: settings.token };
}

async function checkBridge(): Promise<void> {
  try {
    const h = await bridgeHealth(bridge());
    el.status.dataset.state = 'ok';
    // Without the right token health names no packs: say what is missing instead.
    el.status.textContent = h.packs ? `bridge ${h.version} · ${h.packs.join(', ')}` : `bridge ${h.version} · token needed (from bridge.json)`;
  } catch {
    el.status.dataset.state = 'down';
    el.status.textContent = 'bridge not running';
  }
}

function engineKey(s: Settings): string {
  return JSON.stringify([s.bridgeUrl, s.token, s.engine, s.device, s.runtimePack]);
}

async function getEngine(): Promise<EngineHandle> {
  const key = engineKey(settings);
  if (!engine || engine.key !== key) {
    const old = engine;
    const handle = openEngine(settings);
    engine = { key, handle };
    handle.catch(() => {
      if (engine?.handle === handle) engine = null;
    });
    if (old) old.handle.then((h) => h.engine.dispose()).catch(() => undefined);
  }
  return engine.handle;
}

function requestSource(mode: Mode): Promise<SourceMsg> {
  const requestId = nextRequest++;
  return new Promise((resolve, reject) => {
    pendingSources.set(requestId, (m) => (m instanceof Error ? reject(m) : resolve(m)));
    send({ type: 'prepare', requestId, mode });
  });
}

function setBusy(busy: boolean): void {
  el.generate.disabled = busy;
  el.cancel.disabled = !busy;
}

/** Thumbnails are composed once per candidate and shrunk to this long side (sources go up to 4096 px). */
const THUMB_SIDE = 320;

function thumbnail(j: Job, c: Candidate): RgbaImage {
  let t = j.thumbs.get(c.index);
  if (!t) {
    const full = composeCandidate(j.image, j.summary ?? { canvas: canvasSize(j), sourceOffset: { x: j.source.expand?.left ?? 0, y: j.source.expand?.top ?? 0 } }, c);
    const k = Math.min(1, THUMB_SIDE / Math.max(full.width, full.height));
    t = k < 1 ? resizeImage(full, Math.max(1, Math.round(full.width * k)), Math.max(1, Math.round(full.height * k))) : full;
    j.thumbs.set(c.index, t);
  }
  return t;
}

function cards(j: Job): CardData[] {
  const signals = j.summary ? candidateSignals(j.summary) : [];
  return j.candidates.map((c) => ({ index: c.index, seed: c.seed, scores: c.scores ?? {}, image: thumbnail(j, c), signal: signals.find((s) => s.index === c.index) }));
}

function canvasSize(j: Job): { width: number; height: number } {
  const e = j.source.expand;
  return e ? { width: j.image.width + e.left + e.right, height: j.image.height + e.top + e.bottom } : { width: j.image.width, height: j.image.height };
}

function redraw(): void {
  if (!job) {
    el.grid.replaceChildren();
    el.apply.disabled = el.discard.disabled = true;
    return;
  }
  const order = job.summary ? job.summary.ranking : job.candidates.map((c) => c.index);
  renderGrid(el.grid, cards(job), order, job.selected, (i) => {
    job!.selected = i;
    redraw();
  });
  el.apply.disabled = job.selected === null || !job.summary;
  el.discard.disabled = false;
}

/** Follows one job's events until it ends or the user discards it (a newer job replaces it). */
async function follow(j: Job, handle: JobHandle): Promise<void> {
  for await (const e of handle.events) {
    if (job !== j) return;
    onEvent(e);
  }
}

function onEvent(e: JobEvent): void {
  try {
    handleEvent(e);
  } catch (err) {
    setBusy(false);
    say(`could not show the result: ${err instanceof Error ? err.message : String(err)}`, 'error');
  }
}

function handleEvent(e: JobEvent): void {
  if (!job || e.jobId !== job.id) return;
  switch (e.type) {
    case 'queued':
      el.progressText.textContent = e.position > 0 ? `queued (${e.position} ahead)` : 'starting…';
      break;
    case 'started':
      el.progressText.textContent = `loading models on ${e.device}…`;
      break;
    case 'progress':
      el.progress.value = e.of > 0 ? e.done / e.of : 0;
      el.progressText.textContent = `step ${e.step}/${e.total} · candidate ${e.candidate + 1}/${job.count}`;
      break;
    case 'candidate':
      job.candidates.push(e.candidate);
      redraw();
      break;
    case 'finished':
      el.preview.hidden = true;
      job.summary = e.summary;
      job.selected = e.summary.ranking[0] ?? null;
      el.progress.value = 1;
      el.progressText.textContent = `done on ${e.summary.device} in ${(e.summary.timings.totalMs / 1000).toFixed(1)} s · ${e.summary.engine === 'inpaint' ? 'one pass' : `${e.summary.steps} steps`} · ${engineLine(e.summary)}`;
      setBusy(false);
      say('Pick a candidate and press Apply.');
      redraw();
      break;
    case 'error':
      el.preview.hidden = true;
      setBusy(false);
      say(e.error.message, 'error');
      break;
    case 'cancelled':
      el.preview.hidden = true;
      setBusy(false);
      el.progressText.textContent = 'cancelled';
      break;
    case 'preview': {
      // The denoising state of the context crop, approximated from the latents (small and cheap).
      const c = el.preview;
      c.width = e.image.width;
      c.height = e.image.height;
      c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(e.image.data), e.image.width, e.image.height), 0, 0);
      c.dataset.previews = String(Number(c.dataset.previews) + 1);
      c.hidden = false;
      break;
    }
  }
}

async function generate(): Promise<void> {
  settings = readForm();
  send({ type: 'save-settings', settings });
  setBusy(true);
  say('');
  el.progress.value = 0;
  el.progressText.textContent = 'reading the selection…';
  try {
    const source = await requestSource(settings.mode);
    const image = decodeImage(source.image);
    const request: EditRequest = {
      // A copy: the worker engine transfers (detaches) the request's buffers; the UI composes results on `image`.
      image: cloneImage(image),
      mask: source.mask ? withBounds(source.mask.width, source.mask.height, source.mask.data) : undefined,
      mode: source.mode,
      prompt: settings.prompt,
      expand: source.expand ?? undefined,
      candidates: settings.candidates,
      steps: settings.steps,
      seed: Math.floor(Math.random() * 2 ** 31),
      previewEvery: 1,
    };
    const j: Job = { handle: null, id: null, where: null, source, image, prompt: settings.prompt, candidates: [], summary: null, selected: null, count: settings.candidates, thumbs: new Map() };
    job = j;
    redraw();
    el.progressText.textContent = 'starting the engine…';
    el.preview.dataset.previews = '0';
    const h = await getEngine();
    if (h.note) say(h.note);
    const handle = await h.engine.submit(request);
    j.handle = handle;
    j.id = handle.id;
    j.where = h.where;
    await follow(j, handle);
  } catch (err) {
    setBusy(false);
    el.progressText.textContent = '';
    say(err instanceof Error ? err.message : String(err), 'error');
  }
}

async function cancel(): Promise<void> {
  await job?.handle?.cancel();
}

function apply(): void {
  if (!job?.summary || job.selected === null) return;
  const c = job.candidates.find((x) => x.index === job!.selected);
  if (!c) return;
  const image = composeCandidate(job.image, job.summary, c);
  const png = encodePng(image);
  send({ type: 'apply', png, width: image.width, height: image.height, placement: job.source.placement, candidate: { mode: job.source.mode, prompt: job.prompt, rank: job.summary.ranking.indexOf(c.index) + 1 || 1, seed: c.seed } });
  el.preferenceStatus.textContent = '';
  if (el.recordPreferences.checked && job.id && job.where) {
    const applied = { id: job.id, where: job.where, image: job.image, mode: job.source.mode, prompt: job.prompt, summary: job.summary, candidates: job.candidates };
    el.preferenceStatus.textContent = 'Keeping your choice…';
    void recordChoice(bridge(), applied, c.index).then((line) => (el.preferenceStatus.textContent = line));
  }
}

window.addEventListener('message', (ev: MessageEvent<{ pluginMessage?: SandboxToUi }>) => {
  const msg = ev.data?.pluginMessage;
  if (!msg) return;
  switch (msg.type) {
    case 'settings':
      settings = { ...DEFAULT_SETTINGS, ...msg.settings };
      writeForm(settings);
      void checkBridge();
      break;
    case 'selection':
      el.selection.dataset.ok = String(msg.state.ok);
      el.selection.textContent = msg.state.ok ? `${msg.state.description} · ${msg.state.pixels.width}×${msg.state.pixels.height} px` : msg.state.message;
      if (msg.state.ok) {
        if (msg.state.kind === 'outpaint') el.mode.value = 'outpaint';
        else if (el.mode.value === 'outpaint') el.mode.value = 'edit';
      }
      break;
    case 'source':
      pendingSources.get(msg.requestId)?.(msg);
      pendingSources.delete(msg.requestId);
      break;
    case 'refusal':
      pendingSources.get(msg.requestId)?.(new Error(msg.message));
      pendingSources.delete(msg.requestId);
      break;
    case 'applied':
      say(`Added "${msg.name}". Ctrl+Z (⌘Z) removes it.`);
      break;
    case 'apply-failed':
      say(msg.message, 'error');
      break;
  }
});

el.generate.addEventListener('click', () => void generate());
el.cancel.addEventListener('click', () => void cancel().catch((err: unknown) => say(String(err), 'error')));
el.apply.addEventListener('click', apply);
el.discard.addEventListener('click', () => {
  job = null;
  el.progress.value = 0;
  el.progressText.textContent = '';
  redraw();
});
el.recordPreferences.addEventListener('change', () => {
  settings = { ...settings, recordPreferences: el.recordPreferences.checked };
  send({ type: 'save-settings', settings });
});
el.save.addEventListener('click', () => {
  settings = readForm();
  send({ type: 'save-settings', settings });
  void checkBridge();
});

send({ type: 'ready' });
