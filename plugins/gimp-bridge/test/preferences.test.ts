/**
 * Preference recording through the bridge (docs/preferences.md), over real loopback HTTP: off by
 * default (409 preferences_off), `POST /v1/jobs/{id}/choice` writing a record from what the bridge
 * holds (fake engine in-process, then the real `byteedit serve` child with the fixture pack), and
 * `POST /v1/preferences` for hosts that ran the job themselves.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cropImage, decodeImage, rect, type CanvasSpace } from '@byteedit/core';
import { PreferenceWriter, readPreferences } from '../../../core/src/preferences/node-writer';
import { parseServeArgs } from '../src/cli';
import { startServer, type BridgeServer } from '../src/server';
import { FakeEngine } from './fake-engine';
import { FIXTURE_PACK, buildCli, startChildBridge, type ChildBridge } from './engines';
import { http, pngOf, rectMaskPng, sleep, testImage } from './helpers';

jest.setTimeout(90_000);

const W = 64;
const H = 48;
const SEL = { x: 16, y: 12, width: 24, height: 20 };
const IMAGE = testImage(W, H);

interface Started {
  server: BridgeServer;
  engine: FakeEngine;
  dir: string;
}
const started: Started[] = [];

async function start(record: boolean): Promise<Started> {
  const engine = new FakeEngine({ stepMs: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'byteedit-prefs-bridge-'));
  const server = await startServer({ engine, port: 0, packs: [FIXTURE_PACK], configDir: dir, recordPreferences: record ? join(dir, 'prefs') : undefined });
  const s = { server, engine, dir };
  started.push(s);
  return s;
}

afterAll(async () => {
  for (const s of started) await s.server.close();
});

const auth = (s: BridgeServer): Record<string, string> => ({ Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' });

async function submit(port: number, headers: Record<string, string>, extra: Record<string, unknown> = {}): Promise<string> {
  const body = JSON.stringify({ image: pngOf(IMAGE).toString('base64'), mask: rectMaskPng(W, H, SEL).toString('base64'), mode: 'edit', prompt: 'a red ball', steps: 2, candidates: 3, seed: 7, ...extra });
  const r = await http(port, '/v1/jobs', { method: 'POST', headers, body });
  expect(r.status).toBe(202);
  return r.json<{ id: string }>().id;
}

async function finished(port: number, headers: Record<string, string>, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const job = (await http(port, `/v1/jobs/${id}`, { headers })).json<Record<string, unknown>>();
    if (job.state === 'finished') return job;
    if (job.state === 'error' || job.state === 'cancelled') throw new Error(`job ${id} ended ${String(job.state)}`);
    await sleep(20);
  }
}

async function choose(port: number, headers: Record<string, string>, id: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await http(port, `/v1/jobs/${id}/choice`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: r.status, json: r.json() };
}

describe('preferences off (the default)', () => {
  it('says so in health and answers the choice with how to turn recording on', async () => {
    const { server } = await start(false);
    expect((await http(server.port, '/v1/health', { headers: auth(server) })).json()).toMatchObject({ preferences: false });
    const id = await submit(server.port, auth(server));
    await finished(server.port, auth(server), id);
    const r = await choose(server.port, auth(server), id, { chosen: 1, host: 'gimp' });
    expect(r.status).toBe(409);
    expect(r.json.error).toEqual({ code: 'preferences_off', message: expect.stringContaining('--record-preferences DIR') });
    expect(server.preferencesFile).toBeNull();
  });
});

describe('POST /v1/jobs/{id}/choice', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start(true);
  });

  it('records the applied candidate against the others, with the crop, mask and prompt the bridge holds', async () => {
    const { server } = s;
    expect((await http(server.port, '/v1/health', { headers: auth(server) })).json()).toMatchObject({ preferences: true });
    const id = await submit(server.port, auth(server));
    const job = await finished(server.port, auth(server), id);
    const r = await choose(server.port, auth(server), id, { chosen: 1, host: 'photoshop' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ recorded: 1, file: server.preferencesFile });
    const { records, skipped } = await readPreferences(join(s.dir, 'prefs'));
    expect(skipped).toEqual([]);
    expect(records).toHaveLength(1);
    const rec = records[0]!;
    expect(rec).toMatchObject({ schema: 'byteedit.preference/1', host: 'photoshop', mode: 'edit', prompt: 'a red ball', pack: { name: 'fake', version: '0' } });
    expect(rec.rejected).toHaveLength(2);
    // The crop: the selection padded by half its longer side (12 px, at least 16), clamped.
    const crop = rect<CanvasSpace>(0, 0, 56, 48);
    const read = (p: string) => decodeImage(readFileSync(join(s.dir, 'prefs', p)));
    expect(Buffer.from(read(rec.image).data)).toEqual(Buffer.from(cropImage(IMAGE, crop).data));
    // Each candidate picture is what the user would have got: the full result, cropped.
    const full = async (n: number) => decodeImage((await http(server.port, `/v1/jobs/${id}/results/${n}?part=full`, { headers: auth(server) })).body);
    expect(Buffer.from(read(rec.chosen).data)).toEqual(Buffer.from(cropImage(await full(1), crop).data));
    const ranking = job.ranking as number[];
    const others = ranking.filter((i) => i !== 1);
    for (const [i, n] of others.entries()) expect(Buffer.from(read(rec.rejected[i]!).data)).toEqual(Buffer.from(cropImage(await full(n), crop).data));
    const mask = read(rec.mask);
    expect(mask.data[((SEL.y + 1) * 56 + SEL.x + 1) * 4]).toBe(255);
    expect(mask.data[0]).toBe(0);
    // Applying the same candidate again records nothing new.
    const again = await choose(server.port, auth(server), id, { chosen: 1, host: 'photoshop' });
    expect(again).toMatchObject({ status: 200, json: { recorded: 0, reason: 'this choice is already recorded' } });
  });

  it('records nothing when there was no choice: one candidate, or every candidate applied', async () => {
    const { server } = s;
    const one = await submit(server.port, auth(server), { candidates: 1 });
    await finished(server.port, auth(server), one);
    expect((await choose(server.port, auth(server), one, { chosen: 0 })).json).toMatchObject({ recorded: 0, reason: expect.stringMatching(/one candidate/) });
    const all = await submit(server.port, auth(server), { candidates: 2 });
    await finished(server.port, auth(server), all);
    expect((await choose(server.port, auth(server), all, { chosen: [0, 1] })).json).toMatchObject({ recorded: 0, reason: expect.stringMatching(/every candidate was applied/) });
  });

  it('refuses bad choices with messages that say what to send', async () => {
    const { server } = s;
    const id = await submit(server.port, auth(server));
    const early = await choose(server.port, auth(server), id, { chosen: 0 });
    if (early.status === 409) expect(early.json.error).toMatchObject({ code: 'result_not_ready' });
    await finished(server.port, auth(server), id);
    const cases: [unknown, number, RegExp][] = [
      [{ chosen: 7 }, 400, /candidate 7 is not part of this job; its candidates are 0, 1, 2/],
      [{ chosen: 'best' }, 400, /chosen must be the index of the applied candidate/],
      [{ chosen: 0, host: 'Krita!' }, 400, /host: a host id is lower-case letters, digits and dashes/],
      [{ chosen: 0, extra: 1 }, 400, /unknown field "extra"/],
    ];
    for (const [body, status, message] of cases) {
      const r = await choose(server.port, auth(server), id, body);
      expect([r.status, (r.json.error as { message: string }).message]).toEqual([status, expect.stringMatching(message)]);
    }
    const unknown = await choose(server.port, auth(server), 'no-such-job', { chosen: 0 });
    expect(unknown.status).toBe(404);
    const noToken = await http(server.port, `/v1/jobs/${id}/choice`, { method: 'POST', body: '{"chosen":0}' });
    expect(noToken.status).toBe(401);
  });
});

describe('POST /v1/preferences (a host that ran the job itself)', () => {
  const solid = (v: number) => pngOf({ width: 8, height: 6, data: new Uint8ClampedArray(8 * 6 * 4).fill(v) }).toString('base64');
  const body = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ host: 'figma', mode: 'erase', prompt: '', pack: { name: 'byteedit-small', version: '0.2.0' }, image: solid(10), mask: solid(255), chosen: solid(100), rejected: [solid(200)], ...extra });

  it('writes the record it is given', async () => {
    const s = await start(true);
    const r = await http(s.server.port, '/v1/preferences', { method: 'POST', headers: auth(s.server), body: body() });
    expect(r.status).toBe(200);
    const { records } = await readPreferences(join(s.dir, 'prefs'));
    expect(records).toEqual([expect.objectContaining({ host: 'figma', mode: 'erase', prompt: '', pack: { name: 'byteedit-small', version: '0.2.0' } })]);
  });

  it('refuses pictures of different sizes, saying which', async () => {
    const s = await start(true);
    const other = pngOf({ width: 9, height: 6, data: new Uint8ClampedArray(9 * 6 * 4).fill(1) }).toString('base64');
    const r = await http(s.server.port, '/v1/preferences', { method: 'POST', headers: auth(s.server), body: body({ rejected: [other] }) });
    expect(r.status).toBe(400);
    expect(r.json<{ error: { message: string } }>().error.message).toMatch(/rejected\[0\] is 9x6 but image is 8x6/);
    const off = await start(false);
    expect((await http(off.server.port, '/v1/preferences', { method: 'POST', headers: auth(off.server), body: body() })).status).toBe(409);
  });
});

describe('byteedit serve --record-preferences', () => {
  it('parses the flag and refuses it without a folder', () => {
    expect(parseServeArgs(['serve', '--record-preferences', '/tmp/p']).recordPreferences).toBe('/tmp/p');
    expect(parseServeArgs(['--record-preferences=/tmp/q']).recordPreferences).toBe('/tmp/q');
    expect(() => parseServeArgs(['--record-preferences'])).toThrow(/--record-preferences needs a value/);
    expect(() => parseServeArgs(['--record-preferences', '--port'])).toThrow(/needs the folder to keep the records in/);
  });

  it('records a choice on real candidates (core worker engine, fixture pack), next to records of another writer', async () => {
    buildCli();
    const dir = mkdtempSync(join(tmpdir(), 'byteedit-prefs-child-'));
    // Another process (here: a direct writer) already appends to the same folder.
    const img = testImage(8, 8);
    await new PreferenceWriter(dir).write({ host: 'cli', mode: 'edit', prompt: 'x', pack: { name: 'p', version: '1' }, image: img, mask: { width: 8, height: 8, data: new Uint8Array(64).fill(255), bounds: null }, chosen: img, rejected: [testImage(8, 8)] });
    let bridge: ChildBridge | null = null;
    try {
      bridge = await startChildBridge(['--record-preferences', dir]);
      expect(bridge.output()).toContain(`recording the candidates you apply in ${join(dir, 'preferences.jsonl')}`);
      const headers = { Authorization: `Bearer ${bridge.token}`, 'Content-Type': 'application/json' };
      const id = await submit(bridge.port, headers, { candidates: 2 });
      await finished(bridge.port, headers, id);
      const r = await choose(bridge.port, headers, id, { chosen: 0, host: 'gimp' });
      expect(r).toMatchObject({ status: 200, json: { recorded: 1 } });
      const { records, skipped } = await readPreferences(dir);
      expect(skipped).toEqual([]);
      expect(records.map((x) => x.host)).toEqual(['cli', 'gimp']);
      const rec = records[1]!;
      expect(rec.pack.name).toBe('tiny-sd-diffusers');
      const sizes = [rec.image, rec.mask, rec.chosen, ...rec.rejected].map((p) => {
        const d = decodeImage(readFileSync(join(dir, p)));
        return `${d.width}x${d.height}`;
      });
      expect(new Set(sizes).size).toBe(1);
      expect(rec.chosen).not.toBe(rec.rejected[0]);
    } finally {
      await bridge?.close();
    }
  });
});
