/** worker_threads entry: one Engine on onnxruntime-node, exposed with comlink's Node adapter. */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/umd/node-adapter';
import { createEngine } from '../node';
import { installErrorHandler } from './comlink-errors';
import { workerApi } from './protocol';
import type { NodeWorkerData } from './node-client';

if (!parentPort) throw new Error('worker.js must run inside a worker_thread');
installErrorHandler();
const data = (workerData ?? {}) as NodeWorkerData;
const engine = createEngine({ pack: data.pack, device: data.device, maxPixels: data.maxPixels, ...(data.inpaintPack !== undefined ? { inpaintPack: data.inpaintPack } : {}) });
// Test hook (off unless BYTEEDIT_TEST_HOOKS=1): a magic prompt kills the worker, so crash handling
// can be tested against the real worker instead of a fake. It exits at once, not after a delay: a
// warm worker finishes a small job within milliseconds, and a delayed exit would race it.
const crashHook = process.env.BYTEEDIT_TEST_HOOKS === '1';
Comlink.expose(
  workerApi(engine, (request) => {
    if (crashHook && request.prompt === '__byteedit_crash__') process.exit(70);
  }),
  nodeEndpoint(parentPort),
);
