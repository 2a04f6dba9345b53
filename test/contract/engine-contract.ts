/**
 * The engine contract: what every EngineApi implementation promises a host (in-process, Node
 * worker thread, browser Web Worker, the HTTP client of the bridge, and the fakes tests use).
 * `describeEngineContract(name, makeEngine, options)` runs every case of CONTRACT_CASES against one
 * implementation; the cases compare against truth (the source's pixels, the seeds asked for, the
 * in-process engine's pixels), not just shapes. Tiny jobs: 64x48, 2 steps, 2 candidates.
 */
import { SdkError as PackageSdkError } from '@byteedit/core';
import { SdkError, type ErrorCode } from '../../core/src/protocol/errors';
import { isTerminalEvent, type Candidate, type EditRequest, type EngineApi, type JobEvent, type JobHandle, type JobSummary } from '../../core/src/protocol/events';
import { createImage, createMask, type Mask, type RgbaImage } from '../../core/src/image/image';

/** The pixels the in-process engine makes for a request, by candidate index (the reference). */
export type ReferencePixels = (request: EditRequest) => Promise<Map<number, Candidate>>;

export interface EngineContractOptions {
  /**
   * The implementation computes real pixels: compare them with these (the in-process engine's).
   * Absent for fakes, whose pixels are their own.
   */
  reference?: ReferencePixels;
  /** Largest per-channel difference allowed against the reference (default 0: byte for byte). */
  pixelTolerance?: number;
  /** What makes a job fail once queued (e.g. a pack that does not exist), and the code it fails with. */
  failingJob: { request: Partial<EditRequest>; code: ErrorCode };
  /**
   * Requests this implementation's host refuses in submit although the request itself is valid
   * (a pack the bridge does not serve), with the code: the host's refusal must arrive as SdkError.
   */
  refusedAtSubmit?: { what: string; request: Partial<EditRequest>; code: ErrorCode };
  /** Parameters that make a job last long enough to cancel it while running (default 150 steps, 3 candidates). */
  longJob?: Partial<EditRequest>;
  /** How long to wait for a job's events before failing with what arrived (default 60 s). */
  waitMs?: number;
  /**
   * Cases (by id) this implementation is known to fail, with why: they run as `it.failing`, so
   * the day the implementation is fixed the test fails and asks for the entry to be removed.
   */
  knownGaps?: Record<string, string>;
}

export interface ContractContext {
  /** The implementation under test, shared by the cases. */
  engine: EngineApi;
  /** A fresh instance, for cases that end one (dispose); the case disposes it. */
  makeEngine(): Promise<EngineApi>;
  options: EngineContractOptions;
  /** The one basic job (2 candidates, 2 steps), run once and shared by the cases that inspect it. */
  basic(): Promise<BasicRun>;
}

export interface ContractCase {
  /** Short and stable, for EngineContractOptions.knownGaps. */
  id: string;
  name: string;
  /** Why the case does not apply to an implementation with these options (it is skipped), or null. */
  skip?(options: EngineContractOptions): string | null;
  run(ctx: ContractContext): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Requests: tiny, deterministic, built fresh each time (the worker engines transfer the buffers).

export const W = 64;
export const H = 48;
export const MASK_BOX = { x: 20, y: 12, width: 24, height: 20 };
export const STEPS = 2;
export const CANDIDATES = 2;
export const SEED = 41;

export function sourceImage(width = W, height = H): RgbaImage {
  const img = createImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      img.data[o] = (x * 255) / (width - 1);
      img.data[o + 1] = (y * 255) / (height - 1);
      img.data[o + 2] = ((x + y) * 13) & 255;
      img.data[o + 3] = 255;
    }
  }
  return img;
}

export function boxMask(width = W, height = H, box = MASK_BOX): Mask {
  const data = new Uint8Array(width * height);
  for (let y = box.y; y < box.y + box.height; y++) data.fill(255, y * width + box.x, y * width + box.x + box.width);
  return createMask(width, height, data);
}

export function editRequest(over: Partial<EditRequest> = {}): EditRequest {
  return { image: sourceImage(), mask: boxMask(), mode: 'edit', prompt: 'a red star', steps: STEPS, candidates: CANDIDATES, seed: SEED, previewEvery: 1, ...over };
}

export const OUTPAINT = { left: 16, top: 0, right: 0, bottom: 8 };

