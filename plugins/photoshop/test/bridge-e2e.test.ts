/**
 * End to end: the FAKE Photoshop + the REAL bridge (startServer from plugins/gimp-bridge, the
 * core's worker engine, the tiny-sd-diffusers fixture pack with random weights) over loopback.
 * The panel's own code does everything: token file → health → job through core's HTTP engine
 * (PNG up, SSE or polling, raw results down) → layers with masks. Checks land on pixels and offsets, not just on success: the
 * layers hold what the CLI makes on the CPU for the same request (test/reference/cpu-reference.ts),
 * and so does what the user sees, the document composite (source + new layer through its mask).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decode as decodeJpeg } from 'jpeg-js';
import { startServer, type BridgeServer } from '../../gimp-bridge/src/server';
import { bridgeHealth, HttpEngineClient, type BridgeOptions, type FetchLike } from '@byteedit/core/http';
import { EditSession } from '../src/edit-session';
import { errorCode, isPanelError } from '../src/errors';
import { readTokenFile } from '../src/token-file';
import { readPreferences } from '../../../core/src/preferences/node-writer';
import { createImage } from '@byteedit/core';
import { cliReference, compareRgba, describeDiff, SMALL_PACK, type Diff, type Reference, type ReferenceRequest } from '../../../test/reference/cpu-reference';
import { crop, FakePhotoshop, fakeUxp, type FakeDocument, type FakeLayer } from './fake-photoshop';

jest.setTimeout(240_000);

const FIXTURE_PACK = resolve(__dirname, '../../../models/fixtures/tiny-sd-diffusers');

let server: BridgeServer;
let client: BridgeOptions;

beforeAll(async () => {
  server = await startServer({ port: 0, packs: [FIXTURE_PACK], device: 'cpu', configDir: mkdtempSync(join(tmpdir(), 'byteedit-ps-')) });
  // The panel's "Read token file…" flow, with the FAKE uxp file picker handing over bridge.json.
  const file = await readTokenFile(fakeUxp(readFileSync(server.bridgeFile!, 'utf8')));
  expect(file).toEqual({ url: `http://127.0.0.1:${server.port}`, token: server.token });
  client = { baseUrl: file!.url, token: file!.token };
});

afterAll(async () => {
  await server?.close({ mode: 'cancel' });
});

/** The bridge's own result for a candidate (raw rows, as GET /v1/jobs/{id}/results/{n} serves them). */
async function bridgeResult(bridge: BridgeOptions, jobId: string, index: number, part: 'patch' | 'mask'): Promise<{ x: number; y: number; width: number; height: number; data: Uint8Array }> {
  const res = await fetch(`${bridge.baseUrl}/v1/jobs/${jobId}/results/${index}?part=${part}&format=raw`, { headers: { Authorization: `Bearer ${bridge.token}` } });
  expect(res.status).toBe(200);
  const num = (h: string): number => Number(res.headers.get(h));
  return { x: num('X-Region-X'), y: num('X-Region-Y'), width: num('X-Image-Width'), height: num('X-Image-Height'), data: new Uint8Array(await res.arrayBuffer()) };
}

/** A host fetch whose event stream cannot be read (older UXP: no Response.body); logs the URLs. */
const fetchWithoutStreams = (calls: string[]): FetchLike => async (url, init) => {
  calls.push(url);
  const res = await fetch(url, init);
  if (!url.includes('/events')) return res;
  await res.body?.cancel();
  return { ok: res.ok, status: res.status, headers: res.headers, json: () => res.json(), text: () => res.text(), arrayBuffer: () => res.arrayBuffer(), body: null };
};

/**
 * The reference for a selection edit: the CLI on the CPU with the request the panel should have
 * sent (the document's pixels and selection cropped to the context box), candidate by seed.
 */
