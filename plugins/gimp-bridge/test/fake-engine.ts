/**
 * FAKE EngineApi for the HTTP contract tests: no models, deterministic, with controllable step
 * time. It is core's JobQueue (the one queue every engine uses: FIFO, one job at a time, handles
 * that replay from `queued`) with a fake runner: started → progress → candidate → finished, cancel
 * between steps, `__byteedit_crash__` fails the running job with worker_crashed and the next job
 * runs. submit() checks the request like the real engines. The same suite runs against the core's
 * real worker engine (contract.test.ts), so the fake cannot drift silently.
 */
import { JobQueue, SdkError, validateRequest, type Candidate, type Capabilities, type EditRequest, type EngineApi, type JobHandle, type JobSummary, type RunningJob } from '@byteedit/core';

export interface FakeEngineOptions {
  stepMs?: number;
}

export class FakeEngine implements EngineApi {
  private readonly queue = new JobQueue((job) => this.run(job), { idPrefix: 'fake' });
  readonly stepMs: number;
  /** How often submit() was called (refused requests included), and with what last. */
  submits = 0;
  lastRequest: EditRequest | undefined;
  disposed = false;

  constructor(options: FakeEngineOptions = {}) {
    this.stepMs = options.stepMs ?? 10;
  }

  async submit(request: EditRequest): Promise<JobHandle> {
    this.submits++;
    this.lastRequest = request;
    validateRequest(request);
    return this.queue.submit(request);
  }

  async capabilities(): Promise<Capabilities> {
    return { version: '0.0.0-fake', runtime: 'node', devices: [{ name: 'cpu', available: true }], deviceChoice: { requested: 'cpu', device: 'cpu', fallbacks: [] }, modes: ['edit', 'erase', 'outpaint'], schedulers: [], maxPixels: 64_000_000 };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.queue.dispose();
  }

  private async run(job: RunningJob): Promise<void> {
    const r = job.request;
    const k = r.candidates ?? 1;
    const steps = r.steps ?? 4;
    job.emit({ type: 'started', device: 'cpu', candidates: k, steps });
    if (r.prompt === '__byteedit_crash__') {
      await sleep(this.stepMs);
      job.emit({ type: 'error', error: { code: 'worker_crashed', message: 'the engine worker exited unexpectedly (fake)' } });
      return;
    }
    const e = r.expand ?? { left: 0, top: 0, right: 0, bottom: 0 };
    const canvas = { width: r.image.width + e.left + e.right, height: r.image.height + e.top + e.bottom };
    const bounds = r.mask?.bounds ?? { x: 0, y: 0, width: r.image.width, height: r.image.height };
    const region = { x: bounds.x + e.left, y: bounds.y + e.top, width: bounds.width, height: bounds.height };
    const seed = r.seed ?? 1234;
    for (let c = 0; c < k; c++) {
      for (let s = 1; s <= steps; s++) {
        await sleep(this.stepMs);
        if (job.cancelled) throw new SdkError('cancelled', 'the job was cancelled');
        job.emit({ type: 'progress', candidate: c, step: s, total: steps, done: c * steps + s, of: k * steps });
        // Like the core: a preview every N steps, none after the last step.
        if (r.previewEvery && s % r.previewEvery === 0 && s < steps) {
          job.emit({ type: 'preview', candidate: c, step: s, image: { width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 4).fill(s * 20) } });
        }
      }
      job.emit({ type: 'candidate', candidate: fakeCandidate(r, region, bounds, c, seed + c) });
    }
    job.emit({
      type: 'finished',
      summary: {
        jobId: job.id,
        canvas,
        sourceOffset: { x: e.left, y: e.top },
        seeds: Array.from({ length: k }, (_, i) => seed + i),
        device: 'cpu',
        pack: { name: 'fake', version: '0', kind: 'fake' },
        engine: 'diffusion',
        route: { engine: 'diffusion', reason: "the bridge tests' fake engine paints every job" },
        steps,
        timings: { queuedMs: 0, loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0, totalMs: 0 },
        ranking: Array.from({ length: k }, (_, i) => i),
        rankScores: Array.from({ length: k }, () => 0),
        rankWeights: {},
        rewardSources: {},
        // Cast: keeps compiling while the core's JobSummary gains fields.
      } as JobSummary,
    });
  }
}

/** Patch = source pixels with RGB inverted where the mask is set, and the candidate index in alpha-free blue. */
function fakeCandidate(r: EditRequest, region: Candidate['region'], src: { x: number; y: number; width: number; height: number }, index: number, seed: number): Candidate {
  const patch = new Uint8ClampedArray(region.width * region.height * 4);
  const mask = new Uint8Array(region.width * region.height);
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const si = (src.y + y) * r.image.width + src.x + x;
      const m = r.mask ? r.mask.data[si]! : 255;
      const o = (y * region.width + x) * 4;
      mask[y * region.width + x] = m;
      for (let ch = 0; ch < 3; ch++) patch[o + ch] = m ? 255 - r.image.data[si * 4 + ch]! : r.image.data[si * 4 + ch]!;
      patch[o + 2] = m ? (patch[o + 2]! + index * 40) & 255 : patch[o + 2]!;
      patch[o + 3] = 255;
    }
  }
  // Like the real engine, every candidate carries reward scores (here: made up, decreasing).
  const scores = { coherence: -index, coherence_analytic: -index };
  return { index, seed, region, patch: { width: region.width, height: region.height, data: patch }, mask: { width: region.width, height: region.height, data: mask, bounds: null }, scores };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
