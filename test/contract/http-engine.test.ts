/**
 * The engine contract (engine-contract.ts) against the HTTP client of the bridge
 * (HttpEngineClient from core/src/http) over a real bridge on loopback (plugins/gimp-bridge's
 * startServer, in this process), twice: with the bridge's own engine (core's worker engine on the
 * fixture pack, CPU; pixels compared with the in-process engine) and with the bridge tests' fake
 * engine. Every client in a describe block talks to the same bridge.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpEngineClient } from '../../core/src/http/index';
import { startServer, type BridgeServer } from '../../plugins/gimp-bridge/src/server';
import { FakeEngine } from '../../plugins/gimp-bridge/test/fake-engine';
import { describeEngineContract } from './engine-contract';
import { disposeReference, FIXTURE_PACK, inProcessReference } from './reference';

// The core worker's test hook: the prompt __byteedit_crash__ kills the worker running it (read
// when the bridge's worker starts, in this process's environment).
process.env.BYTEEDIT_TEST_HOOKS = '1';
const CRASH = { request: { prompt: '__byteedit_crash__' }, code: 'worker_crashed' as const };
// The bridge serves packs by name and refuses others in POST /v1/jobs (the in-process engines
// fail such a job once it runs: their failingJob).
const UNKNOWN_PACK = { what: 'a pack the bridge does not serve', request: { pack: 'no-such-pack' }, code: 'pack_not_found' as const };

interface Bridge {
  server: BridgeServer;
  fake?: FakeEngine;
  dir: string;
}
const bridges: Record<string, Bridge> = {};

async function bridge(name: 'real' | 'fake'): Promise<Bridge> {
  if (bridges[name]) return bridges[name];
  const dir = mkdtempSync(join(tmpdir(), 'byteedit-contract-http-'));
  const fake = name === 'fake' ? new FakeEngine({ stepMs: 5 }) : undefined;
  const server = await startServer({ port: 0, packs: [FIXTURE_PACK], device: 'cpu', engine: fake, writeBridgeFile: false, configDir: dir });
  bridges[name] = { server, fake, dir };
  return bridges[name];
}

const client = (b: Bridge): HttpEngineClient => new HttpEngineClient({ baseUrl: b.server.url, token: b.server.token });

afterAll(async () => {
  for (const b of Object.values(bridges)) {
    await b.server.close({ mode: 'cancel' });
    await b.fake?.dispose();
    rmSync(b.dir, { recursive: true, force: true });
  }
  await disposeReference();
}, 60_000);

describeEngineContract('HTTP client (HttpEngineClient) of a bridge with its worker engine', async () => client(await bridge('real')), {
  reference: inProcessReference,
  failingJob: CRASH,
  refusedAtSubmit: UNKNOWN_PACK,
});

describeEngineContract('HTTP client (HttpEngineClient) of a bridge with the test fake engine', async () => client(await bridge('fake')), {
  failingJob: CRASH,
  refusedAtSubmit: UNKNOWN_PACK,
  longJob: { steps: 100, candidates: 1 },
  knownGaps: { outpaint: 'the fake engine behind it: its outpaint candidate covers the source rectangle, not the added margins' },
});
