/**
 * What a worker exposes over comlink. The worker runs one Engine; the client in the main thread
 * keeps the FIFO queue and hands the worker one job at a time, so a crashed worker only loses the
 * job it was running (see worker/client.ts).
 */
import * as Comlink from 'comlink';
import type { Engine } from '../engine/engine';
import type { Capabilities, EditRequest, JobEvent, JobListener } from '../engine/types';

export interface WorkerApi {
  enqueue(request: EditRequest): Promise<string>;
  subscribe(listener: JobListener): Promise<void>;
  cancel(jobId: string): Promise<boolean>;
  capabilities(): Promise<Capabilities>;
  dispose(): Promise<void>;
}

/** Buffers inside an event that can move instead of being copied. */
export function eventTransferables(event: JobEvent): ArrayBuffer[] {
  if (event.type === 'candidate') return [event.candidate.patch.data.buffer as ArrayBuffer, event.candidate.mask.data.buffer as ArrayBuffer];
  if (event.type === 'preview') return [event.image.data.buffer as ArrayBuffer];
  return [];
}

export function requestTransferables(request: EditRequest): ArrayBuffer[] {
  const out = [request.image.data.buffer as ArrayBuffer];
  if (request.mask && request.mask.data.buffer !== request.image.data.buffer) out.push(request.mask.data.buffer as ArrayBuffer);
  return out;
}

/** Wraps an engine for `Comlink.expose`. */
export function workerApi(engine: Engine, beforeRun?: (request: EditRequest) => void): WorkerApi {
  return {
    enqueue: (request) => {
      beforeRun?.(request);
      return engine.enqueue(request);
    },
    async subscribe(listener) {
      await engine.subscribe((event) => {
        void listener(Comlink.transfer(event, eventTransferables(event)));
      });
    },
    cancel: (id) => engine.cancel(id),
    capabilities: () => engine.capabilities(),
    dispose: () => engine.dispose(),
  };
}