function contextRequest(doc: FakeDocument, pixels: Uint8Array, context: { left: number; top: number; right: number; bottom: number }, r: Omit<ReferenceRequest, 'image' | 'mask'>): Promise<Reference> {
  const width = context.right - context.left;
  const height = context.bottom - context.top;
  return cliReference({ ...r, image: createImage(width, height, crop(pixels, doc.width, context, 4)), mask: { width, height, data: crop(doc.selectionMask!, doc.width, context, 1) } });
}

/** Bridge (onnxruntime-node CPU) vs the CLI (CPU): measured identical (max 0, mean 0). */
function expectSameAsReference(label: string, d: Diff): void {
  process.stdout.write(`${describeDiff(label, d)}\n`);
  expect(d.max).toBeLessThanOrEqual(1);
  expect(d.mean).toBeLessThanOrEqual(0.05);
}

/**
 * What the user sees of one candidate over `bounds`: the fake's normal-blend composite of the
 * background and that layer through its layer mask (the other candidates hidden).
 */
function shown(doc: FakeDocument, layer: FakeLayer, bounds: { left: number; top: number; right: number; bottom: number }): { width: number; height: number; data: Uint8Array } {
  return { width: bounds.right - bounds.left, height: bounds.bottom - bounds.top, data: crop(doc.composite([doc.layers[0]!, layer]), doc.width, bounds, 4) };
}

/** The layer mask the panel should write: the compositing mask made hard (255 wherever it is > 0). */
const hardened = (mask: Uint8Array): Buffer => Buffer.from(mask.map((v) => (v > 0 ? 255 : 0)));

function documentWithSelection(): { ps: FakePhotoshop; doc: ReturnType<FakePhotoshop['openDocument']> } {
  const ps = new FakePhotoshop();
  const doc = ps.openDocument({ width: 640, height: 540 });
  doc.selectRect({ left: 300, top: 250, right: 332, bottom: 282 }, 3);
  return { ps, doc };
}

