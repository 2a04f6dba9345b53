/** The engine in a real Node worker_thread behind comlink (the built dist/node/worker.js). */
import { join } from 'node:path';
import { createWorkerEngine } from '../src/worker/node-client';
import { createEngine } from '../src/node';
import { runEdit } from '../src/engine/run';
import type { EditRequest, EngineApi, JobEvent } from '../src/engine/types';
import { SdkError } from '../src/util/errors';
import { boxMask, collect, DIFFUSERS, gradientImage, REPO } from './helpers';

const workerPath = join(REPO, 'core', 'dist', 'node', 'worker.js');
const request = (over: Partial<EditRequest> = {}): EditRequest => ({
  image: gradientImage(96, 80),
  mask: boxMask(96, 80, 30, 20, 30, 30),
  mode: 'edit',
  prompt: 'a blue circle',
  seed: 9,
  steps: 4,
  ...over,
});

let engine: EngineApi;
beforeAll(async () => {
  // The test hook makes a magic prompt kill the worker (see src/worker/node-worker.ts).
  engine = await createWorkerEngine({ pack: DIFFUSERS, device: 'cpu', workerPath, env: { ...process.env, BYTEEDIT_TEST_HOOKS: '1' } });
});
afterAll(async () => {
  await engine.dispose();
});

describe('engine in a Node worker_thread', () => {
  it('delivers events in order, with the candidate pixels transferred back', async () => {
    const events: JobEvent[] = [];
    const result = await runEdit(engine, request({ previewEvery: 2 }), (e) => events.push(e));
    expect(events.map((e) => e.type)).toEqual(['queued', 'started', 'progress', 'progress', 'preview', 'progress', 'progress', 'candidate', 'finished']);
    expect(result.candidates[0]!.patch.data).toBeInstanceOf(Uint8ClampedArray);
    expect(result.candidates[0]!.patch.data.length).toBe(result.candidates[0]!.region.width * result.candidates[0]!.region.height * 4);
  });

  it('transfers the request pixels instead of copying them', async () => {
    const req = request();
    const p = runEdit(engine, req);
    await p;
    expect(req.image.data.byteLength).toBe(0); // detached: the buffer moved to the worker
  });

  it('matches the in-process result byte for byte for the same seed', async () => {
    const local = createEngine({ pack: DIFFUSERS, device: 'cpu' });
    const a = await runEdit(local, request({ seed: 77 }));
    const b = await runEdit(engine, request({ seed: 77 }));
    await local.dispose();
    expect(Buffer.from(a.candidates[0]!.patch.data).equals(Buffer.from(b.candidates[0]!.patch.data))).toBe(true);
  });

  it('cancels a running job mid-run and a queued one before it starts', async () => {
    const running = await engine.submit(request({ steps: 150, image: gradientImage(256, 256), mask: boxMask(256, 256, 10, 10, 200, 200) }));
    const queued = await engine.submit(request());
    const events = collect(running);
    const queuedEvents = collect(queued);
    await waitFor(() => events.some((e) => e.type === 'progress'));
    expect(await queued.cancel()).toBe(true);
    expect(await running.cancel()).toBe(true);
    await waitFor(() => events.some((e) => e.type === 'cancelled'));
    const steps = events.filter((e) => e.type === 'progress').length;
    expect(steps).toBeLessThan(150);
    await waitFor(() => queuedEvents.length === 2);
    expect(queuedEvents.map((e) => e.type)).toEqual(['queued', 'cancelled']);
    await expect(runEdit(engine, request())).resolves.toBeDefined();
  });

  it('rebuilds typed errors with their codes across the boundary', async () => {
    await expect(runEdit(engine, request({ mask: boxMask(96, 80, 0, 0, 0, 0) }))).rejects.toMatchObject({ code: 'mask_empty' });
    const err = await runEdit(engine, request({ mode: 'paint' as EditRequest['mode'] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect(err).toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('mode must be one of') });
    // refused up front, before any pixels move to the worker
    const bad = request({ guidance: 40 });
    await expect(engine.submit(bad)).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('guidance must be a number from 0 up to 30') });
    expect(bad.image.data.byteLength).toBeGreaterThan(0);
  });

  it('fails only the running job when the worker crashes, and runs the next in a fresh worker', async () => {
    const crash = runEdit(engine, request({ prompt: '__byteedit_crash__', steps: 150, image: gradientImage(256, 256), mask: boxMask(256, 256, 10, 10, 200, 200) }));
    const next = runEdit(engine, request());
    await expect(crash).rejects.toMatchObject({ code: 'worker_crashed' });
    await expect(next).resolves.toMatchObject({ candidates: [expect.anything()] });
  });
});

async function waitFor(cond: () => boolean, ms = 30000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}
