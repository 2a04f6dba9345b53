/** The job table on its own: event order and replay, early events, eviction by age, count and bytes. */
import type { Candidate, JobEvent } from '@byteedit/core';
import { JobStore, type WireEvent } from '../src/job-store';

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

function finish(store: JobStore, id: string, side = 10): void {
  store.handle({ type: 'started', jobId: id, device: 'cpu', candidates: 1, steps: 1 });
  store.handle({ type: 'candidate', jobId: id, candidate: candidate(0, side) });
  store.handle({ type: 'finished', jobId: id, summary: summary(id) });
}

describe('JobStore', () => {
  const png = new Uint8Array(100);

  it('keeps events that arrive before the job is created, in order, and replays them', () => {
    const store = new JobStore({ ttlMs: 60_000, maxBytes: 1e9, maxFinished: 10 });
    store.handle({ type: 'queued', jobId: 'a', position: 0 });
    store.handle({ type: 'started', jobId: 'a', device: 'cpu', candidates: 1, steps: 1 });
    const record = store.create('a', { mode: 'edit' }, png, 10, 10);
    expect(record.state).toBe('running');
    const seen: WireEvent[] = [];
    store.subscribe(record, 0, (e) => seen.push(e));
    store.handle({ type: 'progress', jobId: 'a', candidate: 0, step: 1, total: 1, done: 1, of: 1 });
    store.handle({ type: 'cancelled', jobId: 'a' });
    // Nothing after a terminal event counts.
    store.handle({ type: 'finished', jobId: 'a', summary: summary('a') });
    expect(seen.map((e) => [e.seq, e.type])).toEqual([
      [1, 'queued'],
      [2, 'started'],
      [3, 'progress'],
      [4, 'cancelled'],
    ]);
    expect(record.state).toBe('cancelled');
  });

  it('evicts finished jobs by age, by count and by bytes, oldest first, never active ones', () => {
    let now = 0;
    const store = new JobStore({ ttlMs: 1000, maxBytes: 100 + 3 * (100 + 500), maxFinished: 3 }, () => now);
    for (const id of ['a', 'b', 'c', 'd']) {
      store.create(id, { mode: 'edit' }, png, 10, 10);
      now += 10;
      finish(store, id);
    }
    // Four finished, at most three kept: "a" went first.
    expect(store.all().map((j) => j.id)).toEqual(['b', 'c', 'd']);
    store.create('e', { mode: 'edit' }, png, 10, 10);
    now += 10;
    finish(store, 'e', 40); // 40*40*5 bytes: over the byte budget, so older ones go
    expect(store.all().map((j) => j.id)).toEqual(['e']);
    expect(store.stats().bytes).toBe(100 + 40 * 40 * 5);
    store.create('f', { mode: 'edit' }, png, 10, 10);
    now += 5000;
    store.sweep();
    // "e" expired; "f" is still queued and stays whatever its age.
    expect(store.all().map((j) => j.id)).toEqual(['f']);
  });

  it('bounds events for jobs it never created', () => {
    const store = new JobStore({ ttlMs: 1000, maxBytes: 1e9, maxFinished: 10 });
    for (let i = 0; i < 5000; i++) store.handle({ type: 'queued', jobId: `ghost-${i}`, position: 0 });
    const record = store.create('ghost-4999', { mode: 'edit' }, png, 10, 10);
    expect(record.events).toHaveLength(0);
    const kept = store.create('ghost-0', { mode: 'edit' }, png, 10, 10);
    expect(kept.events).toHaveLength(1);
  });
});
