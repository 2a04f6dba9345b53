/**
 * The main-thread side of a worker-backed engine (Web Worker or Node worker_thread). It owns the
 * queue and job ids (the shared JobQueue), sends one job at a time, and turns a worker crash into
 * an `error` event (code worker_crashed) for the running job, then starts a fresh worker for the
 * next one. Pixel buffers are transferred, not copied: after `submit` the request's image and mask
 * buffers belong to the worker.
 */
import * as Comlink from 'comlink';
import { SdkError, serializeError } from '../protocol/errors';
import { isTerminalEvent, type Capabilities, type EditRequest, type EngineApi, type JobEvent, type JobHandle } from '../protocol/events';
import { validateRequest } from '../protocol/request';
import { JobQueue, type RunningJob } from '../engine/queue';
import { installErrorHandler } from './comlink-errors';
import { requestTransferables, type WorkerApi } from './protocol';

/** A started worker as the client sees it; `onExit` fires once if it dies. */
export interface WorkerHandle {
  api: Comlink.Remote<WorkerApi>;
  onExit(callback: (reason: string) => void): void;
  terminate(): Promise<void>;
}

export class WorkerEngineClient implements EngineApi {
  private readonly queue = new JobQueue((job) => this.runInWorker(job));
  private worker: WorkerHandle | null = null;
  /** Settles the running job when its worker dies. */
  private onCrash: ((reason: string) => void) | null = null;
  private disposed = false;

  constructor(private readonly start: () => WorkerHandle) {
    installErrorHandler();
  }

  private ensureWorker(): WorkerHandle {
    if (this.worker) return this.worker;
    const w = this.start();
    this.worker = w;
    w.onExit((reason) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.onCrash?.(reason);
    });
    return w;
  }

  private runInWorker(job: RunningJob): Promise<void> {
    return new Promise<void>((resolve) => {
      let ended = false;
      const end = (): void => {
        ended = true;
        this.onCrash = null;
        resolve();
      };
      this.onCrash = (reason) => {
        if (ended) return;
        if (!this.disposed) job.emit({ type: 'error', error: { code: 'worker_crashed', message: `the engine worker stopped while running this job (${reason}); the next job runs in a fresh worker` } });
        end();
      };
      const listener = (event: JobEvent): void => {
        if (ended) return;
        // The queue stamps the client's id on every event; the summary must carry it too (the
        // worker's engine names its jobs its own way).
        const body = event.type === 'finished' ? { ...event, summary: { ...event.summary, jobId: job.id } } : event;
        job.emit(body as Parameters<RunningJob['emit']>[0]);
        if (isTerminalEvent(event)) end();
      };
      let w: WorkerHandle;
      try {
        w = this.ensureWorker();
      } catch (err) {
        job.emit({ type: 'error', error: serializeError(err) });
        end();
        return;
      }
      job.onCancel(() => void w.api.cancel(job.id).catch(() => false));
      w.api.run(job.id, Comlink.transfer(job.request, requestTransferables(job.request)), Comlink.proxy(listener)).catch((err: unknown) => {
        if (ended) return;
        const e = err instanceof SdkError ? err : new SdkError('internal', err instanceof Error ? err.message : String(err));
        job.emit({ type: 'error', error: { code: e.code, message: e.message } });
        end();
      });
    });
  }

  async submit(request: EditRequest): Promise<JobHandle> {
    if (this.disposed) throw new SdkError('internal', 'the engine has been disposed');
    // The same checks as the worker's engine, before the pixels move: a bad request is refused here.
    validateRequest(request);
    return this.queue.submit(request);
  }

  async capabilities(): Promise<Capabilities> {
    return this.ensureWorker().api.capabilities();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.queue.dispose();
    this.onCrash?.('disposed');
    const w = this.worker;
    this.worker = null;
    if (w) {
      await w.api.dispose().catch(() => undefined);
      await w.terminate();
    }
  }
}
