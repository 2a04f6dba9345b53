/**
 * HttpEngineClient against a FAKE bridge (http-fake-bridge.ts, an injected fetch): the wire rebuilt
 * into the same JobEvents a local engine gives (candidates with pixels, previews decoded), a dropped
 * stream resumed with Last-Event-ID, the polling fallback where the fetch cannot stream, cancel and
 * dispose, and every failure as the typed SdkError it was on the bridge.
 */
import { encodePng } from '../src/image/codecs';
import { createImage, createMask } from '../src/image/image';
import { SdkError, type ErrorCode } from '../src/protocol/errors';
import type { EditRequest, JobEvent, JobHandle, JobSummary } from '../src/protocol/events';
import { bridgeHealth, encodeBase64, HttpEngineClient, listPacks, type FetchLike, type FetchResponse } from '../src/http/index';
import { decodeBase64 } from '../src/http/base64';
import { FakeBridge, type FakeJob } from './http-fake-bridge';

const REGION = { x: 2, y: 3, width: 4, height: 5 };
const SUMMARY = { jobId: 'set per job', canvas: { width: 16, height: 12 }, sourceOffset: { x: 0, y: 0 }, seeds: [7], ranking: [0] } as unknown as JobSummary;

function request(over: Partial<EditRequest> = {}): EditRequest {
  const mask = new Uint8Array(16 * 12);
  mask.fill(255, 40, 60);
  return { image: createImage(16, 12, new Uint8Array(16 * 12 * 4).fill(90)), mask: createMask(16, 12, mask), mode: 'edit', prompt: 'a boat', steps: 2, candidates: 1, seed: 7, ...over };
}

/** A job that runs to the end as soon as it is submitted: started, two steps, one candidate, finished. */
function scriptWholeJob(bridge: FakeBridge): void {
  bridge.onSubmit = (job: FakeJob) => {
    bridge.emit(job.id, 'started', { device: 'cpu', candidates: 1, steps: 2 });
    bridge.emit(job.id, 'progress', { candidate: 0, step: 1, total: 2, done: 1, of: 2 });
    bridge.emit(job.id, 'progress', { candidate: 0, step: 2, total: 2, done: 2, of: 2 });
    bridge.candidate(job.id, 0, REGION);
    bridge.emit(job.id, 'finished', { summary: { ...SUMMARY, jobId: job.id } });
  };
}

async function all(handle: JobHandle): Promise<JobEvent[]> {
  const out: JobEvent[] = [];
  for await (const e of handle.events) out.push(e);
  return out;
}

const types = (events: JobEvent[]): string[] => events.map((e) => e.type);

async function rejection(p: Promise<unknown>): Promise<SdkError> {
  const r = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(r instanceof SdkError)) throw new Error(`expected an SdkError, got ${String(r)}`);
  return r;
}

