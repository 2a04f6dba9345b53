/**
 * @byteedit/core for browsers: start the engine in a Web Worker (built as dist/browser/worker.js,
 * onnxruntime-web inside) and talk to it through the same EngineApi as everywhere else.
 */
import * as Comlink from 'comlink';
import { WorkerEngineClient, type WorkerHandle } from './worker/client';
import type { BrowserWorkerConfig } from './worker/browser-worker';
import type { WorkerApi } from './worker/protocol';
import type { EngineApi } from './engine/types';

export * from './index';
export type { BrowserWorkerConfig } from './worker/browser-worker';

type ConfigurableApi = WorkerApi & { configure(config: BrowserWorkerConfig): void };

/** `makeWorker` creates the Worker (so bundlers and plug-in hosts control how its script is loaded). */
export function createBrowserWorkerEngine(makeWorker: () => Worker, config: BrowserWorkerConfig): EngineApi {
  return new WorkerEngineClient((): WorkerHandle => {
    const worker = makeWorker();
    const remote = Comlink.wrap<ConfigurableApi>(worker);
    const callbacks: ((reason: string) => void)[] = [];
    worker.addEventListener('error', (e) => callbacks.forEach((cb) => cb(`error: ${e.message}`)));
    const configured = remote.configure(config);
    const api = new Proxy(remote, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof prop === 'string' && ['run', 'cancel', 'capabilities', 'dispose'].includes(prop)) {
          return async (...args: unknown[]) => {
            await configured;
            return (v as (...a: unknown[]) => Promise<unknown>)(...args);
          };
        }
        return v;
      },
    }) as unknown as Comlink.Remote<WorkerApi>;
    return {
      api,
      onExit: (cb) => callbacks.push(cb),
      async terminate() {
        worker.terminate();
      },
    };
  });
}
