/** The one overall progress figure of a pull (bytes, speed, ETA) and how the CLI draws it on a terminal. */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProgressMeter, type PullProgress } from '../src/download/progress';
import { packsMain } from '../src/cli/packs';
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
    // speed and ETA units follow the machine's load (B/s on a busy CI box, 1m30s when slow)
    expect(bars.some((b) => /^\r\[#*-*\] \d+\/1000 [\d.]+ K?B of 11\d\.\d KB, files \d\/6 [\d.]+ [KM]?B\/s eta (\d+m)?\d+s\x1b\[K$/.test(b))).toBe(true);
    expect(writes[writes.length - 1]).toBe('\r\x1b[K');
  });
});
