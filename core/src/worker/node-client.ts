/** Starts the engine in a Node worker_thread and wraps it with the queueing client. */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import type { DeviceName } from '../runtime/types';
import type { EngineApi } from '../engine/types';
import { WorkerEngineClient, type WorkerHandle } from './client';
import type { WorkerApi } from './protocol';

export interface WorkerEngineOptions {
  /** Default pack (folder) when a request names none. */
  pack?: string;
  device?: DeviceName;
  maxPixels?: number;
  /** The erase pack for routing and prefill when a request names none (default: the installed one; null: none). */
  inpaintPack?: string | null;
  /** Path of the built worker entry (default: dist/node/worker.js next to this bundle). */
  workerPath?: string;
  /** Environment of the worker (default: this process's). */
  env?: Record<string, string | undefined>;
}

export interface NodeWorkerData {
  pack?: string;
  device?: DeviceName;
  maxPixels?: number;
  inpaintPack?: string | null;
}

export function startNodeWorker(options: WorkerEngineOptions): WorkerHandle {
  const data: NodeWorkerData = { pack: options.pack, device: options.device, maxPixels: options.maxPixels, ...(options.inpaintPack !== undefined ? { inpaintPack: options.inpaintPack } : {}) };
  const worker = new Worker(options.workerPath ?? join(__dirname, 'worker.js'), { workerData: data, env: options.env ?? process.env });
  const api = Comlink.wrap<WorkerApi>(nodeEndpoint(worker));
  let exited = false;
  const exitCallbacks: ((reason: string) => void)[] = [];
  const fire = (reason: string): void => {
    if (exited) return;
    exited = true;
    for (const cb of exitCallbacks) cb(reason);
  };
  worker.on('error', (err) => fire(`error: ${err.message}`));
  worker.on('exit', (code) => fire(`exit code ${code}`));
  return {
    api,
    onExit: (cb) => exitCallbacks.push(cb),
    async terminate() {
      exited = true;
      api[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}

/** An engine running in a worker_thread: the main thread stays free; a crash fails only its job. */
export async function createWorkerEngine(options: WorkerEngineOptions = {}): Promise<EngineApi> {
  return new WorkerEngineClient(() => startNodeWorker(options));
}
