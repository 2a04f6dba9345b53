/**
 * The reference pixels of the contract: the in-process engine on the CPU with the fixture pack.
 * One engine per test file, each request run once (keyed by its fields; the pixels come from the
 * contract's deterministic builders).
 */
import { join, resolve } from 'node:path';
import { createEngine } from '../../core/src/node';
import type { Engine } from '../../core/src/engine/engine';
import type { Candidate, EditRequest } from '../../core/src/protocol/events';
import { describeRequest, iterate, type ReferencePixels } from './engine-contract';

export const REPO = resolve(__dirname, '..', '..');
export const FIXTURE_PACK = join(REPO, 'models', 'fixtures', 'tiny-sd-diffusers');
export const NODE_WORKER = join(REPO, 'core', 'dist', 'node', 'worker.js');

let engine: Engine | null = null;
const cache = new Map<string, Promise<Map<number, Candidate>>>();

export const inProcessReference: ReferencePixels = (request: EditRequest) => {
  const key = describeRequest(request);
  let p = cache.get(key);
  if (!p) {
    engine ??= createEngine({ pack: FIXTURE_PACK, device: 'cpu' });
    const e = engine;
    p = (async () => {
      const events = await iterate(await e.submit(request), 60_000);
      const out = new Map<number, Candidate>();
      for (const ev of events) if (ev.type === 'candidate') out.set(ev.candidate.index, ev.candidate);
      return out;
    })();
    cache.set(key, p);
  }
  return p;
};

export async function disposeReference(): Promise<void> {
  const e = engine;
  engine = null;
  cache.clear();
  await e?.dispose();
}
