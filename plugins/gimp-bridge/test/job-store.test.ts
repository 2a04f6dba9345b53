/** The job table on its own: fed from job handles; event order and replay, cancel, eviction by age, count and bytes. */
import { JobChannel, type Candidate, type JobEvent, type JobHandle } from '@byteedit/core';
import { JobStore, type WireEvent } from '../src/job-store';

/** Lets the store's `for await` over a handle catch up. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function channel(id: string, cancel: () => Promise<boolean> = async () => true): JobChannel {
  return new JobChannel(id, cancel);
}

function candidate(index: number, side: number): Candidate {
  return {
    index,
    seed: index,
    region: { x: 0, y: 0, width: side, height: side },
    patch: { width: side, height: side, data: new Uint8ClampedArray(side * side * 4) },
    mask: { width: side, height: side, data: new Uint8Array(side * side), bounds: null },
  };
}

const summary = (jobId: string): Extract<JobEvent, { type: 'finished' }>['summary'] =>
  ({
  jobId,
  canvas: { width: 10, height: 10 },
  sourceOffset: { x: 0, y: 0 },
  seeds: [0],
  device: 'cpu',
  pack: { name: 'p', version: '1', kind: 'fixture' },
  steps: 1,
  timings: { queuedMs: 0, loadMs: 0, encodeMs: 0, denoiseMs: 0, decodeMs: 0, totalMs: 0 },
  ranking: [0],
  rankScores: [0],
  rankWeights: {},
  rewardSources: {},
}) as Extract<JobEvent, { type: 'finished' }>['summary'];

function finish(job: JobChannel, side = 10): void {
  job.push({ type: 'started', jobId: job.id, device: 'cpu', candidates: 1, steps: 1 });
  job.push({ type: 'candidate', jobId: job.id, candidate: candidate(0, side) });
  job.push({ type: 'finished', jobId: job.id, summary: summary(job.id) });
}

describe('JobStore', () => {
  const png = new Uint8Array(100);

  it('follows a job from its handle, from queued on, in order, and replays it', async () => {
    const store = new JobStore({ ttlMs: 60_000, maxBytes: 1e9, maxFinished: 10 });
    const a = channel('a');
    // Events the engine sent before the record existed are in the handle: nothing is lost.
    a.push({ type: 'queued', jobId: 'a', position: 0 });
    a.push({ type: 'started', jobId: 'a', device: 'cpu', candidates: 1, steps: 1 });
    const record = store.create(a, { mode: 'edit' }, png, 10, 10);
    await settle();
    expect(record.state).toBe('running');
    const seen: WireEvent[] = [];
    store.subscribe(record, 0, (e) => seen.push(e));
    a.push({ type: 'progress', jobId: 'a', candidate: 0, step: 1, total: 1, done: 1, of: 1 });
    a.push({ type: 'cancelled', jobId: 'a' });
    // Nothing after a terminal event counts.
    a.push({ type: 'finished', jobId: 'a', summary: summary('a') });
    await settle();
    expect(seen.map((e) => [e.seq, e.type])).toEqual([
      [1, 'queued'],
      [2, 'started'],
      [3, 'progress'],
      [4, 'cancelled'],
    ]);
    expect(record.state).toBe('cancelled');
    expect(record.handle).toBeUndefined();
  });

  it('cancels through the handle while the job runs, and not once it has ended', async () => {
    const store = new JobStore({ ttlMs: 60_000, maxBytes: 1e9, maxFinished: 10 });
    let asked = 0;
    const a = channel('a', async () => ++asked > 0);
    a.push({ type: 'queued', jobId: 'a', position: 0 });
    const record = store.create(a, { mode: 'edit' }, png, 10, 10);
    await settle();
    expect(await store.cancel(record)).toBe(true);
    finish(a);
    await settle();
    expect(await store.cancel(record)).toBe(false);
    expect(asked).toBe(1);
  });

  it('fails a job whose event stream ends (or breaks) without saying how the job ended', async () => {
    const store = new JobStore({ ttlMs: 60_000, maxBytes: 1e9, maxFinished: 10 });
    const silent: JobHandle = {
      id: 'silent',
      events: (async function* () {
        yield { type: 'queued', jobId: 'silent', position: 0 } as JobEvent;
      })(),
      done: new Promise(() => undefined),
      cancel: async () => false,
    };
    const broken: JobHandle = {
      ...silent,
      id: 'broken',
      events: (async function* () {
        yield { type: 'queued', jobId: 'broken', position: 0 } as JobEvent;
        throw new Error('connection reset');
      })(),
    };
    const a = store.create(silent, { mode: 'edit' }, png, 10, 10);
    const b = store.create(broken, { mode: 'edit' }, png, 10, 10);
    await settle();
    expect([a.state, a.error?.code]).toEqual(['error', 'internal']);
    expect([b.state, b.error]).toEqual(['error', { code: 'internal', message: 'connection reset' }]);
  });

  it('evicts finished jobs by age, by count and by bytes, oldest first, never active ones', async () => {
    let now = 0;
    const store = new JobStore({ ttlMs: 1000, maxBytes: 100 + 3 * (100 + 500), maxFinished: 3 }, () => now);
    for (const id of ['a', 'b', 'c', 'd']) {
      const job = channel(id);
      store.create(job, { mode: 'edit' }, png, 10, 10);
      now += 10;
      finish(job);
      await settle();
    }
    // Four finished, at most three kept: "a" went first.
    expect(store.all().map((j) => j.id)).toEqual(['b', 'c', 'd']);
    const e = channel('e');
    store.create(e, { mode: 'edit' }, png, 10, 10);
    now += 10;
    finish(e, 40); // 40*40*5 bytes: over the byte budget, so older ones go
    await settle();
    expect(store.all().map((j) => j.id)).toEqual(['e']);
    expect(store.stats().bytes).toBe(100 + 40 * 40 * 5);
    store.create(channel('f'), { mode: 'edit' }, png, 10, 10);
    now += 5000;
    store.sweep();
    // "e" expired; "f" is still queued and stays whatever its age.
    expect(store.all().map((j) => j.id)).toEqual(['f']);
  });
});
