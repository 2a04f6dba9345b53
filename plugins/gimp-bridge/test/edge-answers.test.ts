/**
 * Edge answers (issue 17, item 7): client mistakes and dead ends get a 4xx that says what to do,
 * never a 500 and never a "wait" that can not end. Fake engine, in-process server, loopback.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE_PACK, fakeImpl, type BridgeHandle } from './engines';
import { http, pngOf, readSse, rectMaskPng, testImage } from './helpers';

describe('bridge edge answers', () => {
  let server: BridgeHandle;
  let auth: Record<string, string>;

  beforeAll(async () => {
    server = await fakeImpl.start();
    auth = { Authorization: `Bearer ${server.token}` };
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers a malformed percent-escape in a pack-file path with 400, not 500', async () => {
    for (const path of ['/v1/packs/tiny-sd-diffusers/files/%E0%A4%A', '/v1/packs/tiny-sd-diffusers/files/unet/%zz.onnx', '/v1/packs/%E0%A4%A/files/pack.json']) {
      const r = await http(server.port, path, { headers: auth });
      expect([path, r.status, r.json<{ error: { code: string } }>().error.code]).toEqual([path, 400, 'malformed_request']);
      expect(r.json<{ error: { message: string } }>().error.message).toContain('percent-escape');
    }
  });

  it('reads a path that starts with // as a path on this bridge, not as another host (was 500 Invalid URL, found by the fuzzer)', async () => {
    for (const path of ['//', '//%25', '//evil.example/v1/health']) {
      const r = await http(server.port, path, { headers: auth });
      expect([path, r.status, r.json<{ error: { code: string } }>().error.code]).toEqual([path, 404, 'not_found']);
    }
  });

  it('says how large the file is on 416 (Content-Range: bytes */size)', async () => {
    const size = statSync(join(FIXTURE_PACK, 'pack.json')).size;
    for (const range of [`bytes=${size + 10}-`, 'bytes=abc', 'items=0-1']) {
      const r = await http(server.port, '/v1/packs/tiny-sd-diffusers/files/pack.json', { headers: { ...auth, Range: range } });
      expect([range, r.status, r.headers['content-range']]).toEqual([range, 416, `bytes */${size}`]);
    }
  });

  it('answers part=full on a cancelled job with a terminal 410, not "wait for finished"', async () => {
    const body = JSON.stringify({ image: pngOf(testImage(64, 48)).toString('base64'), mask: rectMaskPng(64, 48, { x: 8, y: 8, width: 16, height: 16 }).toString('base64'), mode: 'edit', steps: 10, candidates: 4 });
    const submitted = await http(server.port, '/v1/jobs', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body });
    expect(submitted.status).toBe(202);
    const id = submitted.json<{ id: string }>().id;
    await readSse(server.port, `/v1/jobs/${id}/events`, auth, (e) => e.event === 'candidate');
    expect((await http(server.port, `/v1/jobs/${id}`, { method: 'DELETE', headers: auth })).status).toBe(202);
    const evs = await readSse(server.port, `/v1/jobs/${id}/events`, auth);
    expect(evs[evs.length - 1]!.event).toBe('cancelled');
    const full = await http(server.port, `/v1/jobs/${id}/results/0?part=full`, { headers: auth });
    expect([full.status, full.json<{ error: { code: string } }>().error.code]).toEqual([410, 'result_gone']);
    expect(full.json<{ error: { message: string } }>().error.message).toMatch(/cancelled.*part=patch/);
    // The candidate it did make is still there.
    expect((await http(server.port, `/v1/jobs/${id}/results/0?part=patch`, { headers: auth })).status).toBe(200);
  });

  it('tells a caller with an Authorization header of another scheme that a Bearer token is needed', async () => {
    const r = await http(server.port, '/v1/packs', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
    expect(r.status).toBe(401);
    const message = r.json<{ error: { message: string } }>().error.message;
    expect(message).not.toMatch(/missing/i);
    expect(message).toContain('Bearer <token>');
    expect(message).toContain('Basic');
  });
});