it('edits a selection: only the context region goes to the bridge, candidates come back as masked layers at their offsets', async () => {
  const { ps, doc } = documentWithSelection();
  const background = doc.layers[0]!.pixels.slice();
  const before = doc.composite();
  const session = new EditSession(ps, client);
  const fractions: number[] = [];
  const generation = await session.generate({ mode: 'edit', prompt: 'a red ball', candidates: 2, seed: 11, steps: 2, onProgress: (f) => fractions.push(f) });

  // Core's rule: pad 32 around the 32x32 selection, each side grown to 512 around it.
  expect(generation.context).toEqual({ left: 60, top: 10, right: 572, bottom: 522 });
  const job = (await (await fetch(`${server.url}/v1/jobs/${generation.jobId}`, { headers: { Authorization: `Bearer ${server.token}` } })).json()) as { request: { width: number; height: number; mode: string } };
  expect(job.request).toMatchObject({ width: 512, height: 512, mode: 'edit' });
  expect(generation.candidates.map((c) => c.seed).sort()).toEqual([11, 12]);
  expect(fractions.some((f) => f > 0 && f < 1)).toBe(true);
  expect(fractions[fractions.length - 1]).toBe(1);

  // Thumbnails: Photoshop's JPEG encoder (here the fake's jpeg-js) over the raw patch.
  const thumb = await session.thumbnail(generation, generation.candidates[0]!.index);
  expect(thumb).toMatch(/^data:image\/jpeg;base64,/);
  const decoded = decodeJpeg(Buffer.from(thumb.split(',')[1]!, 'base64'));
  expect([decoded.width, decoded.height]).toEqual([generation.candidates[0]!.region.width, generation.candidates[0]!.region.height]);
  expect(ps.callsOf('encodeImageData')).toHaveLength(1);

  const reference = await contextRequest(doc, before, generation.context, { mode: 'edit', prompt: 'a red ball', candidates: 2, seed: 11, steps: 2, pack: FIXTURE_PACK });
  expect(reference.device).toBe('cpu');
  expect(generation.summary.device).toBe('cpu');

  const indices = generation.candidates.map((c) => c.index);
  const applied = await session.apply(generation, indices);
  expect(doc.layers).toHaveLength(3);
  expect(doc.history).toEqual(['byteedit edit (2 layers)']);
  for (const [i, index] of indices.entries()) {
    const c = generation.candidates[i]!;
    const layer = doc.layers[i + 1]!;
    expect(layer.name).toBe(`edit #${i + 1} “a red ball” · seed ${c.seed}`);
    const at = { left: 60 + c.region.x, top: 10 + c.region.y };
    expect(applied.offsets[i]).toEqual(at);
    const bounds = { left: at.left, top: at.top, right: at.left + c.region.width, bottom: at.top + c.region.height };
    const patch = await bridgeResult(client, generation.jobId, index, 'patch');
    const mask = await bridgeResult(client, generation.jobId, index, 'mask');
    // The candidate the session got is the bridge's result, byte for byte, at its region.
    expect([patch.x, patch.y, patch.width, patch.height]).toEqual([c.region.x, c.region.y, c.region.width, c.region.height]);
    expect(Buffer.from(c.patch.data).equals(Buffer.from(patch.data))).toBe(true);
    expect(Buffer.from(c.mask.data).equals(Buffer.from(mask.data))).toBe(true);
    expect(Buffer.from(crop(layer.pixels, doc.width, bounds, 4))).toEqual(Buffer.from(patch.data));
    // The truth: the layer's pixels are the CLI's output for the same request and seed, same place.
    const ref = reference.bySeed(c.seed);
    expect(ref.region).toEqual(c.region);
    expectSameAsReference(`photoshop edit seed ${c.seed} vs CLI`, compareRgba({ width: c.region.width, height: c.region.height, data: crop(layer.pixels, doc.width, bounds, 4) }, ref.patch));
    // And so is what the user sees: the patch already carries the soft edge, so the layer mask
    // must not blend it with the source a second time.
    expect(mask.data.some((v) => v > 0 && v < 255)).toBe(true);
    expectSameAsReference(`photoshop edit seed ${c.seed} composite vs CLI`, compareRgba(shown(doc, layer, bounds), ref.patch));
    expect(Buffer.from(crop(layer.mask!, doc.width, bounds, 1))).toEqual(hardened(mask.data));
    // The compositing mask covers the selection's centre and nothing far outside the context.
    expect(layer.mask![266 * doc.width + 316]).toBeGreaterThan(0);
    expect(bounds.left).toBeGreaterThanOrEqual(60);
    expect(bounds.bottom).toBeLessThanOrEqual(522);
  }
  // Buffer.equals, not toEqual: jest's deep equality over the 1.4 MB document blocks the event
  // loop for seconds, and the next test's first request then meets a kept-alive socket the bridge
  // is closing (ECONNRESET).
  expect(Buffer.from(doc.layers[0]!.pixels).equals(Buffer.from(background))).toBe(true);
});

it('erases without a prompt, following progress by polling when the stream cannot be read', async () => {
  const { ps, doc } = documentWithSelection();
  const calls: string[] = [];
  const bridge = { ...client, fetch: fetchWithoutStreams(calls) };
  const session = new EditSession(ps, bridge, new HttpEngineClient({ ...bridge, pollMs: 100 }));
  const generation = await session.generate({ mode: 'erase', candidates: 1, seed: 3, steps: 2 });
  const job = `${client.baseUrl}/v1/jobs/${generation.jobId}`;
  expect(calls.filter((u) => u.startsWith(job)).map((u) => u.slice(job.length).replace(/\/results\/.*/, '/results'))).toEqual(expect.arrayContaining(['/events', '', '/results']));
  expect(generation.candidates).toHaveLength(1);
  await session.apply(generation, [generation.candidates[0]!.index]);
  expect(doc.layers.map((l) => l.name)).toEqual(['Background', 'erase #1 · seed 3']);
  expect(doc.history).toEqual(['byteedit erase']);
});

