/**
 * FAKE EngineApi for the HTTP contract tests: no models, deterministic, with controllable step
 * time. It follows the engine contract (FIFO, one job at a time, queued → started → progress →
 * candidate → finished | error | cancelled, cancel between steps, `__byteedit_crash__` fails the
 * running job with worker_crashed and the next job runs). The same suite runs against the core's
 * real worker engine (contract.test.ts), so the fake cannot drift silently.
 */
import type { Candidate, Capabilities, EditRequest, EngineApi, JobEvent, JobListener, JobSummary } from '@byteedit/core';

interface FakeJob {
  id: string;
  request: EditRequest;
  cancelled: boolean;
}

export interface FakeEngineOptions {
  stepMs?: number;
}

export class FakeEngine implements EngineApi {
  private readonly listeners = new Set<JobListener>();
  private readonly queue: FakeJob[] = [];
  private running: FakeJob | null = null;
  private next = 1;
  readonly stepMs: number;
  disposed = false;

  constructor(options: FakeEngineOptions = {}) {
    this.stepMs = options.stepMs ?? 10;
  }

  async enqueue(request: EditRequest): Promise<string> {
    const job: FakeJob = { id: `fake-${this.next++}`, request, cancelled: false };
    this.queue.push(job);
    this.emit({ type: 'queued', jobId: job.id, position: this.queue.length + (this.running ? 1 : 0) - 1 });
    setImmediate(() => this.pump());
    return job.id;
  }

  async subscribe(listener: JobListener): Promise<() => void> {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async cancel(jobId: string): Promise<boolean> {
    const i = this.queue.findIndex((j) => j.id === jobId);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.emit({ type: 'cancelled', jobId });
      return true;
    }
    if (this.running?.id === jobId && !this.running.cancelled) {
      this.running.cancelled = true;
      return true;
    }
    return false;
  }

  async capabilities(): Promise<Capabilities> {
    return { version: '0.0.0-fake', runtime: 'node', devices: [{ name: 'cpu', available: true }], deviceChoice: { requested: 'cpu', device: 'cpu', fallbacks: [] }, modes: ['edit', 'erase', 'outpaint'], schedulers: [], maxPixels: 64_000_000 };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }

  private emit(event: JobEvent): void {
    for (const l of this.listeners) l(event);
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    const job = this.queue.shift()!;
    this.running = job;
    void this.run(job).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  private async run(job: FakeJob): Promise<void> {
    const r = job.request;
    const k = r.candidates ?? 1;
    const steps = r.steps ?? 4;
    this.emit({ type: 'started', jobId: job.id, device: 'cpu', candidates: k, steps });
    if (r.prompt === '__byteedit_crash__') {
      await sleep(this.stepMs);
      this.emit({ type: 'error', jobId: job.id, error: { code: 'worker_crashed', message: 'the engine worker exited unexpectedly (fake)' } });
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
        if (job.cancelled) {
          this.emit({ type: 'cancelled', jobId: job.id });
          return;
        }
        this.emit({ type: 'progress', jobId: job.id, candidate: c, step: s, total: steps, done: c * steps + s, of: k * steps });
        // Like the core: a preview every N steps, none after the last step.
        if (r.previewEvery && s % r.previewEvery === 0 && s < steps) {
          this.emit({ type: 'preview', jobId: job.id, candidate: c, step: s, image: { width: 8, height: 8, data: new Uint8ClampedArray(8 * 8 * 4).fill(s * 20) } });
        }
      }
      this.emit({ type: 'candidate', jobId: job.id, candidate: fakeCandidate(r, region, bounds, c, seed + c) });
    }
    this.emit({
      type: 'finished',
      jobId: job.id,
      summary: {
        jobId: job.id,
        canvas,
        sourceOffset: { x: e.left, y: e.top },
        seeds: Array.from({ length: k }, (_, i) => seed + i),
        device: 'cpu',
        pack: { name: 'fake', version: '0', kind: 'fake' },
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
