/**
 * A bounded load test over loopback against `byteedit serve` with the core worker engine: two
 * waves of 50 concurrent submissions from 5 clients (own connection pools). Every submission is
 * either accepted and finishes, or is refused cleanly with 429/503 and a JSON error; none is
 * lost or duplicated; the server's memory stays bounded between waves.
 */
import { Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { buildCli, startChildBridge, type ChildBridge } from './engines';
import { http, pngOf, readSse, rectMaskPng, testImage } from './helpers';

jest.setTimeout(240_000);

const CLIENTS = 5;
const PER_CLIENT = 10;
const MAX_JOBS = 12;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('bridge under load', () => {
  let bridge: ChildBridge;
  const body = JSON.stringify({
    image: pngOf(testImage(128, 96)).toString('base64'),
    mask: rectMaskPng(128, 96, { x: 40, y: 30, width: 40, height: 30 }).toString('base64'),
    mode: 'edit',
    prompt: 'load',
    steps: 2,
    seed: 1,
  });

  beforeAll(async () => {
    buildCli();
    bridge = await startChildBridge(['--max-jobs', String(MAX_JOBS)]);
  });

  afterAll(async () => {
    if (bridge) expect(await bridge.close()).toBe(0);
  });

  async function wave(): Promise<{ accepted: string[]; refused: number[] }> {
    const agents = Array.from({ length: CLIENTS }, () => new Agent({ keepAlive: true, maxSockets: 4 }));
    const submissions = agents.flatMap((agent) =>
      Array.from({ length: PER_CLIENT }, () =>
        http(bridge.port, '/v1/jobs', { method: 'POST', agent, headers: { Authorization: `Bearer ${bridge.token}`, 'Content-Type': 'application/json' }, body }),
      ),
    );
    const replies = await Promise.all(submissions);
    const accepted: string[] = [];
    const refused: number[] = [];
    for (const r of replies) {
      if (r.status === 202) accepted.push(r.json<{ id: string }>().id);
      else {
        expect([429, 503]).toContain(r.status);
        expect(r.json<{ error: { code: string } }>().error.code).toMatch(/^(queue_full|shutting_down)$/);
        refused.push(r.status);
      }
    }
    expect(accepted.length + refused.length).toBe(CLIENTS * PER_CLIENT);
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(accepted.length).toBeGreaterThanOrEqual(MAX_JOBS);
    const ends = await Promise.all(accepted.map((id) => readSse(bridge.port, `/v1/jobs/${id}/events`, { Authorization: `Bearer ${bridge.token}` })));
    for (const events of ends) expect(events[events.length - 1]!.event).toBe('finished');
    for (const agent of agents) agent.destroy();
    return { accepted, refused };
  }

  it('completes or cleanly refuses 2 x 50 concurrent submissions, loses none, and stays bounded', async () => {
    const started = Date.now();
    const first = await wave();
    const afterFirst = rssMb(bridge.pid);
    const second = await wave();
    const afterSecond = rssMb(bridge.pid);
    const listed = (await http(bridge.port, '/v1/jobs', { headers: { Authorization: `Bearer ${bridge.token}` } })).json<{ jobs: { id: string; state: string }[]; stats: { bytes: number; active: number } }>();
    const all = [...first.accepted, ...second.accepted];
    // None lost, none duplicated, none invented: the server holds exactly the accepted jobs.
    expect(listed.jobs.map((j) => j.id).sort()).toEqual([...all].sort());
    expect(listed.jobs.every((j) => j.state === 'finished')).toBe(true);
    expect(listed.stats.active).toBe(0);
    // Every accepted job's result is there.
    const sample = await http(bridge.port, `/v1/jobs/${all[all.length - 1]}/results/0?part=patch`, { headers: { Authorization: `Bearer ${bridge.token}` } });
    expect(sample.status).toBe(200);
    // Bounded: the second wave of equal work does not grow the process by more than a margin.
    expect(afterSecond - afterFirst).toBeLessThan(150);
    expect(afterSecond).toBeLessThan(1024);
    process.stdout.write(
      `load: ${first.accepted.length}+${second.accepted.length} accepted, ${first.refused.length}+${second.refused.length} refused, ` +
        `RSS ${afterFirst.toFixed(0)} -> ${afterSecond.toFixed(0)} MB, retained ${(listed.stats.bytes / 1024).toFixed(0)} KiB, ${Date.now() - started} ms\n`,
    );
  });
});
