/**
 * The engine contract (engine-contract.ts) against the Node implementations of EngineApi: the
 * in-process Engine and the worker-thread engine (core/dist/node/worker.js, built by jest's
 * globalSetup), both on the diffusers-layout fixture pack on the CPU, and the bridge tests' fake
 * engine (plugins/gimp-bridge/test/fake-engine.ts: no pixels to compare, its own). The browser Web
 * Worker engine runs the same cases in chromium-engine.test.ts.
 */
import { createEngine } from '../../core/src/node';
import { createWorkerEngine } from '../../core/src/worker/node-client';
import { FakeEngine } from '../../plugins/gimp-bridge/test/fake-engine';
import { describeEngineContract } from './engine-contract';
import { disposeReference, FIXTURE_PACK, inProcessReference, NODE_WORKER } from './reference';

afterAll(() => disposeReference());

const failingJob = { request: { pack: '/nonexistent/byteedit-pack' }, code: 'pack_not_found' as const };

describeEngineContract('in-process Engine (createEngine)', async () => createEngine({ pack: FIXTURE_PACK, device: 'cpu' }), {
  reference: inProcessReference,
  failingJob,
});

describeEngineContract('Node worker-thread engine (createWorkerEngine)', () => createWorkerEngine({ pack: FIXTURE_PACK, device: 'cpu', workerPath: NODE_WORKER }), {
  reference: inProcessReference,
  failingJob,
});

describeEngineContract('bridge test fake (FakeEngine)', async () => new FakeEngine({ stepMs: 5 }), {
  failingJob: { request: { prompt: '__byteedit_crash__' }, code: 'worker_crashed' },
  longJob: { steps: 100, candidates: 1 },
  knownGaps: { outpaint: 'its outpaint candidate covers the source rectangle (region = the image offset by the margins), not the added margins' },
});