describe('HttpEngineClient over a fake bridge', () => {
  let bridge: FakeBridge;
  let engine: HttpEngineClient;

  beforeEach(() => {
    bridge = new FakeBridge();
    engine = new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7860/', token: bridge.token, fetch: bridge.fetch, reconnectDelayMs: 1 });
  });

  afterEach(async () => {
    await engine.dispose();
  });

  it('submits the request fields as JSON with the pixels as base64 PNGs, and the token', async () => {
    scriptWholeJob(bridge);
    const r = request({ rank: { coherence: 1 }, blend: 'poisson' });
    await (await engine.submit(r)).done;
    const post = bridge.requests.find((x) => x.method === 'POST')!;
    expect(post.path).toBe('/v1/jobs');
    expect(post.headers).toMatchObject({ Authorization: `Bearer ${bridge.token}`, 'Content-Type': 'application/json' });
    const body = JSON.parse(post.body!) as Record<string, unknown>;
    expect(body).toEqual({ mode: 'edit', prompt: 'a boat', steps: 2, candidates: 1, seed: 7, rank: { coherence: 1 }, blend: 'poisson', image: expect.any(String), mask: expect.any(String) });
    expect(Buffer.from(decodeBase64(body.image as string))).toEqual(Buffer.from(encodePng(r.image)));
  });

  it('rebuilds the events a local engine gives: candidates carry their patch and mask, done has the summary', async () => {
    scriptWholeJob(bridge);
    const handle = await engine.submit(request());
    const events = await all(handle);
    expect(types(events)).toEqual(['queued', 'started', 'progress', 'progress', 'candidate', 'finished']);
    expect(events.every((e) => e.jobId === handle.id)).toBe(true);
    expect(events[0]).toEqual({ type: 'queued', jobId: handle.id, position: 0 });
    expect(events[1]).toEqual({ type: 'started', jobId: handle.id, device: 'cpu', candidates: 1, steps: 2 });
    expect(events[3]).toEqual({ type: 'progress', jobId: handle.id, candidate: 0, step: 2, total: 2, done: 2, of: 2 });
    const c = events[4]!.type === 'candidate' ? events[4]!.candidate : null;
    const { patch, mask } = bridge.jobs.get(handle.id)!.results.get(0)!;
    expect(c).toEqual({ index: 0, seed: 7, region: REGION, patch: { width: 4, height: 5, data: new Uint8ClampedArray(patch) }, mask: { width: 4, height: 5, data: mask, bounds: { x: 0, y: 0, width: 4, height: 5 } }, scores: { coherence: 0.5 } });
    await expect(handle.done).resolves.toEqual({ ...SUMMARY, jobId: handle.id });
    // Raw rows, so the host decodes no PNG.
    expect(bridge.requests.filter((r) => r.path.includes('/results/')).map((r) => r.path).sort()).toEqual([`/v1/jobs/${handle.id}/results/0?part=mask&format=raw`, `/v1/jobs/${handle.id}/results/0?part=patch&format=raw`]);
  });

  it('reads the stream cut into 3-byte chunks the same way', async () => {
    bridge.stream.chunkBytes = 3;
    scriptWholeJob(bridge);
    expect(types(await all(await engine.submit(request())))).toEqual(['queued', 'started', 'progress', 'progress', 'candidate', 'finished']);
  });

  it('resumes a dropped stream with Last-Event-ID: nothing missed, nothing twice', async () => {
    bridge.stream.dropAfter = 3;
    scriptWholeJob(bridge);
    const handle = await engine.submit(request());
    expect(types(await all(handle))).toEqual(['queued', 'started', 'progress', 'progress', 'candidate', 'finished']);
    const streams = bridge.requests.filter((r) => r.path.includes('/events'));
    expect(streams.map((r) => r.headers['Last-Event-ID'])).toEqual([undefined, '3']);
  });

  it('fetches a candidate again after a reconnect when its pixels failed to arrive', async () => {
    scriptWholeJob(bridge);
    let failures = 1;
    bridge.override = (r) => (r.path.includes('part=mask') && failures-- > 0 ? (() => { throw new TypeError('fetch failed'); })() : null);
    const handle = await engine.submit(request());
    const events = await all(handle);
    expect(types(events)).toEqual(['queued', 'started', 'progress', 'progress', 'candidate', 'finished']);
    expect(bridge.requests.filter((r) => r.path.includes('/events')).map((r) => r.headers['Last-Event-ID'])).toEqual([undefined, '4']);
  });

  it('polls GET /v1/jobs/{id} when the fetch gives no readable body, and ends the same way', async () => {
    bridge.stream.noBody = true;
    engine = new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7860', token: bridge.token, fetch: bridge.fetch, pollMs: 5 });
    scriptWholeJob(bridge);
    const handle = await engine.submit(request());
    const events = await all(handle);
    // Polling sees the latest progress only, and `started` with it.
    expect(types(events)).toEqual(['queued', 'started', 'progress', 'candidate', 'finished']);
    expect(events[1]).toEqual({ type: 'started', jobId: handle.id, device: 'cpu', candidates: 1, steps: 2 });
    expect(events[3]).toMatchObject({ candidate: { index: 0, region: REGION } });
    await expect(handle.done).resolves.toMatchObject({ jobId: handle.id });
  });

  it('decodes preview events, and asks for them only when the request does', async () => {
    const image = createImage(3, 2, Uint8Array.from({ length: 24 }, (_, i) => i * 10));
    bridge.onSubmit = (job) => {
      setTimeout(() => {
        bridge.emit(job.id, 'started', { device: 'cpu', candidates: 1, steps: 2 });
        bridge.preview(job.id, { candidate: 0, step: 1, width: 3, height: 2, png: encodeBase64(encodePng(image)) });
        bridge.emit(job.id, 'finished', { summary: { ...SUMMARY, jobId: job.id } });
      }, 20);
    };
    const events = await all(await engine.submit(request({ previewEvery: 1 })));
    bridge.onSubmit = () => undefined;
    expect(events.find((e) => e.type === 'preview')).toEqual({ type: 'preview', jobId: expect.any(String), candidate: 0, step: 1, image });
    expect(bridge.requests.find((r) => r.path.includes('/events'))!.path).toMatch(/previews=1/);
    expect(JSON.parse(bridge.requests.find((r) => r.method === 'POST')!.body!)).toMatchObject({ previewEvery: 1 });

    await (await engine.submit(request())).cancel();
    const quiet = new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7860', token: bridge.token, fetch: bridge.fetch, previews: false });
    await (await quiet.submit(request({ previewEvery: 1 }))).cancel();
    expect(JSON.parse(bridge.requests.filter((r) => r.method === 'POST').pop()!.body!)).not.toHaveProperty('previewEvery');
    await quiet.dispose();
  });

  it('cancel sends DELETE and the job ends with cancelled; done rejects with SdkError cancelled; a second cancel is false', async () => {
    const handle = await engine.submit(request());
    expect(await handle.cancel()).toBe(true);
    expect(types(await all(handle))).toEqual(['queued', 'cancelled']);
    expect((await rejection(handle.done)).code).toBe('cancelled');
    expect(await handle.cancel()).toBe(false);
    expect(bridge.requests.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual([`/v1/jobs/${handle.id}`]);
  });

  it('dispose cancels the jobs that have not ended', async () => {
    const a = await engine.submit(request());
    const b = await engine.submit(request());
    await engine.dispose();
    expect(types(await all(a))).toEqual(['queued', 'cancelled']);
    expect(types(await all(b))).toEqual(['queued', 'cancelled']);
    await expect(engine.submit(request())).rejects.toThrow(/disposed/);
  });

  it('dispose ends a job as cancelled itself when the bridge never confirms', async () => {
    bridge.override = (r) => (r.method === 'DELETE' ? new Response('{}', { status: 200 }) : null);
    engine = new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7860', token: bridge.token, fetch: bridge.fetch, disposeTimeoutMs: 50 });
    const a = await engine.submit(request());
    await engine.dispose();
    expect(types(await all(a))).toEqual(['queued', 'cancelled']);
  });

  it('an error event fails the job with the SdkError the bridge named', async () => {
    bridge.onSubmit = (job) => bridge.emit(job.id, 'error', { error: { code: 'pack_file_missing', message: 'pack "x" has no file "unet/model.onnx"' } });
    const handle = await engine.submit(request());
    expect((await all(handle)).pop()).toEqual({ type: 'error', jobId: handle.id, error: { code: 'pack_file_missing', message: 'pack "x" has no file "unet/model.onnx"' } });
    const err = await rejection(handle.done);
    expect([err.code, err.message]).toEqual(['pack_file_missing', 'pack "x" has no file "unet/model.onnx"']);
  });

  it('gives a job up as network_unavailable, saying how to start the bridge, when the bridge goes away mid-job', async () => {
    const handle = await engine.submit(request());
    const events: JobEvent[] = [];
    const following = (async () => {
      for await (const e of handle.events) events.push(e);
    })();
    while (events.length === 0) await new Promise((r) => setTimeout(r, 1));
    bridge.override = () => {
      throw new TypeError('fetch failed');
    };
    for (const c of bridge.jobs.get(handle.id)!.streams) c.error(new TypeError('terminated'));
    await following;
    expect(types(events)).toEqual(['queued', 'error']);
    const err = await rejection(handle.done);
    expect(err.code).toBe('network_unavailable');
    expect(err.message).toMatch(/npx byteedit serve/);
  });

  it('a job the bridge no longer knows (it restarted) fails with job_not_found', async () => {
    bridge.stream.dropAfter = 1;
    bridge.onSubmit = (job) => setTimeout(() => bridge.jobs.delete(job.id), 0);
    const handle = await engine.submit(request());
    expect((await rejection(handle.done)).code).toBe('job_not_found');
  });
});

describe('HTTP failures as SdkErrors', () => {
  const answering = (status: number, body: string, contentType = 'application/json'): FetchLike => async () => new Response(body, { status, headers: { 'Content-Type': contentType } });

  it.each<[string, number, ErrorCode]>([
    ['mask_size_mismatch', 422, 'mask_size_mismatch'],
    ['unauthorized', 401, 'unauthorized'],
    ['queue_full', 429, 'queue_full'],
    ['pack_not_found', 404, 'pack_not_found'],
    ['image_too_large', 422, 'image_too_large'],
    ['shutting_down', 503, 'shutting_down'],
  ])('an error body with code %s (HTTP %d) becomes SdkError %s with the same message', async (code, status, want) => {
    const engine = new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7860', token: 't', fetch: answering(status, JSON.stringify({ error: { code, message: `the bridge says ${code}` } })) });
    const err = await rejection(engine.submit(request()));
    expect([err.code, err.message]).toEqual([want, `the bridge says ${code}`]);
  });

  it('keeps a code this SDK does not know in the message, as internal', async () => {
    const err = await rejection(listPacks({ baseUrl: 'http://127.0.0.1:7860', token: 't', fetch: answering(400, '{"error":{"code":"brand_new","message":"something new"}}') }));
    expect([err.code, err.message]).toEqual(['internal', 'something new (bridge error code brand_new)']);
  });

  it('describes an answer without an error body from its status', async () => {
    const err = await rejection(listPacks({ baseUrl: 'http://127.0.0.1:7860', token: 't', fetch: answering(404, '<html>nope</html>', 'text/html') }));
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/HTTP 404 .*is the byteedit bridge what listens there/);
  });

  it('a connection that fails is network_unavailable, with how to start the bridge', async () => {
    const fetch: FetchLike = () => Promise.reject(new TypeError('fetch failed'));
    const err = await rejection(new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7999', token: 't', fetch }).capabilities());
    expect(err.code).toBe('network_unavailable');
    expect(err.message).toMatch(/not running at http:\/\/127\.0\.0\.1:7999 \(fetch failed\).*npx byteedit serve/);
  });

  it('something else answering health is not taken for the bridge', async () => {
    const err = await rejection(bridgeHealth({ baseUrl: 'http://127.0.0.1:7860', token: '', fetch: answering(200, '{"status":"ok"}') }));
    expect(err.code).toBe('network_unavailable');
    expect(err.message).toMatch(/something other than the byteedit bridge/);
  });

  it('capabilities without the right token is unauthorized, naming bridge.json', async () => {
    const bridge = new FakeBridge();
    const err = await rejection(new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7860', token: 'wrong', fetch: bridge.fetch }).capabilities());
    expect(err.code).toBe('unauthorized');
    expect(err.message).toMatch(/bridge\.json/);
  });

  it('capabilities come from the authenticated health', async () => {
    const bridge = new FakeBridge();
    await expect(new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7860', token: bridge.token, fetch: bridge.fetch }).capabilities()).resolves.toEqual({
      version: '9.9.9',
      runtime: 'node',
      devices: [{ name: 'cpu', available: true }],
      deviceChoice: { requested: 'cpu', device: 'cpu', fallbacks: [] },
      modes: ['edit', 'erase', 'outpaint'],
      schedulers: expect.arrayContaining(['ddim', 'euler']),
      maxPixels: 4_000_000,
    });
  });

  it('an invalid request is refused by submit itself (invalid_argument) without a request to the bridge', async () => {
    const calls: string[] = [];
    const fetch: FetchLike = async (url) => {
      calls.push(url);
      return new Response('{}') as FetchResponse;
    };
    const engine = new HttpEngineClient({ baseUrl: 'http://127.0.0.1:7860', token: 't', fetch });
    expect((await rejection(engine.submit(request({ steps: 0 })))).code).toBe('invalid_argument');
    expect((await rejection(engine.submit(request({ mask: undefined })))).code).toBe('invalid_argument');
    expect(calls).toEqual([]);
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => new HttpEngineClient({ baseUrl: '127.0.0.1:7860', token: 't' })).toThrow(/http:\/\//);
  });
});

describe('base64 without btoa/atob', () => {
  it('matches Buffer for every length around the padding cases, both ways', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 13) & 255);
      const b64 = Buffer.from(bytes).toString('base64');
      expect(encodeBase64(bytes)).toBe(b64);
      expect(Buffer.from(decodeBase64(b64))).toEqual(Buffer.from(bytes));
      expect(Buffer.from(decodeBase64(b64.replace(/=+$/, '')))).toEqual(Buffer.from(bytes));
    }
  });

  it('refuses what is not base64', () => {
    expect(() => decodeBase64('ab$d')).toThrow(/character "\$"/);
    expect(() => decodeBase64('abcde')).toThrow(/length/);
  });
});

describe('the fetch option', () => {
  it("takes the runtime's own fetch as it is (typed: Node's global fetch is a FetchLike)", async () => {
    const own: FetchLike = fetch;
    const err = await rejection(listPacks({ baseUrl: 'http://127.0.0.1:9', token: 't', fetch: own }));
    expect(err.code).toBe('network_unavailable');
  });
});
