/**
 * The bridge's job table: one record per job the engine accepted, fed from the job's handle
 * (`for await` over its events, which start at `queued`, so nothing arrives before its record).
 * Keeps the wire form of every event (previews excepted) so that late SSE subscribers get a
 * replay, the candidates for the results endpoint, and evicts finished jobs by age, count and
 * bytes so a long-running bridge stays bounded.
 */
import { serializeError, type Candidate, type JobEvent, type JobHandle, type JobSummary, type RequestParams, type RgbaImage, type SerializedError } from './core';

export type JobState = 'queued' | 'running' | 'finished' | 'error' | 'cancelled';

export interface WireEvent {
  seq: number;
  type: JobEvent['type'];
  /** The JSON `data:` line of the SSE message. */
  data: string;
  terminal: boolean;
}

export interface Progress {
  candidate: number;
  step: number;
  total: number;
  done: number;
  of: number;
}

export type EventListener = (event: WireEvent, preview?: { candidate: number; step: number; image: RgbaImage }) => void;

export interface JobRecord {
  id: string;
  state: JobState;
  createdAt: number;
  finishedAt?: number;
  /** The request as parsed (pack names, not folders), for GET /v1/jobs/{id} and preference records. */
  params: RequestParams;
  /** The engine's handle while the job has not ended (cancel goes through it). */
  handle?: JobHandle;
  /**
   * The source as the client sent it (PNG), kept for `part=full` results until the job is evicted.
   * Not the decoded pixels: the worker engine takes ownership of (transfers) those on submit.
   */
  sourcePng: Uint8Array;
  width: number;
  height: number;
  position?: number;
  device?: string;
  progress?: Progress;
  candidates: Map<number, Candidate>;
  summary?: JobSummary;
  error?: SerializedError;
  events: WireEvent[];
  bytes: number;
  listeners: Set<EventListener>;
}

export interface RetentionLimits {
  /** Finished jobs are dropped this long after they end. */
  ttlMs: number;
  /** Total bytes of pixels kept across all jobs; oldest finished jobs go first. */
  maxBytes: number;
  /** Finished jobs kept at most. */
  maxFinished: number;
}

const TERMINAL = new Set<JobEvent['type']>(['finished', 'error', 'cancelled']);

export function isTerminal(state: JobState): boolean {
  return state === 'finished' || state === 'error' || state === 'cancelled';
}

