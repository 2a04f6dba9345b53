/**
 * A small pool of codec worker threads (codec-worker.ts) for the server: image decode of uploads
 * and PNG encode of results run there, one task per worker at a time, FIFO. The engine's own
 * worker stays the engine's; these only ever hold the bytes of the task at hand.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CodecMessage, CodecReply, CodecResult, CodecTask, DecodedUpload, Encoded } from './codec-protocol';
import { deserializeError, SdkError, type Candidate, type JobSummary, type RgbaImage } from './core';

interface Pending {
  task: CodecTask;
  resolve: (value: CodecResult) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
  id: number;
}

/** dist/codec-worker.js beside the bundle, or the built one when the server runs from its sources (tests). */
export function codecWorkerPath(): string {
  for (const candidate of [join(__dirname, 'codec-worker.js'), join(__dirname, '..', 'dist', 'codec-worker.js')]) if (existsSync(candidate)) return candidate;
  throw new Error(`the bridge's codec worker (dist/codec-worker.js) is missing: build the bridge first (npm run build -w @byteedit/gimp-bridge)`);
}

export class CodecPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size: number, private readonly workerPath = codecWorkerPath()) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  decode(image: Uint8Array, mask: Uint8Array | undefined, maxPixels: number): Promise<DecodedUpload> {
    return this.run({ op: 'decode', image, mask, maxPixels }) as Promise<DecodedUpload>;
  }

  encodePng(image: RgbaImage): Promise<Uint8Array> {
    return this.run({ op: 'png', image }) as Promise<Uint8Array>;
  }

  encodeGrayPng(width: number, height: number, data: Uint8Array): Promise<Uint8Array> {
    return this.run({ op: 'grayPng', width, height, data }) as Promise<Uint8Array>;
  }

  full(sourcePng: Uint8Array, summary: Pick<JobSummary, 'canvas' | 'sourceOffset'>, candidate: Pick<Candidate, 'region' | 'patch'>, format: 'png' | 'raw'): Promise<Encoded> {
    return this.run({ op: 'full', sourcePng, summary: { canvas: summary.canvas, sourceOffset: summary.sourceOffset }, candidate: { region: candidate.region, patch: candidate.patch }, format }) as Promise<Encoded>;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new SdkError('cancelled', 'the bridge is shutting down'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private run(task: CodecTask): Promise<CodecResult> {
    if (this.closed) return Promise.reject(new SdkError('cancelled', 'the bridge is shutting down'));
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const pending = this.queue.shift()!;
      slot.busy = pending;
      slot.id = this.nextId++;
      const message: CodecMessage = { id: slot.id, task: pending.task };
      // Inputs are copied, not transferred: the job store keeps the sources and the candidates.
      slot.worker.postMessage(message);
    }
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(this.workerPath), busy: null, id: 0 };
    slot.worker.unref();
    slot.worker.on('message', (reply: CodecReply) => {
      const pending = slot.busy;
      if (!pending || reply.id !== slot.id) return;
      slot.busy = null;
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(deserializeError(reply.error));
      this.pump();
    });
    // A worker that dies (out of memory on a hostile file) fails only its task and is replaced.
    const replace = (why: string): void => {
      const pending = slot.busy;
      slot.busy = null;
      if (pending?.task.op === 'decode') pending.reject(new SdkError('image_unreadable', `the image could not be decoded (${why}); re-export it as PNG and try again`));
      else pending?.reject(new SdkError('internal', `the result could not be encoded (${why}); fetch it again`));
      if (this.closed) return;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
      this.pump();
    };
    let gone = false;
    slot.worker.on('error', (err) => {
      if (!gone) replace(`codec worker failed: ${err.message}`);
      gone = true;
    });
    slot.worker.on('exit', (code) => {
      if (!gone) replace(`codec worker exited with code ${code}`);
      gone = true;
    });
    return slot;
  }
}
