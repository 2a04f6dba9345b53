/**
 * The bridge's HTTP contract, run against every engine implementation (the fake and the core's
 * worker engine): auth, Host check, CORS, limits, malformed input, jobs, SSE order and replay,
 * cancel (queued and running), a crashed worker, retention and shutdown.
 */
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage } from '@byteedit/core';
import { FIXTURE_PACK, IMPLS, buildCli, type BridgeHandle, type BridgeOptions } from './engines';
import { http, pngOf, readSse, rectMaskPng, sleep, testImage, type SseEvent } from './helpers';

jest.setTimeout(60_000);

const W = 64;
const H = 48;
const SEL = { x: 16, y: 12, width: 24, height: 20 };
const IMAGE_PNG = pngOf(testImage(W, H));
const MASK_PNG = rectMaskPng(W, H, SEL);

function jobBody(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ image: IMAGE_PNG.toString('base64'), mask: MASK_PNG.toString('base64'), mode: 'edit', prompt: 'a red ball', steps: 2, candidates: 1, seed: 7, ...extra });
}

describe.each(IMPLS)('bridge contract with the $name', (impl) => {
  type BridgeServer = BridgeHandle;
  let server: BridgeServer;
  let auth: Record<string, string>;
  const servers: BridgeServer[] = [];

  async function start(options: BridgeOptions = {}): Promise<BridgeServer> {
    const s = await impl.start(options);
    servers.push(s);
    return s;
  }

  async function submit(s: BridgeServer, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await http(s.port, '/v1/jobs', { method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' }, body: jobBody(extra) });
    expect(r.status).toBe(202);
    return r.json<{ id: string }>().id;
  }

  function events(s: BridgeServer, id: string, stopAfter?: (e: SseEvent) => boolean, query = ''): Promise<SseEvent[]> {
    return readSse(s.port, `/v1/jobs/${id}/events${query}`, { Authorization: `Bearer ${s.token}` }, stopAfter);
  }

  beforeAll(async () => {
    buildCli();
    server = await start();
    auth = { Authorization: `Bearer ${server.token}` };
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  describe('security', () => {
    it('answers health without a token, and nothing else', async () => {
      const health = await http(server.port, '/v1/health');
      expect(health.status).toBe(200);
      expect(health.json()).toEqual({ status: 'ok', service: 'byteedit-bridge', version: expect.any(String), apiVersion: 1, authenticated: false });
      const full = await http(server.port, '/v1/health', { headers: auth });
      expect(full.json()).toMatchObject({ status: 'ok', authenticated: true, packs: ['tiny-sd-diffusers'] });
      expect(full.body.toString()).not.toContain(server.token);
      for (const path of ['/v1/packs', '/v1/jobs', '/v1/jobs/x', '/v1/jobs/x/events', '/v1/jobs/x/results/0', '/v1/packs/tiny-sd-diffusers/files/pack.json']) {
        const r = await http(server.port, path);
        expect([path, r.status, r.json<{ error: { code: string } }>().error.code]).toEqual([path, 401, 'unauthorized']);
        expect(r.headers['www-authenticate']).toContain('Bearer');
      }
      const post = await http(server.port, '/v1/jobs', { method: 'POST', body: jobBody() });
      expect(post.status).toBe(401);
    });

    it('refuses a wrong token and says where the right one is', async () => {
      const r = await http(server.port, '/v1/packs', { headers: { Authorization: `Bearer ${server.token.slice(1)}x` } });
      expect(r.status).toBe(401);
      expect(r.json<{ error: { message: string } }>().error.message).toContain('bridge.json');
      expect((await http(server.port, '/v1/packs', { headers: auth })).status).toBe(200);
    });

    it('refuses Host headers that are not a loopback name with its port (DNS rebinding)', async () => {
      for (const host of ['evil.example:' + server.port, `127.0.0.1:${server.port + 1}`, '127.0.0.1', 'localhost.evil.example:' + server.port]) {
        const r = await http(server.port, '/v1/health', { headers: { Host: host } });
        expect([host, r.status, r.json<{ error: { code: string } }>().error.code]).toEqual([host, 403, 'forbidden_host']);
      }
      for (const host of [`localhost:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`, `LOCALHOST:${server.port}`]) {
        expect((await http(server.port, '/v1/packs', { headers: { Host: host, ...auth } })).status).toBe(200);
      }
    });

    it('allows CORS only for allowlisted origins, never with "*", and answers preflight for Authorization', async () => {
      const s = await start({ allowOrigins: ['https://plugin.example'] });
      const bad = await http(s.port, '/v1/health', { headers: { Origin: 'https://evil.example' } });
      expect(bad.status).toBe(403);
      expect(bad.json<{ error: { code: string } }>().error.code).toBe('forbidden_origin');
      expect(bad.headers['access-control-allow-origin']).toBeUndefined();
      const badPreflight = await http(s.port, '/v1/jobs', { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
      expect(badPreflight.status).toBe(403);
      for (const origin of ['null', 'https://plugin.example']) {
        const pre = await http(s.port, '/v1/jobs', { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' } });
        expect(pre.status).toBe(204);
        expect(pre.headers['access-control-allow-origin']).toBe(origin);
        expect(String(pre.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
        expect(pre.headers['access-control-allow-methods']).toContain('POST');
        expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
        expect(pre.headers['access-control-allow-private-network']).toBeUndefined();
        // Chromium's Private Network Access preflight (a public page reaching loopback) gets its answer.
        const pna = await http(s.port, '/v1/jobs', { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Private-Network': 'true' } });
        expect(pna.headers['access-control-allow-private-network']).toBe('true');
        const get = await http(s.port, '/v1/packs', { headers: { Origin: origin, Authorization: `Bearer ${s.token}` } });
        expect(get.status).toBe(200);
        expect(get.headers['access-control-allow-origin']).toBe(origin);
        expect(get.headers.vary).toContain('Origin');
        // Errors carry CORS headers too, so the page can read the message.
        const unauth = await http(s.port, '/v1/packs', { headers: { Origin: origin } });
        expect(unauth.status).toBe(401);
        expect(unauth.headers['access-control-allow-origin']).toBe(origin);
      }
    });

    it('writes port, token and pid to a private bridge file', () => {
      const file = server.bridgeFile;
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ port: server.port, token: server.token, pid: server.pid, url: server.url });
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    });
  });

  describe('limits and malformed input', () => {
    async function post(s: BridgeServer, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; code: string; message: string }> {
      const r = await http(s.port, '/v1/jobs', { method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json', ...headers }, body });
      const e = r.json<{ error?: { code: string; message: string } }>().error;
      return { status: r.status, code: e?.code ?? '', message: e?.message ?? '' };
    }

    it('refuses bodies over the cap with 413, declared or streamed', async () => {
      const s = await start({ maxBodyBytes: 4096 });
      expect(await post(s, jobBody())).toMatchObject({ status: 413, code: 'body_too_large' });
      const chunked = await new Promise<number>((resolve, reject) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const req = (require('node:http') as typeof import('node:http')).request(
          { host: '127.0.0.1', port: s.port, path: '/v1/jobs', method: 'POST', headers: { Host: `127.0.0.1:${s.port}`, Authorization: `Bearer ${s.token}`, 'Transfer-Encoding': 'chunked' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 8; i++) req.write(Buffer.alloc(1024, 32));
        req.end();
      });
      expect(chunked).toBe(413);
    });

    it('frees the queue slot of a client that disconnects mid-upload', async () => {
      const s = await start({ maxActiveJobs: 1 });
      await new Promise<void>((resolve) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const req = (require('node:http') as typeof import('node:http')).request({ host: '127.0.0.1', port: s.port, path: '/v1/jobs', method: 'POST', headers: { Host: `127.0.0.1:${s.port}`, Authorization: `Bearer ${s.token}`, 'Content-Length': 100_000 } });
        req.on('error', () => resolve());
        req.write(Buffer.alloc(1000, 32), () => setTimeout(() => req.destroy(), 50));
        req.on('close', () => resolve());
      });
      let active = -1;
      for (let i = 0; i < 100 && active !== 0; i++) {
        active = (await http(s.port, '/v1/health', { headers: { Authorization: `Bearer ${s.token}` } })).json<{ queue: { active: number } }>().queue.active;
        if (active !== 0) await sleep(10);
      }
      expect(active).toBe(0);
      await submit(s);
    });

    it('refuses too many pixels with 422 from the PNG header alone', async () => {
      const s = await start({ maxPixels: 1000 });
      const r = await post(s, jobBody());
      expect(r).toMatchObject({ status: 422, code: 'image_too_large' });
      expect(r.message).toContain('64x48');
      // A header that claims 100000x100000 with no pixel data behind it: refused before decoding.
      const huge = Buffer.from(IMAGE_PNG.subarray(0, 33));
      huge.writeUInt32BE(100_000, 16);
      huge.writeUInt32BE(100_000, 20);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const crc = (require('node:zlib') as { crc32?: (b: Buffer) => number }).crc32;
      if (crc) huge.writeUInt32BE(crc(huge.subarray(12, 29)) >>> 0, 29);
      const r2 = await post(server, JSON.stringify({ image: huge.toString('base64'), mask: huge.toString('base64'), mode: 'edit' }));
      expect(r2.status).toBe(crc ? 422 : 400);
      // The outpaint canvas counts too.
      const r3 = await post(s, jobBody({ image: pngOf(testImage(20, 20)).toString('base64'), mask: undefined, mode: 'outpaint', expand: [30, 0, 30, 0] }));
      expect(r3).toMatchObject({ status: 422, code: 'image_too_large' });
    });

    it('refuses a mask whose size differs from the image with 422', async () => {
      const r = await post(server, jobBody({ mask: rectMaskPng(W, H + 1, SEL).toString('base64') }));
      expect(r).toMatchObject({ status: 422, code: 'mask_size_mismatch' });
      expect(r.message).toContain('64x49');
    });

    it('refuses malformed JSON, bad base64, non-PNG data, a damaged header and undecodable pixels with 400', async () => {
      expect(await post(server, '{"image": ')).toMatchObject({ status: 400, code: 'malformed_request' });
      expect(await post(server, '[1,2]')).toMatchObject({ status: 400, code: 'malformed_request' });
      expect(await post(server, jobBody({ image: '%%%not base64%%%' }))).toMatchObject({ status: 400, code: 'image_unreadable' });
      expect(await post(server, jobBody({ image: Buffer.from('GIF89a not a png at all, just text padding').toString('base64') }))).toMatchObject({ status: 400, code: 'image_unreadable' });
      const badCrc = Buffer.from(IMAGE_PNG);
      badCrc[20] ^= 1;
      const r = await post(server, jobBody({ image: badCrc.toString('base64') }));
      expect(r).toMatchObject({ status: 400, code: 'image_unreadable' });
      expect(r.message).toContain('IHDR');
      const truncated = Buffer.concat([IMAGE_PNG.subarray(0, 40), Buffer.alloc(100, 7)]);
      expect(await post(server, jobBody({ image: truncated.toString('base64') }))).toMatchObject({ status: 400, code: 'image_unreadable' });
    });

    it('refuses invalid parameters with messages that list the valid options', async () => {
      expect(await post(server, jobBody({ mode: 'paint' }))).toMatchObject({ status: 400, code: 'invalid_argument', message: expect.stringContaining('edit, erase, outpaint') });
      expect(await post(server, jobBody({ steps: 0 }))).toMatchObject({ status: 400, code: 'invalid_argument' });
      expect(await post(server, jobBody({ scheduler: 'warp-drive' }))).toMatchObject({ status: 400, message: expect.stringContaining('euler-a') });
      expect(await post(server, jobBody({ colour: 'red' }))).toMatchObject({ status: 400, message: expect.stringContaining('unknown field "colour"') });
      // Names of Object.prototype are unknown fields too, not a 500.
      expect(await post(server, jobBody({ constructor: 'x' }))).toMatchObject({ status: 400, message: expect.stringContaining('unknown field "constructor"') });
      // Limits are core's field table (the same for the CLI): guidance above 30 is refused before any job exists.
      expect(await post(server, jobBody({ guidance: 40 }))).toMatchObject({ status: 400, code: 'invalid_argument', message: expect.stringContaining('guidance must be a number from 0 up to 30') });
      expect(await post(server, jobBody({ mode: 'edit', engine: 'fill' }))).toMatchObject({ status: 422, code: 'mode_unsupported' });
      expect(await post(server, jobBody({ mask: undefined }))).toMatchObject({ status: 400, message: expect.stringContaining('needs a mask') });
      expect(await post(server, jobBody({ mask: rectMaskPng(W, H, { x: 0, y: 0, width: 0, height: 0 }).toString('base64') }))).toMatchObject({ status: 422, code: 'mask_empty' });
      expect(await post(server, jobBody({ pack: '../../etc' }))).toMatchObject({ status: 404, code: 'pack_not_found', message: expect.stringContaining('tiny-sd-diffusers') });
      expect(await post(server, jobBody(), { 'Content-Type': 'text/plain' })).toMatchObject({ status: 415 });
    });

    it('answers unknown paths with 404 and wrong methods with 405, as JSON errors', async () => {
      const r = await http(server.port, '/v2/nothing', { headers: auth });
      expect(r.status).toBe(404);
      expect(r.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
      expect((await http(server.port, '/v1/health', { method: 'POST' })).status).toBe(405);
      expect((await http(server.port, '/v1/jobs/nope', { headers: auth })).json()).toEqual({ error: { code: 'job_not_found', message: expect.stringContaining('resubmit') } });
    });
  });

  describe('jobs', () => {
    it('runs a JSON job: 202, SSE events in order, job state, candidate patches, masks and full images', async () => {
      const id = await submit(server, { candidates: 2 });
      const evs = await events(server, id);
      const types = evs.map((e) => e.event);
      expect(types[types.length - 1]).toBe('finished');
      expect(types.filter((t) => t === 'candidate')).toHaveLength(2);
      expect(types.indexOf('started')).toBeLessThan(types.indexOf('progress'));
      expect(types.lastIndexOf('progress')).toBeLessThan(types.lastIndexOf('candidate'));
      expect(types.filter((t) => t === 'queued').length).toBeLessThanOrEqual(1);
      if (types.includes('queued')) expect(types[0]).toBe('queued');
      // Ids are consecutive, so a client can resume with Last-Event-ID.
      expect(evs.map((e) => Number(e.id))).toEqual(evs.map((_, i) => i + 1));
      const progress = evs.filter((e) => e.event === 'progress').map((e) => e.data.done as number);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));

      const job = (await http(server.port, `/v1/jobs/${id}`, { headers: auth })).json<{ state: string; candidates: { index: number; scores: Record<string, number>; region: { x: number; y: number; width: number; height: number } }[]; summary: { canvas: { width: number; height: number }; sourceOffset: { x: number }; rankScores: number[] }; progress: { fraction: number }; ranking: number[] }>();
      expect(job.state).toBe('finished');
      // Reward scores per candidate and the engine's ranking (best first) reach HTTP clients.
      for (const c of job.candidates) expect(c.scores.coherence).toEqual(expect.any(Number));
      expect(job.summary.rankScores).toHaveLength(2);
      expect(job.summary.rankScores[job.ranking[0]!]!).toBeGreaterThanOrEqual(job.summary.rankScores[job.ranking[1]!]!);
      expect(job.progress.fraction).toBe(1);
      expect(job.candidates.map((c) => c.index).sort()).toEqual([...job.ranking].sort());
      expect(job.summary.canvas).toEqual({ width: W, height: H });
      for (const c of job.candidates) {
        const r = c.region;
        // The region covers the selection and stays on the canvas.
        expect(r.x).toBeLessThanOrEqual(SEL.x);
        expect(r.y).toBeLessThanOrEqual(SEL.y);
        expect(r.x + r.width).toBeGreaterThanOrEqual(SEL.x + SEL.width);
        expect(r.y + r.height).toBeGreaterThanOrEqual(SEL.y + SEL.height);
        expect(r.x + r.width).toBeLessThanOrEqual(W);
        const patch = await http(server.port, `/v1/jobs/${id}/results/${c.index}?part=patch`, { headers: auth });
        expect(patch.status).toBe(200);
        expect(patch.headers['content-type']).toBe('image/png');
        const img = decodeImage(patch.body);
        expect([img.width, img.height]).toEqual([r.width, r.height]);
        expect([patch.headers['x-region-x'], patch.headers['x-region-y']]).toEqual([String(r.x), String(r.y)]);
        const raw = await http(server.port, `/v1/jobs/${id}/results/${c.index}?part=patch&format=raw`, { headers: auth });
        expect(Buffer.compare(raw.body, Buffer.from(img.data))).toBe(0);
        const mask = await http(server.port, `/v1/jobs/${id}/results/${c.index}?part=mask&format=raw`, { headers: auth });
        expect(mask.body.length).toBe(r.width * r.height);
        // The compositing mask covers the selection's centre and leaves far corners of the region alone.
        expect(mask.body[Math.floor(r.height / 2) * r.width + Math.floor(r.width / 2)]).toBeGreaterThan(0);
        const full = decodeImage((await http(server.port, `/v1/jobs/${id}/results/${c.index}?part=full`, { headers: auth })).body);
        expect([full.width, full.height]).toEqual([W, H]);
        // Outside the region the full image is the source, byte for byte.
        const src = testImage(W, H);
        expect(Array.from(full.data.subarray(0, 4))).toEqual(r.x > 0 || r.y > 0 ? Array.from(src.data.subarray(0, 4)) : Array.from(full.data.subarray(0, 4)));
      }
      expect((await http(server.port, `/v1/jobs/${id}/results/9`, { headers: auth })).status).toBe(404);
    });

    it('accepts multipart/form-data with image and mask file parts', async () => {
      const boundary = 'byteeditBoundary42';
      const part = (name: string, value: Buffer | string, file = false): Buffer =>
        Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${name}.png"\r\nContent-Type: image/png` : ''}\r\n\r\n`),
          Buffer.from(value),
          Buffer.from('\r\n'),
        ]);
      const body = Buffer.concat([part('image', IMAGE_PNG, true), part('mask', MASK_PNG, true), part('mode', 'erase'), part('steps', '2'), part('seed', '3'), Buffer.from(`--${boundary}--\r\n`)]);
      const r = await http(server.port, '/v1/jobs', { method: 'POST', headers: { ...auth, 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body });
      expect(r.status).toBe(202);
      const evs = await events(server, r.json<{ id: string }>().id);
      expect(evs[evs.length - 1]!.event).toBe('finished');
      const bad = await http(server.port, '/v1/jobs', { method: 'POST', headers: { ...auth, 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: body.subarray(0, 200) });
      expect(bad.status).toBe(400);
      // Text parts are read like CLI flags, the params part as typed JSON; each field once.
      const form = async (...parts: Buffer[]): Promise<{ status: number; json: <T>() => T }> =>
        http(server.port, '/v1/jobs', { method: 'POST', headers: { ...auth, 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: Buffer.concat([part('image', IMAGE_PNG, true), part('mask', MASK_PNG, true), ...parts, Buffer.from(`--${boundary}--\r\n`)]) });
      const mixed = await form(part('mode', 'erase'), part('params', JSON.stringify({ steps: 2, seed: 3 })), part('rank', 'coherence=1'), part('blend', 'none'));
      expect(mixed.status).toBe(202);
      const mixedId = mixed.json<{ id: string }>().id;
      await events(server, mixedId);
      const job = (await http(server.port, `/v1/jobs/${mixedId}`, { headers: auth })).json<{ state: string; request: Record<string, unknown> }>();
      expect(job.state).toBe('finished');
      expect(job.request).toMatchObject({ mode: 'erase', steps: 2, seed: 3, rank: { coherence: 1 }, blend: 'none' });
      const twice = await form(part('mode', 'erase'), part('steps', '2'), part('params', JSON.stringify({ steps: 3 })));
      expect([twice.status, twice.json<{ error: { message: string } }>().error.message]).toEqual([400, expect.stringContaining('"steps" is given twice')]);
      const textInJson = await form(part('mode', 'erase'), part('params', JSON.stringify({ steps: '2' })));
      expect([textInJson.status, textInJson.json<{ error: { code: string } }>().error.code]).toEqual([400, 'invalid_argument']);
    });

    it('replays past events to late subscribers and resumes after Last-Event-ID', async () => {
      const id = await submit(server);
      const live = await events(server, id);
      const late = await events(server, id);
      expect(late.map((e) => [e.id, e.event])).toEqual(live.map((e) => [e.id, e.event]));
      const resumed = await readSse(server.port, `/v1/jobs/${id}/events`, { ...auth, 'Last-Event-ID': '2' });
      expect(resumed.map((e) => e.id)).toEqual(live.slice(2).map((e) => e.id));
      // EventSource cannot send headers: the token may come as a query parameter on this endpoint.
      expect((await readSse(server.port, `/v1/jobs/${id}/events?token=${encodeURIComponent(server.token)}`, {})).length).toBe(live.length);
    });

    it('streams previews only to subscribers that ask, live and never in the replay', async () => {
      const id = await submit(server, { steps: 4, previewEvery: 1 });
      const [withPreviews, without] = await Promise.all([events(server, id, undefined, '?previews=1'), events(server, id)]);
      const previews = withPreviews.filter((e) => e.event === 'preview');
      expect(previews.length).toBeGreaterThan(0);
      const img = decodeImage(Buffer.from(previews[0]!.data.png as string, 'base64'));
      expect([img.width, img.height]).toEqual([previews[0]!.data.width, previews[0]!.data.height]);
      expect(without.map((e) => e.event)).not.toContain('preview');
      expect(without[without.length - 1]!.event).toBe('finished');
      const replay = await events(server, id, undefined, '?previews=1');
      expect(replay.map((e) => e.event)).not.toContain('preview');
    });

    it('cancels a queued job and a running job; the queue goes on', async () => {
      const running = await submit(server, { ...impl.longJob });
      const queued = await submit(server);
      const firstProgress = events(server, running, (e) => e.event === 'progress');
      const del = await http(server.port, `/v1/jobs/${queued}`, { method: 'DELETE', headers: auth });
      expect(del.status).toBe(202);
      const queuedEvents = await events(server, queued);
      expect(queuedEvents[queuedEvents.length - 1]!.event).toBe('cancelled');
      expect(queuedEvents.map((e) => e.event)).not.toContain('started');
      await firstProgress;
      expect((await http(server.port, `/v1/jobs/${running}`, { method: 'DELETE', headers: auth })).status).toBe(202);
      const runningEvents = await events(server, running);
      expect(runningEvents[runningEvents.length - 1]!.event).toBe('cancelled');
      expect(runningEvents.map((e) => e.event)).not.toContain('finished');
      const state = (await http(server.port, `/v1/jobs/${running}`, { headers: auth })).json<{ state: string }>();
      expect(state.state).toBe('cancelled');
      // Cancelling a finished job is a no-op that says so.
      const again = await http(server.port, `/v1/jobs/${running}`, { method: 'DELETE', headers: auth });
      expect([again.status, again.json<{ cancelRequested: boolean }>().cancelRequested]).toEqual([200, false]);
      const next = await submit(server);
      const nextEvents = await events(server, next);
      expect(nextEvents[nextEvents.length - 1]!.event).toBe('finished');
    });

    it('cancels a running job when its event stream closes with cancelOnDisconnect=1 (a host that died)', async () => {
      const id = await submit(server, { ...impl.longJob });
      await events(server, id, (e) => e.event === 'progress', '?cancelOnDisconnect=1');
      const after = await events(server, id);
      expect(after[after.length - 1]!.event).toBe('cancelled');
    });

    it('fails a job whose worker crashes with worker_crashed, and runs the next job', async () => {
      const crash = await submit(server, { prompt: '__byteedit_crash__', ...impl.longJob });
      const next = await submit(server);
      const crashEvents = await events(server, crash);
      const last = crashEvents[crashEvents.length - 1]!;
      expect(last.event).toBe('error');
      expect((last.data.error as { code: string }).code).toBe('worker_crashed');
      const nextEvents = await events(server, next);
      expect(nextEvents[nextEvents.length - 1]!.event).toBe('finished');
      expect((await http(server.port, '/v1/health')).status).toBe(200);
    });

    it('refuses submissions beyond the queue limit with 429 and Retry-After', async () => {
      const s = await start({ maxActiveJobs: 2 });
      const a = await submit(s, { ...impl.longJob });
      const b = await submit(s);
      const r = await http(s.port, '/v1/jobs', { method: 'POST', headers: { Authorization: `Bearer ${s.token}` }, body: jobBody() });
      expect(r.status).toBe(429);
      expect(r.headers['retry-after']).toBeDefined();
      expect(r.json<{ error: { code: string } }>().error.code).toBe('queue_full');
      for (const id of [a, b]) await http(s.port, `/v1/jobs/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${s.token}` } });
      for (const id of [a, b]) await readSse(s.port, `/v1/jobs/${id}/events`, { Authorization: `Bearer ${s.token}` });
      await submit(s);
    });

    it('forgets finished jobs after the retention time', async () => {
      const s = await start({ resultTtlMs: 1 });
      const id = await submit(s);
      const a = await submit(s);
      await readSse(s.port, `/v1/jobs/${a}/events`, { Authorization: `Bearer ${s.token}` }).catch(() => []);
      await sleep(20);
      // Each terminal event sweeps; the first job ended before the second, so it is gone.
      const r = await http(s.port, `/v1/jobs/${id}`, { headers: { Authorization: `Bearer ${s.token}` } });
      expect(r.status).toBe(404);
      expect((await s.stats()).jobs).toBeLessThanOrEqual(1);
    });
  });

  describe('packs', () => {
    it('lists packs and serves pack files read-only, confined to the pack folder', async () => {
      const list = (await http(server.port, '/v1/packs', { headers: auth })).json<{ packs: { name: string; default: boolean }[] }>();
      expect(list.packs).toEqual([expect.objectContaining({ name: 'tiny-sd-diffusers', default: true })]);
      const file = await http(server.port, '/v1/packs/tiny-sd-diffusers/files/pack.json', { headers: { ...auth, Origin: 'null' } });
      expect(file.status).toBe(200);
      expect(file.headers['access-control-allow-origin']).toBe('null');
      expect(file.body.equals(readFileSync(join(FIXTURE_PACK, 'pack.json')))).toBe(true);
      const range = await http(server.port, '/v1/packs/tiny-sd-diffusers/files/unet/model.onnx', { headers: { ...auth, Range: 'bytes=0-9' } });
      expect([range.status, range.body.length]).toEqual([206, 10]);
      for (const path of ['..%2F..%2Fpackage.json', '../../package.json', '%2e%2e/pack.json', 'unet/../../tiny-sd-legacy/pack.json', '.hidden']) {
        const r = await http(server.port, `/v1/packs/tiny-sd-diffusers/files/${path}`, { headers: auth });
        expect([path, r.status]).toEqual([path, 404]);
      }
      expect((await http(server.port, '/v1/packs/tiny-sd-diffusers/files/pack.json', { method: 'DELETE', headers: auth })).status).toBe(405);
    });
  });

  describe('shutdown', () => {
    it('drains the running job, cancels queued ones, refuses new work with 503, removes its file', async () => {
      const s = await start();
      const a = { Authorization: `Bearer ${s.token}` };
      const running = await submit(s, { ...impl.longJob });
      const queued = await submit(s);
      const runningEvents = readSse(s.port, `/v1/jobs/${running}/events`, a);
      const queuedEvents = readSse(s.port, `/v1/jobs/${queued}/events`, a);
      await events(s, running, (e) => e.event === 'progress');
      const closing = s.close();
      // The signal (child process) or close() (in-process) takes effect asynchronously.
      let health = '';
      for (let i = 0; i < 200 && health !== 'shutting_down'; i++) {
        health = (await http(s.port, '/v1/health')).json<{ status: string }>().status;
        if (health !== 'shutting_down') await sleep(10);
      }
      expect(health).toBe('shutting_down');
      const refused = await http(s.port, '/v1/jobs', { method: 'POST', headers: a, body: jobBody() });
      expect([refused.status, refused.json<{ error: { code: string } }>().error.code]).toEqual([503, 'shutting_down']);
      expect(await closing).toBe(0);
      const q = await queuedEvents;
      expect(q[q.length - 1]!.event).toBe('cancelled');
      // Drained: the running job was allowed to finish.
      const r = await runningEvents;
      expect(r[r.length - 1]!.event).toBe('finished');
      expect(existsSync(s.bridgeFile)).toBe(false);
      await expect(http(s.port, '/v1/health')).rejects.toThrow();
    });
  });
});