export function outpaintRequest(): EditRequest {
  return { image: sourceImage(), mode: 'outpaint', expand: OUTPAINT, prompt: 'a red star', steps: STEPS, candidates: 1, seed: SEED + 10, previewEvery: 0 };
}

/** The request fields, pixels left out: a key for caches and a readable name. */
export function describeRequest(r: EditRequest): string {
  const { image, mask, ...rest } = r;
  return JSON.stringify({ image: `${image?.width}x${image?.height}`, mask: mask ? `${mask.width}x${mask.height}` : undefined, ...rest });
}

const copyImage = (i: RgbaImage): RgbaImage => ({ ...i, data: i.data.slice() });
const copyMask = (m: Mask): Mask => ({ ...m, data: m.data.slice() });

// ---------------------------------------------------------------------------------------------
// Following jobs: every event with its place in one log over all jobs (for FIFO), with a deadline.

export class Timeline {
  readonly log: { jobId: string; event: JobEvent }[] = [];

  /** Iterates the handle's events to the end; rejects with what arrived if it takes longer than `ms`. */
  follow(handle: JobHandle, ms: number): Promise<JobEvent[]> {
    return iterate(handle, ms, (event) => this.log.push({ jobId: handle.id, event }));
  }

  /** Index in the log of the last event of `jobId` of `type` (-1 when none). */
  lastIndexOf(jobId: string, type: JobEvent['type']): number {
    for (let i = this.log.length - 1; i >= 0; i--) if (this.log[i]!.jobId === jobId && this.log[i]!.event.type === type) return i;
    return -1;
  }

  /** Index in the log of the first event of `jobId` of `type` (-1 when none). */
  indexOf(jobId: string, type: JobEvent['type'] | 'terminal'): number {
    return this.log.findIndex((l) => l.jobId === jobId && (type === 'terminal' ? isTerminalEvent(l.event) : l.event.type === type));
  }
}

export async function iterate(handle: JobHandle, ms: number, onEvent?: (e: JobEvent) => void): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  const run = (async () => {
    for await (const e of handle.events) {
      events.push(e);
      onEvent?.(e);
    }
    return events;
  })();
  return deadline(run, ms, () => `job ${handle.id}: its events did not end within ${ms} ms; got ${types(events).join(', ') || 'nothing'}`);
}

export function deadline<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export const types = (events: JobEvent[]): string[] => events.map((e) => e.type);
const withoutPreviews = (events: JobEvent[]): JobEvent[] => events.filter((e) => e.type !== 'preview');

