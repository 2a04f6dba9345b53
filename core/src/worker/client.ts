/**
 * The main-thread side of a worker-backed engine (Web Worker or Node worker_thread). It owns the
 * queue and job ids, sends one job at a time, renames the worker's events to its own ids, and
 * turns a worker crash into an `error` event (code worker_crashed) for the running job, then
 * starts a fresh worker for the next one. Pixel buffers are transferred, not copied: after
 * `enqueue` the request's image and mask buffers belong to the worker.
 */
import * as Comlink from 'comlink';
import { SdkError } from '../util/errors';
import { randomSeed } from '../samplers/noise';
import type { Capabilities, EditRequest, EngineApi, JobEvent, JobListener } from '../engine/types';
import { installErrorHandler } from './comlink-errors';
import { requestTransferables, type WorkerApi } from './protocol';

/** A started worker as the client sees it; `onExit` fires once if it dies. */
export interface WorkerHandle {
  api: Comlink.Remote<WorkerApi>;
  onExit(callback: (reason: string) => void): void;
  terminate(): Promise<void>;
}

interface Pending {
  id: string;
  request: EditRequest;
}

interface Current {
  id: string;
  /** The worker's id for the job, once its enqueue call has answered. */
  workerJob: string | null;
  cancelled: boolean;
  /** Events that arrived before the enqueue answer (they travel on another port). */
  early: JobEvent[];
}

export class WorkerEngineClient implements EngineApi {
  private readonly queue: Pending[] = [];
  private current: Current | null = null;
  private worker: WorkerHandle | null = null;
  private readonly listeners = new Set<JobListener>();
  private nextId = 1;
  private disposed = false;

  constructor(private readonly start: () => WorkerHandle) {
    installErrorHandler();
  }

  private emit(event: JobEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // listeners must not break the queue
      }
    }
  }

  private async ensureWorker(): Promise<WorkerHandle> {
    if (this.worker) return this.worker;
    const w = this.start();
    this.worker = w;
    w.onExit((reason) => this.onWorkerExit(w, reason));
    await w.api.subscribe(Comlink.proxy((event: JobEvent) => this.onWorkerEvent(event)));
    return w;
  }

  private onWorkerEvent(event: JobEvent): void {
    const cur = this.current;
    if (!cur || event.type === 'queued') return;
    // Events come through the listener's own MessagePort, the enqueue answer through the worker's:
    // the two are not ordered, so a fast job's events can arrive before its id is known.
    if (cur.workerJob === null) {
      cur.early.push(event);
      return;
    }
    if (event.jobId === cur.workerJob) this.forward(cur, event);
  }

  private forward(cur: Current, event: JobEvent): void {
    if (this.current !== cur) return;
    this.emit({ ...event, jobId: cur.id } as JobEvent);
    if (event.type === 'finished' || event.type === 'error' || event.type === 'cancelled') {
      this.current = null;
      void this.pump();
    }
  }

  private onWorkerExit(w: WorkerHandle, reason: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    const cur = this.current;
    this.current = null;
    if (cur && !this.disposed) {
      this.emit({ type: 'error', jobId: cur.id, error: { code: 'worker_crashed', message: `the engine worker stopped while running this job (${reason}); the next job runs in a fresh worker` } });
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.current || this.disposed) return;
    const next = this.queue.shift();
    if (!next) return;
    const cur: Current = { id: next.id, workerJob: null, cancelled: false, early: [] };
    this.current = cur;
    try {
      const w = await this.ensureWorker();
      const workerJob = await w.api.enqueue(Comlink.transfer(next.request, requestTransferables(next.request)));
      cur.workerJob = workerJob;
      for (const e of cur.early.splice(0)) if (e.jobId === workerJob) this.forward(cur, e);
      if (cur.cancelled && this.current === cur) await w.api.cancel(workerJob);
    } catch (err) {
      if (this.current === cur) {
        this.current = null;
        const e = err instanceof SdkError ? err : new SdkError('internal', err instanceof Error ? err.message : String(err));
        this.emit({ type: 'error', jobId: cur.id, error: { code: e.code, message: e.message } });
        void this.pump();
      }
    }
  }

  async enqueue(request: EditRequest): Promise<string> {
    if (this.disposed) throw new SdkError('internal', 'the engine has been disposed');
    const id = `job-${this.nextId++}-${randomSeed().toString(36)}`;
    this.queue.push({ id, request });
    this.emit({ type: 'queued', jobId: id, position: this.queue.length - 1 + (this.current ? 1 : 0) });
    void this.pump();
    return id;
  }

  async subscribe(listener: JobListener): Promise<() => void> {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async cancel(jobId: string): Promise<boolean> {
    const i = this.queue.findIndex((p) => p.id === jobId);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.emit({ type: 'cancelled', jobId });
      return true;
    }
    const cur = this.current;
    if (cur && cur.id === jobId && !cur.cancelled) {
      cur.cancelled = true;
      if (cur.workerJob && this.worker) return this.worker.api.cancel(cur.workerJob);
      return true;
    }
    return false;
  }

  async capabilities(): Promise<Capabilities> {
    return (await this.ensureWorker()).api.capabilities();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const p of this.queue.splice(0)) this.emit({ type: 'cancelled', jobId: p.id });
    if (this.current) this.emit({ type: 'cancelled', jobId: this.current.id });
    this.current = null;
    const w = this.worker;
    this.worker = null;
    if (w) {
      await w.api.dispose().catch(() => undefined);
      await w.terminate();
    }
  }
}
