/** Fixture-pack runs through the real engine on onnxruntime-node: shapes, determinism, pixel preservation. */
import { createEngine } from '../src/node';
import { composeCandidate, runEdit } from '../src/engine/run';
import type { EditRequest, JobEvent } from '../src/engine/types';
import type { Engine } from '../src/engine/engine';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boxMask, collect, drain, DIFFUSERS, gradientImage, LEGACY, OPTIMUM } from './helpers';

let engine: Engine;
beforeAll(() => {
  engine = createEngine({ pack: DIFFUSERS, device: 'cpu' });
});
afterAll(() => engine.dispose());

const W = 96;
const H = 80;
const request = (over: Partial<EditRequest> = {}): EditRequest => ({
  image: gradientImage(W, H),
  mask: boxMask(W, H, 30, 20, 30, 30),
  mode: 'edit',
  prompt: 'a red star',
  seed: 11,
  previewEvery: 0,
  ...over,
});

function sameBytes(a: Uint8ClampedArray, b: Uint8ClampedArray): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

describe('engine on fixture packs', () => {
  it('writes an image of the input size that keeps every pixel outside the compositing mask', async () => {
    const req = request();
    const source = gradientImage(W, H);
    const { summary, candidates } = await runEdit(engine, req);
    const [c] = candidates;
    const out = composeCandidate(source, summary, c!);
    expect([out.width, out.height]).toEqual([W, H]);
    let changed = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inRegion = x >= c!.region.x && y >= c!.region.y && x < c!.region.x + c!.region.width && y < c!.region.y + c!.region.height;
        const m = inRegion ? c!.mask.data[(y - c!.region.y) * c!.region.width + (x - c!.region.x)]! : 0;
        const o = (y * W + x) * 4;
        const same = sameBytes(out.data.subarray(o, o + 4), source.data.subarray(o, o + 4));
        if (m === 0) expect(same).toBe(true);
        else if (!same) changed++;
      }
    }
    expect(changed).toBeGreaterThan(500); // the masked 30x30 area was regenerated
  });

  it('is byte-identical for the same seed and differs for another', async () => {
    const a = (await runEdit(engine, request({ seed: 3 }))).candidates[0]!.patch.data;
    const b = (await runEdit(engine, request({ seed: 3 }))).candidates[0]!.patch.data;
    const c = (await runEdit(engine, request({ seed: 4 }))).candidates[0]!.patch.data;
    expect(sameBytes(a, b)).toBe(true);
    expect(sameBytes(a, c)).toBe(false);
  });

  it('outpaints: the canvas grows by the margins with the source in place', async () => {
    const source = gradientImage(W, H);
    const { summary, candidates } = await runEdit(engine, request({ mode: 'outpaint', mask: undefined, expand: { left: 64, top: 0, right: 64, bottom: 0 } }));
    const out = composeCandidate(source, summary, candidates[0]!);
    expect([out.width, out.height]).toEqual([W + 128, H]);
    for (let y = 0; y < H; y++) {
      const row = out.data.subarray((y * out.width + 64) * 4, (y * out.width + 64 + W) * 4);
      expect(sameBytes(row, source.data.subarray(y * W * 4, (y + 1) * W * 4))).toBe(true);
    }
    expect(out.data[3]).toBe(255); // the new area is filled, not transparent
  });

  it('returns K candidates with distinct recorded seeds', async () => {
    const { summary, candidates } = await runEdit(engine, request({ candidates: 3, seed: 100 }));
    expect(summary.seeds).toEqual([100, 101, 102]);
    expect(candidates.map((c) => c.seed).sort()).toEqual([100, 101, 102]); // ranked, best first
    expect(sameBytes(candidates[0]!.patch.data, candidates[1]!.patch.data)).toBe(false);
  });

  it.each([
    ['optimum', OPTIMUM],
    ['legacy 4-channel fp16 (latent blending)', LEGACY],
  ])('runs the %s layout through the same code path', async (_name, pack) => {
    for (const scheduler of ['ddim', 'dpmpp-2m', 'lcm'] as const) {
      const { candidates } = await runEdit(engine, request({ pack, scheduler, steps: 3 }));
      expect(candidates).toHaveLength(1);
      expect(candidates[0]!.patch.data.some((v) => Number.isNaN(v))).toBe(false);
    }
  });

  it('emits events in order: queued, started, progress 1..N, candidate, finished', async () => {
    const events: JobEvent[] = [];
    await runEdit(engine, request({ steps: 5, previewEvery: 2 }), (e) => events.push(e));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('queued');
    expect(types[1]).toBe('started');
    expect(types.slice(-2)).toEqual(['candidate', 'finished']);
    const steps = events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress').map((e) => e.step);
    expect(steps).toEqual([1, 2, 3, 4, 5]);
    const previews = events.filter((e) => e.type === 'preview');
    expect(previews.length).toBe(2);
  });

  it('cancels between steps and reports cancelled, then runs the next job', async () => {
    const job = await engine.submit(request({ steps: 150, image: gradientImage(256, 256), mask: boxMask(256, 256, 20, 20, 200, 200) }));
    const events = collect(job);
    const next = runEdit(engine, request());
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (events.some((e) => e.type === 'progress')) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
    expect(await job.cancel()).toBe(true);
    await expect(job.done).rejects.toMatchObject({ code: 'cancelled' });
    await expect(next).resolves.toMatchObject({ candidates: [expect.anything()] });
    const mine = events.map((e) => e.type);
    expect(mine.at(-1)).toBe('cancelled');
    expect(mine.filter((t) => t === 'progress').length).toBeLessThan(150);
    expect(await job.cancel()).toBe(false);
  });

  it('scores every candidate in its event and ranks them in the summary, the same way each run', async () => {
    const events: JobEvent[] = [];
    const a = await runEdit(engine, request({ candidates: 3, seed: 40 }), (e) => events.push(e));
    for (const e of events) if (e.type === 'candidate') expect(e.candidate.scores).toMatchObject({ coherence: expect.any(Number), coherence_analytic: expect.any(Number) });
    expect([...a.summary.ranking].sort()).toEqual([0, 1, 2]);
    expect(a.summary.rankScores).toHaveLength(3);
    expect(a.summary.rewardSources.coherence).toBe('analytic'); // fixture packs have no reward models
    expect(a.candidates.map((c) => c.index)).toEqual(a.summary.ranking);
    const b = await runEdit(engine, request({ candidates: 3, seed: 40 }));
    expect(b.summary.ranking).toEqual(a.summary.ranking);
    const unscored = await runEdit(engine, request({ candidates: 2, rewards: false }));
    expect(unscored.candidates[0]!.scores).toBeUndefined();
    expect(unscored.summary.ranking).toEqual([0, 1]);
  });

  it('runs reward-guided search at the same UNet budget as best-of-N, deterministically', async () => {
    const events: JobEvent[] = [];
    const a = await runEdit(engine, request({ candidates: 4, steps: 8, search: 'guided', seed: 21 }), (e) => events.push(e));
    expect(a.candidates).toHaveLength(4);
    const progress = events.filter((e): e is Extract<JobEvent, { type: 'progress' }> => e.type === 'progress');
    expect(progress).toHaveLength(4 * 8); // one event per UNet step, as best-of-4 x 8 steps
    expect(progress.at(-1)).toMatchObject({ done: 32, of: 32 });
    const b = await runEdit(engine, request({ candidates: 4, steps: 8, search: 'guided', seed: 21 }));
    expect(b.candidates.map((c) => Buffer.from(c.patch.data).toString('base64'))).toEqual(a.candidates.map((c) => Buffer.from(c.patch.data).toString('base64')));
    const bestOf = await runEdit(engine, request({ candidates: 4, steps: 8, seed: 21 }));
    // Resampling replaced some particles, so the set of results differs from independent samples.
    const key = (r: typeof a): string[] => r.candidates.map((c) => Buffer.from(c.patch.data).toString('base64')).sort();
    expect(key(bestOf)).not.toEqual(key(a));
  });

  it('blends with Poisson on request, still keeping every pixel outside the compositing mask', async () => {
    const source = gradientImage(W, H);
    const { summary, candidates } = await runEdit(engine, request({ blend: 'poisson' }));
    const c = candidates[0]!;
    const out = composeCandidate(source, summary, c);
    let checked = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inR = x >= c.region.x && y >= c.region.y && x < c.region.x + c.region.width && y < c.region.y + c.region.height;
        if (inR && c.mask.data[(y - c.region.y) * c.region.width + (x - c.region.x)]! > 0) continue;
        const o = (y * W + x) * 4;
        expect(sameBytes(out.data.subarray(o, o + 4), source.data.subarray(o, o + 4))).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(W * H / 2);
  });

  it('reports bad requests as error events with stable codes', async () => {
    await expect(runEdit(engine, request({ mask: boxMask(W, H, 0, 0, 0, 0) }))).rejects.toMatchObject({ code: 'mask_empty' });
    await expect(runEdit(engine, request({ mask: boxMask(10, 10, 1, 1, 2, 2) }))).rejects.toMatchObject({ code: 'mask_size_mismatch' });
    await expect(runEdit(engine, request({ pack: '/nonexistent/pack' }))).rejects.toMatchObject({ code: 'pack_not_found' });
  });
});