export class JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  private totalBytes = 0;

  constructor(private readonly limits: RetentionLimits, private readonly now: () => number = Date.now) {}

  /** A record for a submitted job, kept up to date from its events until the job ends. */
  create(handle: JobHandle, params: RequestParams, sourcePng: Uint8Array, width: number, height: number): JobRecord {
    const record: JobRecord = {
      id: handle.id,
      state: 'queued',
      createdAt: this.now(),
      params,
      handle,
      sourcePng,
      width,
      height,
      candidates: new Map(),
      events: [],
      bytes: sourcePng.byteLength,
      listeners: new Set(),
    };
    this.jobs.set(record.id, record);
    this.totalBytes += record.bytes;
    void this.follow(record, handle);
    return record;
  }

  /** Asks the engine to cancel; false when the job has already ended. */
  cancel(record: JobRecord): Promise<boolean> {
    return record.handle && !isTerminal(record.state) ? record.handle.cancel().catch(() => false) : Promise.resolve(false);
  }

  private async follow(record: JobRecord, handle: JobHandle): Promise<void> {
    try {
      for await (const event of handle.events) this.apply(record, event);
    } catch (err) {
      this.apply(record, { type: 'error', jobId: record.id, error: serializeError(err) });
    }
    // An engine that ends the stream without saying how the job ended must not leave it "running" forever.
    if (!isTerminal(record.state)) this.apply(record, { type: 'error', jobId: record.id, error: { code: 'internal', message: "the engine ended this job's events without a result; submit it again" } });
    record.handle = undefined;
  }

  get(id: string): JobRecord | undefined {
    return this.jobs.get(id);
  }

  all(): JobRecord[] {
    return [...this.jobs.values()];
  }

  active(): JobRecord[] {
    return this.all().filter((j) => !isTerminal(j.state));
  }

  stats(): { jobs: number; active: number; bytes: number } {
    return { jobs: this.jobs.size, active: this.active().length, bytes: this.totalBytes };
  }

  /** Replays events after `afterSeq`, then streams live ones; returns the unsubscribe function. */
  subscribe(record: JobRecord, afterSeq: number, listener: EventListener): () => void {
    for (const event of record.events) if (event.seq > afterSeq) listener(event);
    if (isTerminal(record.state)) return () => undefined;
    record.listeners.add(listener);
    return () => record.listeners.delete(listener);
  }

  /** Drops expired and over-budget finished jobs (oldest first). */
  sweep(): void {
    const now = this.now();
    const finished = this.all()
      .filter((j) => isTerminal(j.state))
      .sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    let count = finished.length;
    const newest = finished[finished.length - 1];
    for (const job of finished) {
      const expired = now - (job.finishedAt ?? now) >= this.limits.ttlMs;
      // Over budget, the oldest go first, but never the job that just ended: its client is
      // about to fetch the results.
      const overBudget = job !== newest && (count > this.limits.maxFinished || this.totalBytes > this.limits.maxBytes);
      if (expired || overBudget) {
        this.remove(job);
        count--;
      }
    }
  }

  private remove(job: JobRecord): void {
    this.jobs.delete(job.id);
    this.totalBytes -= job.bytes;
    job.listeners.clear();
  }

  private apply(record: JobRecord, event: JobEvent): void {
    if (isTerminal(record.state)) return;
    let wire: Record<string, unknown>;
    switch (event.type) {
      case 'queued':
        record.position = event.position;
        wire = { position: event.position };
        break;
      case 'started':
        record.state = 'running';
        record.position = 0;
        record.device = event.device;
        wire = { device: event.device, candidates: event.candidates, steps: event.steps, ...(event.fallbacks ? { fallbacks: event.fallbacks } : {}) };
        break;
      case 'progress': {
        const { candidate, step, total, done, of } = event;
        record.progress = { candidate, step, total, done, of };
        wire = { ...record.progress };
        break;
      }
      case 'preview':
        // Previews are pixels: sent live to listeners that asked for them, never stored for replay.
        for (const listener of record.listeners) listener({ seq: 0, type: 'preview', data: '', terminal: false }, { candidate: event.candidate, step: event.step, image: event.image });
        return;
      case 'candidate': {
        const c = event.candidate;
        record.candidates.set(c.index, c);
        const bytes = c.patch.data.byteLength + c.mask.data.byteLength;
        record.bytes += bytes;
        this.totalBytes += bytes;
        wire = candidateWire(record.id, c);
        break;
      }
      case 'finished':
        record.state = 'finished';
        record.summary = event.summary;
        wire = { summary: event.summary };
        break;
      case 'error':
        record.state = 'error';
        record.error = event.error;
        wire = { error: event.error };
        break;
      case 'cancelled':
        record.state = 'cancelled';
        wire = {};
        break;
    }
    const stored: WireEvent = {
      seq: record.events.length + 1,
      type: event.type,
      data: JSON.stringify({ type: event.type, jobId: record.id, ...wire }),
      terminal: TERMINAL.has(event.type),
    };
    record.events.push(stored);
    if (stored.terminal) {
      record.finishedAt = this.now();
      record.position = undefined;
    }
    for (const listener of [...record.listeners]) listener(stored);
    if (stored.terminal) {
      record.listeners.clear();
      this.sweep();
    }
  }
}

export function candidateWire(jobId: string, c: Candidate): Record<string, unknown> {
  const base = `/v1/jobs/${jobId}/results/${c.index}`;
  return {
    index: c.index,
    seed: c.seed,
    region: { x: c.region.x, y: c.region.y, width: c.region.width, height: c.region.height },
    scores: c.scores ?? {},
    urls: { patch: `${base}?part=patch`, mask: `${base}?part=mask`, full: `${base}?part=full` },
  };
}

export function jobWire(record: JobRecord): Record<string, unknown> {
  const candidates = [...record.candidates.values()].sort((a, b) => a.index - b.index).map((c) => candidateWire(record.id, c));
  const p = record.progress;
  const fraction = record.state === 'finished' ? 1 : p && p.of > 0 ? Math.min(1, p.done / p.of) : 0;
  return {
    id: record.id,
    state: record.state,
    createdAt: new Date(record.createdAt).toISOString(),
    finishedAt: record.finishedAt === undefined ? undefined : new Date(record.finishedAt).toISOString(),
    position: record.position,
    device: record.device,
    progress: { fraction, ...(p ?? {}) },
    request: { ...record.params, width: record.width, height: record.height },
    candidates,
    ranking: record.summary?.ranking,
    summary: record.summary,
    error: record.error,
  };
}
