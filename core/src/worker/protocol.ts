/**
 * What a worker exposes over comlink. The worker runs one Engine; the client in the main thread
 * keeps the FIFO queue and hands the worker one job at a time, so a crashed worker only loses the
 * job it was running (see worker/client.ts). A job's events come back through the listener passed
 * with `run`, which exists before the job does: nothing arrives before its id is known.
 */
import * as Comlink from 'comlink';
import type { Engine } from '../engine/engine';
import type { Capabilities, EditRequest, JobEvent, JobHandle } from '../protocol/events';

export interface WorkerApi {
  /** Runs one job under the client's id; events go to `listener`; resolves after its terminal event was sent. */
  run(id: string, request: EditRequest, listener: (event: JobEvent) => void): Promise<void>;
  cancel(id: string): Promise<boolean>;
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
  const running = new Map<string, JobHandle>();
  return {
    async run(id, request, listener) {
      beforeRun?.(request);
      const handle = await engine.submit(request);
      running.set(id, handle);
      try {
        for await (const event of handle.events) {
          // The client announced the job as queued already, under its own id.
          if (event.type !== 'queued') void listener(Comlink.transfer(event, eventTransferables(event)));
        }
      } finally {
        running.delete(id);
      }
    },
    cancel: async (id) => (await running.get(id)?.cancel()) ?? false,
    capabilities: () => engine.capabilities(),
    dispose: () => engine.dispose(),
  };
}
