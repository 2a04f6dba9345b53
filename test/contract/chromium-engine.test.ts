/**
 * The engine contract (engine-contract.ts) against core's browser Web Worker engine in headless
 * Chromium: createBrowserWorkerEngine as built (core/dist/browser/index.js, from core/src/browser.ts
 * by jest's globalSetup) with its worker (core/dist/browser/worker.js, onnxruntime-web on WASM) on
 * the fixture pack served over loopback;
 * every case runs in the page through chromium-engine.ts. Pixels are compared with the in-process
 * engine on onnxruntime-node's CPU EP.
 */
import { describeEngineContract } from './engine-contract';
import { openChromiumEngines, type ChromiumEngines } from './chromium-engine';
import { disposeReference, inProcessReference } from './reference';

let chromium: { engines: ChromiumEngines; close(): Promise<void> } | undefined;

beforeAll(async () => {
  chromium = await openChromiumEngines();
}, 120_000);

afterAll(async () => {
  if (chromium && process.env.BYTEEDIT_CONTRACT_LOGS === '1') process.stdout.write(`${chromium.engines.logs.join('\n')}\n`);
  await chromium?.close();
  await disposeReference();
});

describeEngineContract(
  'browser Web Worker engine in Chromium (createBrowserWorkerEngine, wasm)',
  async () => {
    if (!chromium) throw new Error('Chromium did not start');
    return chromium.engines.create({ pack: '/fixtures/tiny-sd-diffusers', device: 'wasm' });
  },
  {
    reference: inProcessReference,
    failingJob: { request: { pack: '/fixtures/no-such-pack' }, code: 'pack_not_found' },
  },
);