describe('the model-free fill engine', () => {
  let editOnly: string;
  beforeAll(() => {
    editOnly = mkdtempSync(join(tmpdir(), 'byteedit-editonly-'));
    cpSync(DIFFUSERS, editOnly, { recursive: true });
    const m = JSON.parse(readFileSync(join(editOnly, 'pack.json'), 'utf8'));
    m.modes = ['edit'];
    writeFileSync(join(editOnly, 'pack.json'), JSON.stringify(m));
  });
  afterAll(() => rmSync(editOnly, { recursive: true, force: true }));

  it('erases with engine "fill", keeping pixels outside the compositing mask', async () => {
    const source = gradientImage(W, H);
    const { summary, candidates } = await runEdit(engine, request({ mode: 'erase', engine: 'fill' }));
    expect(summary.engine).toBe('patchmatch');
    const c = candidates[0]!;
    const out = composeCandidate(source, summary, c);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inR = x >= c.region.x && y >= c.region.y && x < c.region.x + c.region.width && y < c.region.y + c.region.height;
        if (inR && c.mask.data[(y - c.region.y) * c.region.width + (x - c.region.x)]! > 0) continue;
        const o = (y * W + x) * 4;
        expect(sameBytes(out.data.subarray(o, o + 4), source.data.subarray(o, o + 4))).toBe(true);
      }
    }
  });

  it('is chosen automatically for erase and outpaint when the pack cannot do the mode', async () => {
    const erase = await runEdit(engine, request({ mode: 'erase', pack: editOnly }));
    expect(erase.summary.engine).toBe('patchmatch');
    const out = await runEdit(engine, request({ mode: 'outpaint', pack: editOnly, mask: undefined, expand: { left: 0, top: 0, right: 24, bottom: 0 } }));
    expect(out.summary.engine).toBe('patchmatch');
    expect(out.summary.canvas).toEqual({ width: W + 24, height: H });
    await expect(runEdit(engine, request({ mode: 'edit', engine: 'fill' }))).rejects.toMatchObject({ code: 'mode_unsupported' });
  });

  it('pre-fills the hole for diffusion erase, then denoises from partial strength', async () => {
    const events: JobEvent[] = [];
    const r = await runEdit(engine, request({ mode: 'erase', prefill: true, steps: 10 }), (e) => events.push(e));
    expect(r.summary.engine).toBe('diffusion');
    // strength 0.6 of 10 steps: the sampler runs the last 6
    expect(events.filter((e) => e.type === 'progress').length).toBe(6);
  });

  it('cancels mid-fill', async () => {
    const job = await engine.submit(request({ mode: 'erase', engine: 'fill', image: gradientImage(400, 400), mask: boxMask(400, 400, 50, 50, 300, 300) }));
    const events = collect(job);
    while (!events.some((e) => e.type === 'progress')) await new Promise((r) => setTimeout(r, 5));
    await job.cancel();
    await job.done.catch(() => undefined);
    expect((await drain(job)).at(-1)!.type).toBe('cancelled');
  });
});
