/**
 * HttpEngineClient against the REAL bridge (startServer from plugins/gimp-bridge, the worker
 * engine on the CPU, the tiny-sd-diffusers fixture pack) over loopback, constructed from nothing
 * but the started bridge's {url, token}. The candidates it returns are checked byte for byte
 * against the bridge's own result files (PNG patch, mask and full canvas).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer, type BridgeServer } from '../../plugins/gimp-bridge/src/server';
import { decodeImage, encodeGrayPng, encodePng } from '../src/image/codecs';
import { createImage, createMask, type RgbaImage } from '../src/image/image';
import { composeCandidate } from '../src/engine/run';
import { SdkError } from '../src/protocol/errors';
import type { EditRequest, JobEvent, JobHandle } from '../src/protocol/events';
import { bridgeHealth, HttpEngineClient, listPacks } from '../src/http/index';

jest.setTimeout(180_000);

const FIXTURE_PACK = resolve(__dirname, '../../models/fixtures/tiny-sd-diffusers');
const W = 64;
const H = 48;

function source(): RgbaImage {
  const img = createImage(W, H);
  for (let i = 0; i < W * H; i++) img.data.set([(i * 5) & 255, (i >> 6) * 5, 128, 255], i * 4);
  return img;
}

function request(over: Partial<EditRequest> = {}): EditRequest {
  const mask = new Uint8Array(W * H);
  for (let y = 12; y < 32; y++) mask.fill(255, y * W + 20, y * W + 44);
  return { image: source(), mask: createMask(W, H, mask), mode: 'edit', prompt: 'a red star', steps: 2, candidates: 2, seed: 41, ...over };
}

async function all(handle: JobHandle, onEvent?: (e: JobEvent) => void): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for await (const e of handle.events) {
    out.push(e);
    onEvent?.(e);
  }
  return out;
}

async function rejection(p: Promise<unknown>): Promise<SdkError> {
  const r = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(r instanceof SdkError)) throw new Error(`expected an SdkError, got ${String(r)}`);
  return r;
}

let server: BridgeServer;
let engine: HttpEngineClient;

beforeAll(async () => {
  server = await startServer({ port: 0, packs: [FIXTURE_PACK], device: 'cpu', writeBridgeFile: false, configDir: mkdtempSync(join(tmpdir(), 'byteedit-http-')) });
  engine = new HttpEngineClient({ baseUrl: server.url, token: server.token });
});

afterAll(async () => {
  await engine?.dispose();
  await server?.close({ mode: 'cancel' });
});

async function resultFile(jobId: string, index: number, part: 'patch' | 'mask' | 'full'): Promise<Buffer> {
  const res = await fetch(`${server.url}/v1/jobs/${jobId}/results/${index}?part=${part}`, { headers: { Authorization: `Bearer ${server.token}` } });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

it("returns candidates equal byte for byte to the bridge's result files, and previews as images", async () => {
  const r = request({ previewEvery: 1 });
  const image = { ...r.image, data: r.image.data.slice() };
  const handle = await engine.submit(r);
  const events = await all(handle);
  const summary = await handle.done;
  expect(summary.jobId).toBe(handle.id);
  expect(events.filter((e) => e.type !== 'preview').map((e) => e.type)).toEqual(['queued', 'started', 'progress', 'progress', 'candidate', 'progress', 'progress', 'candidate', 'finished']);
  const previews = events.flatMap((e) => (e.type === 'preview' ? [e] : []));
  expect(previews.length).toBeGreaterThan(0);
  for (const p of previews) expect(p.image.data.length).toBe(p.image.width * p.image.height * 4);

  const candidates = events.flatMap((e) => (e.type === 'candidate' ? [e.candidate] : []));
  expect(candidates.map((c) => c.seed).sort()).toEqual([41, 42]);
  for (const c of candidates) {
    const patchPng = await resultFile(handle.id, c.index, 'patch');
    const maskPng = await resultFile(handle.id, c.index, 'mask');
    // The same pixels: the bridge's PNG decodes to them, and they encode to the bridge's PNG.
    expect(Buffer.from(decodeImage(patchPng).data)).toEqual(Buffer.from(c.patch.data));
    expect(Buffer.from(encodePng(c.patch))).toEqual(patchPng);
    expect(Buffer.from(decodeImage(maskPng).data.filter((_, i) => i % 4 === 0))).toEqual(Buffer.from(c.mask.data));
    expect(Buffer.from(encodeGrayPng(c.mask.width, c.mask.height, c.mask.data))).toEqual(maskPng);
    expect([c.patch.width, c.patch.height, c.mask.width, c.mask.height]).toEqual([c.region.width, c.region.height, c.region.width, c.region.height]);
    expect(c.mask.bounds).not.toBeNull();
    // And the summary places them as the bridge does: the full canvas composed here is its part=full.
    expect(Buffer.from(composeCandidate(image, summary, c).data)).toEqual(Buffer.from(decodeImage(await resultFile(handle.id, c.index, 'full')).data));
  }
});

it('cancels a running job between steps', async () => {
  const handle = await engine.submit(request({ steps: 60, candidates: 2 }));
  let asked: Promise<boolean> | null = null;
  const events = await all(handle, (e) => {
    if (e.type === 'progress' && !asked) asked = handle.cancel();
  });
  expect(await asked).toBe(true);
  expect(events[events.length - 1]!.type).toBe('cancelled');
  expect(events.filter((e) => e.type === 'progress').length).toBeLessThan(120);
  expect((await rejection(handle.done)).code).toBe('cancelled');
});

it("brings the bridge's refusals back as its SdkErrors", async () => {
  const wrong = new HttpEngineClient({ baseUrl: server.url, token: 'not-the-token' });
  const unauthorized = await rejection(wrong.submit(request()));
  expect(unauthorized.code).toBe('unauthorized');
  expect(unauthorized.message).toMatch(/wrong token/);
  expect((await rejection(wrong.capabilities())).code).toBe('unauthorized');
  expect((await rejection(engine.submit(request({ pack: 'no-such-pack' })))).code).toBe('pack_not_found');
  const small = createMask(W / 2, H / 2, new Uint8Array((W / 2) * (H / 2)).fill(255));
  expect((await rejection(engine.submit(request({ mask: small })))).code).toBe('mask_size_mismatch');
});

it('says the bridge is not running, and how to start it, when nothing answers', async () => {
  const other = await startServer({ port: 0, packs: [FIXTURE_PACK], writeBridgeFile: false });
  const url = other.url;
  await other.close();
  const err = await rejection(new HttpEngineClient({ baseUrl: url, token: 'x' }).submit(request()));
  expect(err.code).toBe('network_unavailable');
  expect(err.message).toMatch(/npx byteedit serve/);
});

it('reads capabilities, health and packs', async () => {
  const caps = await engine.capabilities();
  expect([...caps.modes].sort()).toEqual(['edit', 'erase', 'outpaint']);
  expect(caps.maxPixels).toBeGreaterThan(W * H);
  expect((await bridgeHealth({ baseUrl: server.url, token: server.token })).authenticated).toBe(true);
  expect((await bridgeHealth({ baseUrl: server.url, token: '' })).authenticated).toBe(false);
  expect((await listPacks({ baseUrl: server.url, token: server.token })).map((p) => [p.name, p.default])).toEqual([['tiny-sd-diffusers', true]]);
});