/** Until the job's first progress event; fails at once if the job ends first. */
async function firstProgress(handle: JobHandle, events: JobEvent[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!events.some((e) => e.type === 'progress')) {
    if (events.some(isTerminalEvent) || Date.now() > end) throw new Error(`job ${handle.id}: no progress ${events.some(isTerminalEvent) ? 'before it ended' : `within ${ms} ms`}; got ${types(events).join(', ') || 'nothing'}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The rejection of `p` (fails when it resolves). */
async function rejection(p: Promise<unknown>, ms: number, what: string): Promise<unknown> {
  const r = await deadline(
    p.then(
      (v) => ({ resolved: v }),
      (e: unknown) => ({ rejected: e }),
    ),
    ms,
    () => `${what} neither resolved nor rejected within ${ms} ms`,
  );
  if ('resolved' in r) throw new Error(`${what} resolved (${JSON.stringify(r.resolved)?.slice(0, 200)}) but should have rejected`);
  return r.rejected;
}

/**
 * A typed SdkError with this code, shown whole when it is not. Core's class from its sources or
 * from the built package (the bridge and its fake take core from @byteedit/core, these tests from
 * core/src): the same class, loaded twice.
 */
function expectSdkError(err: unknown, code: ErrorCode): void {
  const seen = { sdkError: err instanceof SdkError || err instanceof PackageSdkError, code: (err as { code?: unknown })?.code, message: err instanceof Error ? err.message : String(err) };
  expect(seen).toEqual({ sdkError: true, code, message: expect.any(String) });
}

// ---------------------------------------------------------------------------------------------
// The order of one job's events.

/** What is wrong with a finished job's events (empty when nothing is). */
export function sequenceProblems(jobId: string, events: JobEvent[], k: number, steps: number): string[] {
  const p: string[] = [];
  const t = types(events);
  if (events.some((e) => e.jobId !== jobId)) p.push(`events of other jobs: ${[...new Set(events.map((e) => e.jobId))].join(', ')}`);
  if (t[0] !== 'queued') p.push(`first event is ${t[0]}, not queued`);
  const terminals = events.filter(isTerminalEvent);
  if (terminals.length !== 1) p.push(`${terminals.length} terminal events (${types(terminals).join(', ')}), not exactly one`);
  if (t[t.length - 1] !== 'finished') p.push(`last event is ${t[t.length - 1]}, not finished`);
  if (t[1] !== 'started') p.push(`second event is ${t[1]}, not started`);
  const middle = events.slice(2, -1);
  const stray = middle.filter((e) => !['progress', 'preview', 'candidate'].includes(e.type));
  if (stray.length) p.push(`between started and finished: ${types(stray).join(', ')}`);
  const started = events[1];
  if (started?.type === 'started' && (started.candidates !== k || started.steps !== steps)) p.push(`started says ${started.candidates} candidates x ${started.steps} steps, asked ${k} x ${steps}`);
  // Progress: each candidate's steps 1..steps in order, overall `done` counting up to k*steps.
  const next = new Map<number, number>();
  const finished = new Set<number>();
  let done = 0;
  for (const e of middle) {
    if (e.type === 'progress') {
      const want = (next.get(e.candidate) ?? 0) + 1;
      if (e.step !== want || e.total !== steps) p.push(`progress of candidate ${e.candidate}: step ${e.step}/${e.total}, expected ${want}/${steps}`);
      if (finished.has(e.candidate)) p.push(`progress of candidate ${e.candidate} after its candidate event`);
      if (!(e.done > done) || e.of !== k * steps) p.push(`progress done ${e.done} of ${e.of} after ${done} (of should be ${k * steps})`);
      next.set(e.candidate, e.step);
      done = e.done;
    } else if (e.type === 'candidate') {
      const i = e.candidate.index;
      if (next.get(i) !== steps) p.push(`candidate ${i} arrived after step ${next.get(i) ?? 0} of ${steps}`);
      if (finished.has(i)) p.push(`candidate ${i} twice`);
      finished.add(i);
    } else if (e.type === 'preview') {
      if (!(e.candidate >= 0 && e.candidate < k && e.step >= 1 && e.step <= steps)) p.push(`preview of candidate ${e.candidate} at step ${e.step}`);
    }
  }
  if (done !== k * steps) p.push(`progress reached ${done} of ${k * steps}`);
  const indices = [...finished].sort((a, b) => a - b);
  if (JSON.stringify(indices) !== JSON.stringify([...Array(k).keys()])) p.push(`candidate indices ${JSON.stringify(indices)}, expected 0..${k - 1}`);
  return p;
}

const candidatesOf = (events: JobEvent[]): Candidate[] => events.flatMap((e) => (e.type === 'candidate' ? [e.candidate] : []));

// ---------------------------------------------------------------------------------------------
// Pixels.

/**
 * Where the candidate's patch must equal the source (its mask is 0 there): every such pixel, checked
 * byte for byte against the source (placed at `offset` on the canvas). Also: where the request's
 * mask is set, the compositing mask is too, and something inside changed.
 */
function pixelProblems(c: Candidate, source: RgbaImage, offset: { x: number; y: number }, canvas: { width: number; height: number }, requestMask?: Mask): string[] {
  const p: string[] = [];
  const { region, patch, mask } = c;
  if (region.x < 0 || region.y < 0 || region.x + region.width > canvas.width || region.y + region.height > canvas.height) p.push(`region ${JSON.stringify(region)} leaves the ${canvas.width}x${canvas.height} canvas`);
  if (patch.width !== region.width || patch.height !== region.height || patch.data.length !== region.width * region.height * 4) p.push(`patch ${patch.width}x${patch.height} (${patch.data.length} bytes) for a ${region.width}x${region.height} region`);
  if (mask.width !== region.width || mask.height !== region.height || mask.data.length !== region.width * region.height) p.push(`mask ${mask.width}x${mask.height} (${mask.data.length} bytes) for a ${region.width}x${region.height} region`);
  if (p.length) return p;
  let kept = 0;
  let keptWrong = 0;
  let changed = 0;
  let maskMissing = 0;
  const firstWrong: string[] = [];
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const sx = region.x + x - offset.x;
      const sy = region.y + y - offset.y;
      const inSource = sx >= 0 && sy >= 0 && sx < source.width && sy < source.height;
      const m = mask.data[y * region.width + x]!;
      const o = (y * region.width + x) * 4;
      const so = (sy * source.width + sx) * 4;
      const same = inSource && [0, 1, 2, 3].every((ch) => patch.data[o + ch] === source.data[so + ch]);
      if (m === 0) {
        if (!inSource) {
          keptWrong++;
          if (firstWrong.length < 3) firstWrong.push(`(${region.x + x},${region.y + y}) has mask 0 outside the source`);
        } else if (!same) {
          keptWrong++;
          if (firstWrong.length < 3) firstWrong.push(`(${region.x + x},${region.y + y}) ${patch.data.subarray(o, o + 4).join(',')} != source ${source.data.subarray(so, so + 4).join(',')}`);
        } else kept++;
      } else if (!same) changed++;
      if (requestMask && inSource && requestMask.data[sy * requestMask.width + sx]! > 0 && m === 0) maskMissing++;
    }
  }
  if (keptWrong) p.push(`candidate ${c.index}: ${keptWrong} pixels with compositing mask 0 differ from the source (${firstWrong.join('; ')})`);
  if (maskMissing) p.push(`candidate ${c.index}: ${maskMissing} pixels of the request's mask have compositing mask 0`);
  if (changed === 0) p.push(`candidate ${c.index}: no pixel under its mask differs from the source`);
  if (requestMask?.bounds) {
    const b = requestMask.bounds;
    if (b.x + offset.x < region.x || b.y + offset.y < region.y || b.x + offset.x + b.width > region.x + region.width || b.y + offset.y + b.height > region.y + region.height) p.push(`candidate ${c.index}: region ${JSON.stringify(region)} does not cover the request's mask ${JSON.stringify(b)}`);
  }
  void kept;
  return p;
}

/** Max per-channel difference between two candidates' patches, or a reason they cannot compare. */
function difference(a: Candidate, b: Candidate): { max: number; differing: number } | string {
  if (JSON.stringify(a.region) !== JSON.stringify(b.region)) return `region ${JSON.stringify(a.region)} vs the reference's ${JSON.stringify(b.region)}`;
  if (a.seed !== b.seed) return `seed ${a.seed} vs the reference's ${b.seed}`;
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.patch.data.length; i++) {
    const d = Math.abs(a.patch.data[i]! - b.patch.data[i]!);
    if (d) differing++;
    if (d > max) max = d;
  }
  for (let i = 0; i < a.mask.data.length; i++) {
    const d = Math.abs(a.mask.data[i]! - b.mask.data[i]!);
    if (d) differing++;
    if (d > max) max = d;
  }
  return { max, differing };
}

async function expectReferencePixels(ctx: ContractContext, request: EditRequest, got: Candidate[]): Promise<void> {
  const ref = await ctx.options.reference!(request);
  const tol = ctx.options.pixelTolerance ?? 0;
  const lines = got.map((c) => {
    const r = ref.get(c.index);
    if (!r) return `candidate ${c.index}: the reference has none`;
    const d = difference(c, r);
    if (typeof d === 'string') return `candidate ${c.index}: ${d}`;
    return d.max <= tol ? 'ok' : `candidate ${c.index}: ${d.differing} bytes differ from the reference, by up to ${d.max} (allowed ${tol})`;
  });
  expect({ candidates: ref.size, lines }).toEqual({ candidates: got.length, lines: got.map(() => 'ok') });
}

// ---------------------------------------------------------------------------------------------
// The basic job, run once per implementation.

export interface BasicRun {
  request: EditRequest;
  /** Copies of the request's pixels taken before submit. */
  source: RgbaImage;
  sourceMask: Mask;
  handle: JobHandle;
  /** The events of an iteration started right after submit. */
  events: JobEvent[];
  summary: JobSummary;
}

export async function runBasic(engine: EngineApi, ms: number): Promise<BasicRun> {
  const request = editRequest();
  const source = copyImage(request.image);
  const sourceMask = copyMask(request.mask!);
  const handle = await engine.submit(request);
  const events = await iterate(handle, ms);
  const summary = await deadline(handle.done, ms, () => `job ${handle.id}: done did not settle`);
  return { request, source, sourceMask, handle, events, summary };
}

const ms = (ctx: ContractContext): number => ctx.options.waitMs ?? 60_000;
const longJob = (ctx: ContractContext): EditRequest => editRequest({ steps: 150, candidates: 3, previewEvery: 0, ...ctx.options.longJob });

// ---------------------------------------------------------------------------------------------
// The cases.

/** Invalid requests that every implementation refuses in `submit`, with invalid_argument. */
export const INVALID_REQUESTS: [string, () => EditRequest][] = [
  ['guidance 40', () => editRequest({ guidance: 40 })],
  ['steps 0', () => editRequest({ steps: 0 })],
  ['mode "paint"', () => editRequest({ mode: 'paint' as EditRequest['mode'] })],
  ['outpaint without expand', () => editRequest({ mode: 'outpaint', mask: undefined })],
  ['edit without a mask', () => editRequest({ mask: undefined })],
];

export const CONTRACT_CASES: ContractCase[] = [
  {
    id: 'order',
    name: 'submit returns a handle whose events run queued → started → progress… → candidate(s) → finished, with exactly one terminal event',
    async run(ctx) {
      const b = await ctx.basic();
      expect(typeof b.handle.id).toBe('string');
      expect(b.handle.id.length).toBeGreaterThan(0);
      expect({ types: types(b.events), problems: sequenceProblems(b.handle.id, b.events, CANDIDATES, STEPS) }).toEqual({ types: types(b.events), problems: [] });
    },
  },
  {
    id: 'route',
    name: "the summary says which engine made the pixels and why, in the route's one sentence",
    async run(ctx) {
      const { summary } = await ctx.basic();
      expect(['diffusion', 'patchmatch', 'inpaint']).toContain(summary.engine);
      expect(summary.route.engine).toBe(summary.engine === 'patchmatch' ? 'fill' : summary.engine);
      expect(typeof summary.route.reason).toBe('string');
      expect(summary.route.reason.length).toBeGreaterThan(10);
    },
  },
  {
    id: 'replay',
    name: 'iterating events again, during the job and after it ended, replays the same events (previews apart)',
    async run(ctx) {
      const request = editRequest({ seed: SEED + 5 });
      const handle = await ctx.engine.submit(request);
      const [first, second] = await Promise.all([iterate(handle, ms(ctx)), iterate(handle, ms(ctx))]);
      await handle.done;
      const third = await iterate(handle, ms(ctx));
      const fourth = await iterate(handle, ms(ctx));
      expect(sequenceProblems(handle.id, first, CANDIDATES, STEPS)).toEqual([]);
      expect(types(withoutPreviews(second))).toEqual(types(withoutPreviews(first)));
      expect(types(withoutPreviews(third))).toEqual(types(withoutPreviews(first)));
      // Whole events, candidate pixels included.
      expect(withoutPreviews(second)).toEqual(withoutPreviews(first));
      expect(withoutPreviews(third)).toEqual(withoutPreviews(first));
      expect(withoutPreviews(fourth)).toEqual(withoutPreviews(first));
    },
  },
  {
    id: 'late',
    name: 'a handle left alone until its job ended and iterated only then misses nothing',
    async run(ctx) {
      const handle = await ctx.engine.submit(editRequest({ seed: SEED + 7 }));
      const summary = await deadline(handle.done, ms(ctx), () => `job ${handle.id}: done did not settle`);
      const late = await iterate(handle, ms(ctx));
      expect(sequenceProblems(handle.id, late, CANDIDATES, STEPS)).toEqual([]);
      const finished = late[late.length - 1];
      expect(finished).toEqual({ type: 'finished', jobId: handle.id, summary });
      expect(candidatesOf(late).map((c) => c.seed).sort()).toEqual([SEED + 7, SEED + 8]);
    },
  },
  {
    id: 'summary',
    name: 'done resolves with the summary: ranking a permutation of the candidate indices, seeds seed, seed+1, …, the canvas of the source',
    async run(ctx) {
      const { handle, events, summary } = await ctx.basic();
      expect(summary.jobId).toBe(handle.id);
      expect(events[events.length - 1]).toEqual({ type: 'finished', jobId: handle.id, summary });
      expect(summary.seeds).toEqual([SEED, SEED + 1]);
      expect([...summary.ranking].sort((a, b) => a - b)).toEqual([0, 1]);
      expect(summary.rankScores).toHaveLength(CANDIDATES);
      expect(summary.canvas).toEqual({ width: W, height: H });
      expect(summary.sourceOffset).toEqual({ x: 0, y: 0 });
      expect(summary.steps).toBe(STEPS);
      const candidates = candidatesOf(events);
      expect(candidates.map((c) => [c.index, c.seed]).sort((a, b) => a[0]! - b[0]!)).toEqual([
        [0, SEED],
        [1, SEED + 1],
      ]);
    },
  },
  {
    id: 'pixels',
    name: "candidates carry a patch and mask of their region's size, equal to the source byte for byte outside the compositing mask; the request's pixels are left untouched (or transferred)",
    async run(ctx) {
      const { request, source, sourceMask, events, summary } = await ctx.basic();
      const problems = candidatesOf(events).flatMap((c) => pixelProblems(c, source, summary.sourceOffset, summary.canvas, sourceMask));
      expect(problems).toEqual([]);
      // Never written to: either still the caller's bytes, or moved to a worker (detached, empty).
      const untouched = (a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray): string => (a.length === 0 ? 'transferred' : Buffer.from(a).equals(Buffer.from(b)) ? 'untouched' : 'modified');
      expect(['transferred', 'untouched']).toContain(untouched(request.image.data, source.data));
      expect(['transferred', 'untouched']).toContain(untouched(request.mask!.data, sourceMask.data));
    },
  },
  {
    id: 'outpaint',
    name: 'outpaint grows the canvas by the margins, generates the added area and keeps every source pixel outside the compositing mask',
    async run(ctx) {
      const request = outpaintRequest();
      const source = copyImage(request.image);
      const handle = await ctx.engine.submit(request);
      const events = await iterate(handle, ms(ctx));
      const summary = await handle.done;
      expect(sequenceProblems(handle.id, events, 1, STEPS)).toEqual([]);
      expect(summary.canvas).toEqual({ width: W + OUTPAINT.left + OUTPAINT.right, height: H + OUTPAINT.top + OUTPAINT.bottom });
      expect(summary.sourceOffset).toEqual({ x: OUTPAINT.left, y: OUTPAINT.top });
      const [c] = candidatesOf(events);
      expect(pixelProblems(c!, source, summary.sourceOffset, summary.canvas)).toEqual([]);
      // Every added pixel lies in the region, under the mask, opaque.
      let missing = 0;
      for (let y = 0; y < summary.canvas.height; y++) {
        for (let x = 0; x < summary.canvas.width; x++) {
          const added = x < OUTPAINT.left || y < OUTPAINT.top || x >= OUTPAINT.left + W || y >= OUTPAINT.top + H;
          if (!added) continue;
          const rx = x - c!.region.x;
          const ry = y - c!.region.y;
          const inRegion = rx >= 0 && ry >= 0 && rx < c!.region.width && ry < c!.region.height;
          if (!inRegion || c!.mask.data[ry * c!.region.width + rx] === 0 || c!.patch.data[(ry * c!.region.width + rx) * 4 + 3] !== 255) missing++;
        }
      }
      expect({ addedPixelsNotGenerated: missing }).toEqual({ addedPixelsNotGenerated: 0 });
      if (ctx.options.reference) await expectReferencePixels(ctx, outpaintRequest(), [c!]);
    },
  },
  {
    id: 'same-pixels',
    name: 'the same request with the same seed gives the same pixels as the in-process engine',
    async run(ctx) {
      const b = await ctx.basic();
      if (!ctx.options.reference) {
        // A fake: no reference, but the same seed still gives the same pixels on the same engine.
        const again = await iterate(await ctx.engine.submit(editRequest()), ms(ctx));
        expect(candidatesOf(again).map((c) => [c.index, c.patch, c.mask])).toEqual(candidatesOf(b.events).map((c) => [c.index, c.patch, c.mask]));
        return;
      }
      await expectReferencePixels(ctx, editRequest(), candidatesOf(b.events));
    },
  },
  {
    id: 'fifo',
    name: "two jobs submitted back to back run in order: the second starts only after the first's last step",
    async run(ctx) {
      const timeline = new Timeline();
      const a = await ctx.engine.submit(editRequest({ steps: 12, candidates: 1, previewEvery: 0, seed: 1 }));
      const b = await ctx.engine.submit(editRequest({ seed: 2 }));
      const [ea, eb] = await Promise.all([timeline.follow(a, ms(ctx)), timeline.follow(b, ms(ctx))]);
      expect(types(ea)[ea.length - 1]).toBe('finished');
      expect(types(eb)[eb.length - 1]).toBe('finished');
      // Between two handles only the work orders their events: the first's last step comes before
      // the second starts. (Its terminal event may reach an iterator of the first after the second's
      // `started` reached the second's: the queue starts the next job within the same turn.)
      const order = { firstsLastStep: timeline.lastIndexOf(a.id, 'progress'), secondStarted: timeline.indexOf(b.id, 'started'), secondsFirstStep: timeline.indexOf(b.id, 'progress') };
      expect(order.firstsLastStep).toBeGreaterThanOrEqual(0);
      expect(order.secondStarted).toBeGreaterThan(order.firstsLastStep);
      expect(order.secondsFirstStep).toBeGreaterThan(order.firstsLastStep);
      expect(a.id).not.toBe(b.id);
      // Queued behind the first (which had not ended when the second was queued).
      const qb = eb[0];
      if (qb?.type === 'queued' && timeline.indexOf(b.id, 'queued') < timeline.indexOf(a.id, 'terminal')) expect(qb.position).toBeGreaterThanOrEqual(1);
    },
  },
  {
    id: 'cancel-queued',
    name: 'cancelling a queued job ends it with cancelled before it starts, done rejects with SdkError cancelled, and the job ahead of it still finishes',
    async run(ctx) {
      // Ahead of it, a job long enough that the cancel surely arrives while it runs (one candidate of the long job).
      const a = await ctx.engine.submit({ ...longJob(ctx), candidates: 1, seed: 3 });
      const b = await ctx.engine.submit(editRequest({ seed: 4 }));
      expect(await b.cancel()).toBe(true);
      const [ea, eb] = await Promise.all([iterate(a, ms(ctx)), iterate(b, ms(ctx))]);
      expect(types(eb)).toEqual(['queued', 'cancelled']);
      expectSdkError(await rejection(b.done, ms(ctx), 'done of a cancelled job'), 'cancelled');
      expect(types(ea)[ea.length - 1]).toBe('finished');
      expect(await b.cancel()).toBe(false);
    },
  },
  {
    id: 'cancel-running',
    name: 'cancelling a running job stops it between steps: cancelled, no finished, done rejects with SdkError cancelled, and the next job runs',
    async run(ctx) {
      const req = longJob(ctx);
      const total = (req.steps ?? 0) * (req.candidates ?? 1);
      const handle = await ctx.engine.submit(req);
      const events: JobEvent[] = [];
      const following = iterate(handle, ms(ctx), (e) => events.push(e));
      await firstProgress(handle, events, ms(ctx));
      expect(await handle.cancel()).toBe(true);
      await following;
      const t = types(events);
      expect(t[t.length - 1]).toBe('cancelled');
      expect(t.filter((x) => isTerminalEvent({ type: x as JobEvent['type'] }))).toEqual(['cancelled']);
      expect(events.filter((e) => e.type === 'progress').length).toBeLessThan(total);
      expectSdkError(await rejection(handle.done, ms(ctx), 'done of a cancelled job'), 'cancelled');
      const next = await ctx.engine.submit(editRequest({ candidates: 1, seed: 5 }));
      expect(types(await iterate(next, ms(ctx))).slice(-1)).toEqual(['finished']);
    },
  },
  {
    id: 'cancel-ended',
    name: 'cancel after the job ended returns false and changes nothing',
    async run(ctx) {
      const { handle, events } = await ctx.basic();
      expect(await handle.cancel()).toBe(false);
      expect(withoutPreviews(await iterate(handle, ms(ctx)))).toEqual(withoutPreviews(events));
      await expect(handle.done).resolves.toMatchObject({ jobId: handle.id });
    },
  },
  ...INVALID_REQUESTS.map(
    ([what, make]): ContractCase => ({
      id: `invalid: ${what}`,
      name: `an invalid request (${what}) is refused by submit itself with SdkError invalid_argument, before its pixels move`,
      async run(ctx) {
        const request = make();
        const err = await rejection(ctx.engine.submit(request), ms(ctx), `submit of a request with ${what}`);
        expectSdkError(err, 'invalid_argument');
        expect(request.image.data.length).toBe(W * H * 4);
      },
    }),
  ),
  {
    id: 'host-refusal',
    name: "a request the engine's host refuses (e.g. a pack the bridge does not serve) is refused by submit with the host's code as SdkError",
    skip: (o) => (o.refusedAtSubmit ? null : 'nothing is refused at submit beyond the request checks'),
    async run(ctx) {
      const { what, request, code } = ctx.options.refusedAtSubmit!;
      expectSdkError(await rejection(ctx.engine.submit(editRequest(request)), ms(ctx), `submit of a request with ${what}`), code);
      // The engine goes on.
      expect(types(await iterate(await ctx.engine.submit(editRequest({ candidates: 1, seed: 9 })), ms(ctx))).slice(-1)).toEqual(['finished']);
    },
  },
  {
    id: 'job-error',
    name: 'an error in one job fails only that job (error event, done rejects with its SdkError) and the next job succeeds',
    async run(ctx) {
      const { request, code } = ctx.options.failingJob;
      const bad = await ctx.engine.submit(editRequest({ candidates: 1, ...request }));
      const good = await ctx.engine.submit(editRequest({ candidates: 1, seed: 6 }));
      const [eb, eg] = await Promise.all([iterate(bad, ms(ctx)), iterate(good, ms(ctx))]);
      expect(types(eb)[0]).toBe('queued');
      expect(eb.filter(isTerminalEvent)).toEqual([{ type: 'error', jobId: bad.id, error: { code, message: expect.any(String) } }]);
      expect(eb[eb.length - 1]!.type).toBe('error');
      expectSdkError(await rejection(bad.done, ms(ctx), 'done of a failed job'), code);
      expect(sequenceProblems(good.id, eg, 1, STEPS)).toEqual([]);
    },
  },
  {
    id: 'capabilities',
    name: 'capabilities() lists the modes edit, erase and outpaint',
    async run(ctx) {
      const caps = await ctx.engine.capabilities();
      expect([...caps.modes].sort()).toEqual(['edit', 'erase', 'outpaint']);
      expect(caps.version).toEqual(expect.any(String));
      expect(caps.maxPixels).toBeGreaterThan(W * H);
      expect(['node', 'browser']).toContain(caps.runtime);
    },
  },
  {
    id: 'dispose',
    name: 'dispose cancels the running and the queued jobs: each ends with cancelled and its done rejects with SdkError cancelled',
    async run(ctx) {
      const engine = await ctx.makeEngine();
      let disposed = false;
      try {
        const running = await engine.submit(longJob(ctx));
        const queued = await engine.submit(editRequest({ seed: 8 }));
        const er: JobEvent[] = [];
        const eq: JobEvent[] = [];
        const following = Promise.all([iterate(running, ms(ctx), (e) => er.push(e)), iterate(queued, ms(ctx), (e) => eq.push(e))]);
        await firstProgress(running, er, ms(ctx));
        await engine.dispose();
        disposed = true;
        await following;
        expect(types(eq)).toEqual(['queued', 'cancelled']);
        expect(er.filter(isTerminalEvent).map((e) => e.type)).toEqual(['cancelled']);
        expect(types(er)[er.length - 1]).toBe('cancelled');
        expectSdkError(await rejection(running.done, ms(ctx), 'done of the running job after dispose'), 'cancelled');
        expectSdkError(await rejection(queued.done, ms(ctx), 'done of the queued job after dispose'), 'cancelled');
      } finally {
        if (!disposed) await engine.dispose();
      }
    },
  },
];

/** Runs every contract case against one implementation (one describe block named after it). */
export function describeEngineContract(name: string, makeEngine: () => Promise<EngineApi>, options: EngineContractOptions): void {
  describe(`${name}: the engine contract`, () => {
    let engine: EngineApi | undefined;
    let basic: Promise<BasicRun> | undefined;
    const ctx: ContractContext = {
      get engine() {
        if (!engine) throw new Error(`${name}: the engine did not start`);
        return engine;
      },
      makeEngine,
      options,
      basic: () => (basic ??= runBasic(ctx.engine, options.waitMs ?? 60_000)),
    };
    beforeAll(async () => {
      engine = await makeEngine();
    }, 180_000);
    afterAll(async () => {
      await engine?.dispose();
    }, 60_000);
    const timeout = (options.waitMs ?? 60_000) * 2;
    const unknown = Object.keys(options.knownGaps ?? {}).filter((id) => !CONTRACT_CASES.some((c) => c.id === id));
    if (unknown.length) throw new Error(`${name}: knownGaps names no case: ${unknown.join(', ')}`);
    for (const c of CONTRACT_CASES) {
      const gap = options.knownGaps?.[c.id];
      const skip = c.skip?.(options);
      if (skip) it.skip(`${c.name} [does not apply: ${skip}]`, () => undefined);
      else if (gap) it.failing(`${c.name} [known gap: ${gap}]`, () => c.run(ctx), timeout);
      else it(c.name, () => c.run(ctx), timeout);
    }
  });
}
