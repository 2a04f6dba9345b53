/**
 * The server's event loop stays free (issue 17, items 1 and 6): decoding uploads and encoding
 * results happen in codec workers, so /v1/health and event streams keep answering while 4096²
 * 16-bit uploads decode, while a `part=full` result encodes, and while a decompression bomb is
 * refused. Against `byteedit serve` in a child process (its RSS is its own), loopback only,
 * bounded: a handful of uploads.
 */
import { readFileSync } from 'node:fs';
import { buildCli, startChildBridge, type ChildBridge } from './engines';
import { http, pngOf, readSse, sleep, testImage } from './helpers';
import { bombPng, grayPng, multipart, rgba16Png } from './png-bytes';

jest.setTimeout(180_000);

const SIZE = 4096;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Health latencies (ms), one request after another, until `done` settles. */
async function healthLatencies(port: number, done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  const latencies: number[] = [];
  while (!finished) {
    const t0 = performance.now();
    const r = await http(port, '/v1/health');
    latencies.push(performance.now() - t0);
    expect(r.status).toBe(200);
    await sleep(5);
  }
  return latencies;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)]!;
}

describe('the bridge event loop under heavy images', () => {
  let bridge: ChildBridge;
  let auth: Record<string, string>;
  let big: Buffer;

  beforeAll(async () => {
    buildCli();
    bridge = await startChildBridge();
    auth = { Authorization: `Bearer ${bridge.token}` };
    big = rgba16Png(SIZE, SIZE);
  });
  afterAll(async () => {
    if (bridge) expect(await bridge.close()).toBe(0);
  });

  function post(files: Record<string, Buffer>, fields: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
    const { body, contentType } = multipart(files, fields);
    return http(bridge.port, '/v1/jobs', { method: 'POST', headers: { ...auth, 'Content-Type': contentType }, body }).then((r) => ({ status: r.status, json: r.json() }));
  }

  it(`keeps /v1/health p99 under 100 ms while ${SIZE}² 16-bit uploads decode`, async () => {
    const emptyMask = grayPng(SIZE, SIZE);
    // Two at a time, six in all: each is decoded in full (image and mask), then refused for its empty mask.
    const uploads = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const pair = await Promise.all([post({ image: big, mask: emptyMask }, { mode: 'edit' }), post({ image: big, mask: emptyMask }, { mode: 'edit' })]);
        statuses.push(...pair.map((r) => r.status));
        for (const r of pair) expect((r.json.error as { code: string }).code).toBe('mask_empty');
      }
      return statuses;
    })();
    const started = performance.now();
    const latencies = await healthLatencies(bridge.port, uploads);
    const statuses = await uploads;
    const elapsed = performance.now() - started;
    process.stdout.write(`health under ${statuses.length} uploads of ${(big.length / 1e6).toFixed(0)} MB (${(elapsed / 1000).toFixed(1)} s): ${latencies.length} samples, p99 ${p99(latencies).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms\n`);
    expect(statuses).toEqual([422, 422, 422, 422, 422, 422]);
    expect(latencies.length).toBeGreaterThan(20);
    expect(p99(latencies)).toBeLessThan(100);
  });

  it(`keeps /v1/health p99 under 100 ms while a ${SIZE}² part=full result is composed and encoded`, async () => {
    const submitted = await post({ image: big, mask: grayPng(SIZE, SIZE, { x: 2000, y: 2000, width: 64, height: 64 }) }, { mode: 'edit', steps: '1', seed: '1' });
    expect(submitted.status).toBe(202);
    const id = submitted.json.id as string;
    const evs = await readSse(bridge.port, `/v1/jobs/${id}/events`, auth);
    expect(evs[evs.length - 1]!.event).toBe('finished');
    const full = http(bridge.port, `/v1/jobs/${id}/results/0?part=full`, { headers: auth });
    const latencies = await healthLatencies(bridge.port, full);
    const r = await full;
    expect([r.status, r.headers['x-image-width'], r.headers['x-image-height']]).toEqual([200, String(SIZE), String(SIZE)]);
    process.stdout.write(`health during part=full (${(r.body.length / 1e6).toFixed(1)} MB PNG): ${latencies.length} samples, p99 ${p99(latencies).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms\n`);
    expect(latencies.length).toBeGreaterThan(5);
    expect(p99(latencies)).toBeLessThan(100);
  });

  it('refuses a mask whose IHDR says 64x48 but whose IDAT inflates to 300 MB: 4xx in < 1 s, RSS growth < 100 MB, health within 100 ms', async () => {
    const bomb = bombPng(64, 48, 300 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const before = rssMb(bridge.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(bridge.pid))), 5);
    const started = performance.now();
    const answer = post({ image: pngOf(testImage(64, 48)), mask: bomb }, { mode: 'edit' }).then((r) => ({ ...r, ms: performance.now() - started }));
    const latencies = await healthLatencies(bridge.port, answer);
    const r = await answer;
    await sleep(200);
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(bridge.pid));
    const error = r.json.error as { code: string; message: string };
    process.stdout.write(`bomb (${(bomb.length / 1e6).toFixed(2)} MB, inflates to 300 MiB): ${r.status} ${error.code} in ${r.ms.toFixed(0)} ms, RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MB (+${(peak - before).toFixed(0)}), health max ${Math.max(...latencies).toFixed(1)} ms; "${error.message}"\n`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(error.message).toMatch(/mask/);
    expect(r.ms).toBeLessThan(1_000);
    expect(peak - before).toBeLessThan(100);
    expect(Math.max(...latencies)).toBeLessThan(100);
    expect((await http(bridge.port, '/v1/health')).status).toBe(200);
  });
});