it('outpaints: grows the canvas and places the new content on it', async () => {
  const ps = new FakePhotoshop();
  const doc = ps.openDocument({ width: 64, height: 48 });
  const before = doc.composite();
  const session = new EditSession(ps, client);
  const generation = await session.generate({ mode: 'outpaint', expand: { left: 0, top: 0, right: 16, bottom: 0 }, candidates: 1, seed: 5, steps: 2 });
  expect(generation.summary.canvas).toEqual({ width: 80, height: 48 });
  const c = generation.candidates[0]!;
  const applied = await session.apply(generation, [c.index]);
  expect([doc.width, doc.height]).toEqual([80, 48]);
  expect(applied.offsets[0]).toEqual({ left: c.region.x, top: c.region.y });
  expect(Buffer.from(crop(doc.layers[0]!.pixels, 80, { left: 0, top: 0, right: 64, bottom: 48 }, 4))).toEqual(Buffer.from(before));
  expect(doc.history).toEqual(['byteedit outpaint']);
  // The truth: the new layer holds the CLI's outpaint of the whole document, at the same place.
  const reference = await cliReference({ image: createImage(64, 48, before), mode: 'outpaint', expand: { left: 0, top: 0, right: 16, bottom: 0 }, candidates: 1, seed: 5, steps: 2, pack: FIXTURE_PACK });
  const ref = reference.bySeed(c.seed);
  expect(ref.region).toEqual(c.region);
  const bounds = { left: c.region.x, top: c.region.y, right: c.region.x + c.region.width, bottom: c.region.y + c.region.height };
  expectSameAsReference('photoshop outpaint vs CLI', compareRgba({ width: c.region.width, height: c.region.height, data: crop(doc.layers[1]!.pixels, 80, bounds, 4) }, ref.patch));
  expectSameAsReference('photoshop outpaint composite vs CLI', compareRgba(shown(doc, doc.layers[1]!, bounds), ref.patch));
});

it('cancels a running job', async () => {
  const { ps } = documentWithSelection();
  const session = new EditSession(ps, client);
  let asked = false;
  const run = session.generate({
    mode: 'edit',
    candidates: 4,
    steps: 40,
    seed: 1,
    onProgress: (f) => {
      if (f > 0 && !asked) {
        asked = true;
        void session.cancel();
      }
    },
  });
  await expect(run).rejects.toMatchObject({ code: 'cancelled' });
});

it('says how to start the bridge when none is running', async () => {
  const other = await startServer({ port: 0, packs: [FIXTURE_PACK], writeBridgeFile: false });
  const url = other.url;
  await other.close();
  const { ps } = documentWithSelection();
  const err = await new EditSession(ps, { baseUrl: url, token: 'x' }).generate({ mode: 'edit' }).catch((e: unknown) => e);
  expect(errorCode(err)).toBe('network_unavailable');
  expect((err as Error).message).toMatch(/npx byteedit serve/);
});

it('says where the token is when it is wrong', async () => {
  const { ps } = documentWithSelection();
  const err = await new EditSession(ps, { baseUrl: client.baseUrl, token: 'not-the-token' }).generate({ mode: 'edit' }).catch((e: unknown) => e);
  expect(errorCode(err)).toBe('unauthorized');
  expect((err as Error).message).toMatch(/bridge\.json/);
});

