/** The one overall progress figure of a pull (bytes, speed, ETA) and how the CLI draws it on a terminal. */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProgressMeter, type PullProgress } from '../src/download/progress';
import { packsMain, pullBarArgs } from '../src/cli/packs';
import { DIFFUSERS } from './helpers';
import { FakeHub, catalogOf, fixtureEntry } from './download-hub';

describe('ProgressMeter', () => {
  it('sums every file into one figure, with speed over a recent window and an ETA', () => {
    let now = 0;
    const seen: PullProgress[] = [];
    const m = new ProgressMeter((p) => seen.push(p), 0, 5000, () => now);
    m.addFile('a', 1000, 200); // resumed: 200 bytes already on disk
    m.addFile('b', null, 0); // size not known yet
    m.tick(true);
    expect(seen[0]).toMatchObject({ done: 200, total: 1000, totalKnown: false, etaSeconds: null }); // b counts as what has arrived
    m.setSize('b', 3000);
    now = 1000;
    m.bytes('a', 400);
    now = 2000;
    m.bytes('b', 400);
    const p = m.snapshot();
    expect(p).toMatchObject({ done: 1000, total: 4000, totalKnown: true, filesDone: 0, filesTotal: 2 });
    expect(p.bytesPerSecond).toBeCloseTo(400, 5); // 800 bytes fetched over 2 s (the resumed 200 do not count)
    expect(p.etaSeconds).toBeCloseTo(3000 / 400, 5);
    // A server that ignores Range restarts a file: progress goes back, speed does not go negative.
    m.bytes('a', -600);
    expect(m.snapshot().done).toBe(400);
    m.fileDone('a', 1000);
    expect(m.snapshot()).toMatchObject({ done: 1400, filesDone: 1 });
  });
});

describe('the pull bar label', () => {
  const p = (over: Partial<PullProgress>): PullProgress => ({ done: 0, total: 0, totalKnown: true, filesDone: 0, filesTotal: 6, bytesPerSecond: 0, etaSeconds: null, ...over });

  it('shows bytes, files, speed and a byte-rate ETA in the units a reader expects', () => {
    expect(pullBarArgs(p({ done: 40_100, total: 115_200, filesDone: 4, bytesPerSecond: 540_700, etaSeconds: 0.14 }))).toEqual([348, 1000, '40.1 KB of 115.2 KB, files 4/6 540.7 KB/s eta 1s']);
    expect(pullBarArgs(p({ done: 1.2e9, total: 4.27e9, bytesPerSecond: 2.5e6, etaSeconds: 1228 }))[2]).toBe('1.20 GB of 4.27 GB, files 0/6 2.50 MB/s eta 20m28s');
    expect(pullBarArgs(p({ done: 1.2e9, total: 4.27e9, bytesPerSecond: 2.5e6, etaSeconds: 119.5 }))[2]).toMatch(/ eta 2m00s$/); // not 1m60s
    expect(pullBarArgs(p({ done: 5e8, total: 4.27e9, bytesPerSecond: 1e5, etaSeconds: 37700 }))[2]).toBe('500.0 MB of 4.27 GB, files 0/6 100.0 KB/s eta 10.5h');
  });

  it('leaves out speed and ETA before the first speed sample, and marks a total still growing', () => {
    expect(pullBarArgs(p({ done: 200, total: 1000, totalKnown: false }))).toEqual([200, 1000, '200 B of 1.00 KB+, files 0/6']);
    expect(pullBarArgs(p({ done: 0, total: 0 }))).toEqual([0, 1000, '0 B of 0 B, files 0/6']);
  });
});

describe('byteedit packs pull on a terminal', () => {
  let hub: FakeHub;
  let cache: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    hub = new FakeHub();
    await hub.start();
    cache = await fs.mkdtemp(join(tmpdir(), 'byteedit-dlbar-'));
    const catalogFile = join(cache, 'catalog.json');
    await fs.writeFile(catalogFile, JSON.stringify(catalogOf(await fixtureEntry(hub, 'tiny', DIFFUSERS))));
    Object.assign(process.env, { BYTEEDIT_CATALOG: catalogFile, BYTEEDIT_CACHE_DIR: cache, HF_ENDPOINT: hub.endpoint });
  });

  afterAll(async () => {
    process.env = { ...saved };
    await hub.stop();
    await fs.rm(cache, { recursive: true, force: true });
  });

  it('draws one bar for the whole pack with bytes, files and ETA, then clears it', async () => {
    hub.faults.chunkDelayMs = 8;
    const stream = process.stderr as NodeJS.WriteStream & { isTTY: boolean };
    const wasTTY = stream.isTTY;
    const writes: string[] = [];
    const spy = jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    stream.isTTY = true;
    let out = '';
    try {
      expect(await packsMain(['pull', 'tiny'], { out: (s) => (out += s), err: (s) => writes.push(s) })).toBe(0);
    } finally {
      stream.isTTY = wasTTY;
      spy.mockRestore();
    }
    expect(out).toMatch(/^pulled tiny into /);
    const bars = writes.filter((w) => w.startsWith('\r['));
    expect(bars.length).toBeGreaterThan(2);
    // Speed and ETA appear once the meter has a speed sample, which depends on the machine's pace, so
    // they are optional here (their wording is pinned above); one ETA at most, from the byte rate.
    const line = /^\r\[#*-*\] (\d+)\/1000 [\d.]+ K?B of 11\d\.\d KB, files (\d)\/6( [\d.]+ [KM]?B\/s eta (\d+m)?\d+s)?\x1b\[K$/;
    for (const b of bars) expect(b).toMatch(line);
    const permille = bars.map((b) => Number(line.exec(b)![1]));
    expect(permille).toEqual([...permille].sort((a, b) => a - b));
    expect(line.exec(bars[bars.length - 1]!)!.slice(1, 3)).toEqual(['1000', '6']);
    expect(writes[writes.length - 1]).toBe('\r\x1b[K');
  });
});
