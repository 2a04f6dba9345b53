/**
 * Web Worker entry: one Engine on onnxruntime-web, exposed with comlink. The page configures it
 * once through `configure` (pack base URL, wasm path) before the first job.
 */
import * as Comlink from 'comlink';
import { Engine } from '../engine/engine';
import { WebOrtRuntime, type WebRuntimeOptions } from '../runtime/ort-web';
import { UrlPackSource } from '../runtime/web-pack-source';
import type { DeviceName } from '../runtime/types';
import { SdkError } from '../util/errors';
import { installErrorHandler } from './comlink-errors';
import { workerApi, type WorkerApi } from './protocol';

export interface BrowserWorkerConfig extends WebRuntimeOptions {
  /** Base URL of the default pack (a folder with pack.json). */
  packUrl: string;
  device?: DeviceName;
  /** Extra fetch options (e.g. an Authorization header for the bridge). */
  headers?: Record<string, string>;
}

installErrorHandler();
let api: WorkerApi | null = null;

const facade = {
  configure(config: BrowserWorkerConfig): void {
    const runtime = new WebOrtRuntime(config);
    const engine = new Engine({
      runtime,
      device: config.device,
      packs: async (ref) => new UrlPackSource(ref ?? config.packUrl, { headers: config.headers }),
    });
    api = workerApi(engine);
  },
  run: (...args: Parameters<WorkerApi['run']>) => need().run(...args),
  cancel: (id: string) => need().cancel(id),
  capabilities: () => need().capabilities(),
  dispose: () => need().dispose(),
};

function need(): WorkerApi {
  if (!api) throw new SdkError('internal', 'the worker is not configured: call configure({packUrl, wasmPaths}) first');
  return api;
}

Comlink.expose(facade);