it('works with the small default pack (the bridge started without --pack)', async () => {
  const defaultServer = await startServer({ port: 0, writeBridgeFile: false, device: 'cpu' });
  try {
    const { ps, doc } = documentWithSelection();
    const before = doc.composite();
    const bridge = { baseUrl: defaultServer.url, token: defaultServer.token };
    const session = new EditSession(ps, bridge);
    const generation = await session.generate({ mode: 'edit', prompt: 'a red circle', candidates: 1, seed: 2, steps: 4 });
    const c = generation.candidates[0]!;
    const applied = await session.apply(generation, [c.index]);
    const { left, top } = generation.context;
    expect(applied.offsets[0]).toEqual({ left: left + c.region.x, top: top + c.region.y });
    const bounds = { left: left + c.region.x, top: top + c.region.y, right: left + c.region.x + c.region.width, bottom: top + c.region.y + c.region.height };
    expect(Buffer.from(crop(doc.layers[1]!.pixels, doc.width, bounds, 4))).toEqual(Buffer.from((await bridgeResult(bridge, generation.jobId, c.index, 'patch')).data));
    const reference = await contextRequest(doc, before, generation.context, { mode: 'edit', prompt: 'a red circle', candidates: 1, seed: 2, steps: 4, pack: SMALL_PACK });
    const ref = reference.bySeed(c.seed);
    expect(ref.region).toEqual(c.region);
    expectSameAsReference('photoshop edit (small pack) vs CLI', compareRgba({ width: c.region.width, height: c.region.height, data: crop(doc.layers[1]!.pixels, doc.width, bounds, 4) }, ref.patch));
    expectSameAsReference('photoshop edit (small pack) composite vs CLI', compareRgba(shown(doc, doc.layers[1]!, bounds), ref.patch));
  } finally {
    await defaultServer.close({ mode: 'cancel' });
  }
});

it('refuses outpaint without margins before reading any pixels', async () => {
  const ps = new FakePhotoshop();
  ps.openDocument({ width: 64, height: 48 });
  const err = await new EditSession(ps, client).generate({ mode: 'outpaint', expand: { left: 0, top: 0, right: 0, bottom: 0 } }).catch((e: unknown) => e);
  expect(isPanelError(err, 'invalid_input')).toBe(true);
  expect(ps.callsOf('getPixels')).toHaveLength(0);
});

describe('"Keep my choices" (docs/preferences.md)', () => {
  it('records the applied candidate against the other one when ticked, and nothing when not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'byteedit-ps-prefs-'));
    const recording = await startServer({ port: 0, packs: [FIXTURE_PACK], writeBridgeFile: false, recordPreferences: dir });
    try {
      const bridge = { baseUrl: recording.url, token: recording.token };
      expect((await bridgeHealth(bridge)).preferences).toBe(true);
      const { ps, doc } = documentWithSelection();
      const session = new EditSession(ps, bridge);
      const generation = await session.generate({ mode: 'edit', prompt: 'a red ball', candidates: 2, seed: 21, steps: 2 });
      const [best, other] = generation.candidates;
      const unticked = await session.apply(generation, [best!.index]);
      expect(unticked.preference).toBeUndefined();
      expect((await readPreferences(dir)).records).toEqual([]);
      const ticked = await session.apply(generation, [other!.index], { recordPreference: true });
      expect(doc.layers).toHaveLength(3);
      expect(ticked.preference).toEqual({ recorded: 1, message: expect.stringContaining(join(dir, 'preferences.jsonl')) });
      const { records } = await readPreferences(dir);
      expect(records).toEqual([expect.objectContaining({ host: 'photoshop', mode: 'edit', prompt: 'a red ball', pack: { name: 'tiny-sd-diffusers', version: expect.any(String) } })]);
      expect(records[0]!.rejected).toHaveLength(1);
    } finally {
      await recording.close({ mode: 'cancel' });
    }
  });

  it('still adds the layers when the bridge does not record, and says how to turn it on', async () => {
    const { ps, doc } = documentWithSelection();
    const session = new EditSession(ps, client);
    const generation = await session.generate({ mode: 'erase', candidates: 2, seed: 4, steps: 2 });
    const applied = await session.apply(generation, [generation.candidates[0]!.index], { recordPreference: true });
    expect(doc.layers).toHaveLength(2);
    expect(applied.preference).toEqual({ recorded: 0, message: expect.stringMatching(/restart it with "npx byteedit serve --record-preferences FOLDER".*The layers were added/) });
  });
});
