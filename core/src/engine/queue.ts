/**
 * Jobs as handles, implemented once. `JobChannel` is one job's event log behind the JobHandle
 * interface: a handle exists before its first event, so no consumer ever buffers early events.
 * `JobQueue` is the FIFO, one-job-at-a-time queue every engine uses (in-process, the worker
 * client, the bridge's test fake): it stamps ids, emits `queued`, cancels queued jobs itself and
 * tells the runner of a running one, and turns a runner that throws or ends silently into an
 * `error` event, so a crash in one job never stalls the next.
 */
import { SdkError, deserializeError, serializeError } from '../protocol/errors';
import { isTerminalEvent, type EditRequest, type JobEvent, type JobEventBody, type JobHandle, type JobSummary } from '../protocol/events';
import { randomSeed } from '../samplers/noise';

/** One job's events, replayable; previews are kept only as the latest one per candidate. */
export class JobChannel implements JobHandle {
  /** null: a preview superseded by a later one of the same candidate. */
  private readonly log: (JobEvent | null)[] = [];
  private readonly previewAt = new Map<number, number>();
  private wake: (() => void)[] = [];
  private ended = false;
  readonly done: Promise<JobSummary>;
  private settle!: { resolve: (s: JobSummary) => void; reject: (e: unknown) => void };

  constructor(
    readonly id: string,
    private readonly canceller: () => Promise<boolean>,
  ) {
    this.done = new Promise<JobSummary>((resolve, reject) => (this.settle = { resolve, reject }));
    // A host that only iterates events must not see an unhandled rejection for a failed job.
    this.done.catch(() => undefined);
  }

  get finished(): boolean {
    return this.ended;
  }

  /** Appends an event; ignored once the job has ended. */
  push(event: JobEvent): void {
    if (this.ended) return;
    if (event.type === 'preview') {
      const prev = this.previewAt.get(event.candidate);
      if (prev !== undefined) this.log[prev] = null;
      this.previewAt.set(event.candidate, this.log.length);
    }
    this.log.push(event);
    if (isTerminalEvent(event)) {
      this.ended = true;
      // Nothing is gained by replaying pixels of a finished job.
      for (const i of this.previewAt.values()) this.log[i] = null;
      this.previewAt.clear();
      if (event.type === 'finished') this.settle.resolve(event.summary);
      else if (event.type === 'error') this.settle.reject(deserializeError(event.error));
      else this.settle.reject(new SdkError('cancelled', 'the job was cancelled'));
    }
    const wake = this.wake;
    this.wake = [];
    for (const w of wake) w();
  }

  cancel(): Promise<boolean> {
    return this.ended ? Promise.resolve(false) : this.canceller();
  }

  get events(): AsyncIterable<JobEvent> {
    return { [Symbol.asyncIterator]: () => this.iterate() };
  }

  private async *iterate(): AsyncGenerator<JobEvent> {
    let i = 0;
    for (;;) {
      while (i < this.log.length) {
        const e = this.log[i++];
        if (e) yield e;
      }
      if (this.ended) return;
      await new Promise<void>((res) => this.wake.push(res));
    }
  }
}

/** What a runner sees of the job it runs. */
export interface RunningJob {
  readonly id: string;
  readonly request: EditRequest;
  readonly enqueuedAt: number;
  /** True once cancel was asked for: stop at the next safe point and throw SdkError('cancelled'). */
  readonly cancelled: boolean;
  emit(event: JobEventBody): void;
  /** Called (once) when the job is cancelled while running. */
  onCancel(callback: () => void): void;
}

export type JobRunner = (job: RunningJob) => Promise<void>;

interface Entry {
  channel: JobChannel;
  request: EditRequest;
  enqueuedAt: number;
  cancelled: boolean;
  cancelCallbacks: (() => void)[];
}

export interface JobQueueOptions {
  /** Prefix of job ids (default "job"). */
  idPrefix?: string;
  now?: () => number;
}

export class JobQueue {
  private readonly waiting: Entry[] = [];
  private running: Entry | null = null;
  private nextId = 1;
  private disposed = false;
  private readonly now: () => number;
  private readonly prefix: string;

  constructor(
    private readonly runner: JobRunner,
    options: JobQueueOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.prefix = options.idPrefix ?? 'job';
  }

  /** Jobs waiting plus the one running. */
  get size(): number {
    return this.waiting.length + (this.running ? 1 : 0);
  }

  submit(request: EditRequest): JobChannel {
    if (this.disposed) throw new SdkError('internal', 'the engine has been disposed');
    const id = `${this.prefix}-${this.nextId++}-${randomSeed().toString(36)}`;
    const entry: Entry = { request, enqueuedAt: this.now(), cancelled: false, cancelCallbacks: [], channel: new JobChannel(id, () => Promise.resolve(this.cancel(entry))) };
    this.waiting.push(entry);
    entry.channel.push({ type: 'queued', jobId: id, position: this.size - 1 });
    void Promise.resolve().then(() => this.pump());
    return entry.channel;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const e of this.waiting.splice(0)) e.channel.push({ type: 'cancelled', jobId: e.channel.id });
    if (this.running) this.cancel(this.running);
  }

  private cancel(entry: Entry): boolean {
    if (entry.channel.finished) return false;
    const i = this.waiting.indexOf(entry);
    if (i >= 0) {
      this.waiting.splice(i, 1);
      entry.channel.push({ type: 'cancelled', jobId: entry.channel.id });
      return true;
    }
    if (this.running !== entry || entry.cancelled) return false;
    entry.cancelled = true;
    for (const cb of entry.cancelCallbacks.splice(0)) {
      try {
        cb();
      } catch {
        // a failing cancel hook must not break the queue
      }
    }
    return true;
  }

  private pumping = false;

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiting.length > 0) {
        const entry = this.waiting.shift()!;
        this.running = entry;
        await this.runOne(entry);
        this.running = null;
      }
    } finally {
      this.pumping = false;
    }
  }

  private async runOne(entry: Entry): Promise<void> {
    const { channel } = entry;
    const job: RunningJob = {
      id: channel.id,
      request: entry.request,
      enqueuedAt: entry.enqueuedAt,
      get cancelled() {
        return entry.cancelled;
      },
      emit: (event) => channel.push({ ...event, jobId: channel.id } as JobEvent),
      onCancel: (cb) => {
        if (entry.cancelled) cb();
        else entry.cancelCallbacks.push(cb);
      },
    };
    try {
      await this.runner(job);
      if (!channel.finished) {
        if (entry.cancelled) channel.push({ type: 'cancelled', jobId: channel.id });
        else channel.push({ type: 'error', jobId: channel.id, error: { code: 'internal', message: 'the job ended without a result' } });
      }
    } catch (err) {
      if (err instanceof SdkError && err.code === 'cancelled') channel.push({ type: 'cancelled', jobId: channel.id });
      else channel.push({ type: 'error', jobId: channel.id, error: serializeError(err) });
    }
  }
}
