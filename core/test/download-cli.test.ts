/**
 * `byteedit packs` as users run it, and pulls in separate processes: two concurrent pulls of one
 * pack, a pull killed (SIGKILL) at random points and resumed, and `verify` on a tampered pack.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { DIFFUSERS, LEGACY, OPTIMUM, REPO } from './helpers';
import { FakeHub, catalogOf, fixtureEntry, prng } from './download-hub';
import { loadCatalog, pullPack, readMarker, resolvePackRef, type CatalogEntry } from '../src/download/index';
import { packsMain } from '../src/cli/packs';

jest.setTimeout(90_000);

let hub: FakeHub;
let entry: CatalogEntry;
let work: string;
let cache: string;
let catalogFile: string;
let runner: string;
const savedEnv = { ...process.env };

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Runs `pullPack` in a child process; resolves with its exit code and output. */
function child(onLine?: (line: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolveChild) => {
    const p = spawn(process.execPath, [runner], {
      env: { PATH: process.env.PATH, NODE_PATH: join(REPO, 'node_modules'), HF_ENDPOINT: hub.endpoint, BYTEEDIT_CATALOG: catalogFile, BYTEEDIT_CACHE_DIR: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d;
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        onLine?.(line, () => p.kill('SIGKILL'));
      }
    });
    p.stderr.on('data', (d: Buffer) => (out += d));
    p.on('close', (code, signal) => resolveChild({ code, signal, out }));
  });
}

async function expectGoodPack(): Promise<void> {
  const folder = join(cache, 'packs', 'tiny');
  for (const f of entry.files) expect(sha(await fs.readFile(join(folder, f.path)))).toBe(f.sha256);
  expect(await readMarker(folder)).not.toBeNull();
  expect(await fs.readdir(join(cache, 'partial')).catch(() => [])).toEqual([]);
}

function capture(): { io: { out: (s: string) => void; err: (s: string) => void }; out: () => string; err: () => string } {
  let o = '';
  let e = '';
  return { io: { out: (s) => (o += s), err: (s) => (e += s) }, out: () => o, err: () => e };
}

beforeAll(async () => {
  hub = new FakeHub();
  await hub.start();
  entry = await fixtureEntry(hub, 'tiny', DIFFUSERS);
  work = await fs.mkdtemp(join(tmpdir(), 'byteedit-dlcli-'));
  catalogFile = join(work, 'catalog.json');
  await fs.writeFile(catalogFile, JSON.stringify(catalogOf(entry)));
  runner = join(work, 'pull-runner.js');
  // The child is the real pull code, bundled; it prints progress lines the parent can kill on.
  buildSync({
    stdin: {
      contents: `import { pullPack } from '../src/download/index';
        pullPack('tiny', { backoffMs: 5, idleMs: 2000, onProgress: (p) => process.stdout.write('progress ' + p.done + ' ' + p.total + '\\n'),
          onEvent: (e) => e.type === 'waiting' && process.stdout.write('waiting\\n') })
          .then((r) => process.stdout.write('result ' + JSON.stringify({ alreadyPresent: r.alreadyPresent }) + '\\n'),
                (e) => { process.stderr.write(String(e && e.message) + '\\n'); process.exit(1); });`,
      resolveDir: __dirname,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['onnxruntime-node'],
    outfile: runner,
    logLevel: 'error',
  });
});

afterAll(async () => {
  await hub.stop();
  await fs.rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  cache = await fs.mkdtemp(join(work, 'cache-'));
  hub.faults = {};
  hub.resetStats();
  process.env.BYTEEDIT_CATALOG = catalogFile;
  process.env.BYTEEDIT_CACHE_DIR = cache;
  process.env.HF_ENDPOINT = hub.endpoint;
});

afterEach(() => {
  process.env = { ...savedEnv };
});

const total = (): number => entry.files.reduce((a, f) => a + f.size!, 0);

describe('pulls in separate processes', () => {
  it('two concurrent pulls of one pack end with one good copy, downloaded once', async () => {
    hub.faults.chunkDelayMs = 15;
    const [a, b] = await Promise.all([child(), child()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const results = [a.out, b.out].map((o) => JSON.parse(/result (.*)/.exec(o)![1]!) as { alreadyPresent: boolean });
    expect(results.map((r) => r.alreadyPresent).sort()).toEqual([false, true]);
    expect(a.out + b.out).toMatch(/waiting/);
    expect(hub.stats.bytesServed).toBe(total());
    await expectGoodPack();
    expect(await fs.readdir(join(cache, 'locks'))).toEqual([]);
  });

  it('a pull killed at random points (SIGKILL) is resumed, taking over the dead lock', async () => {
    hub.faults.chunkDelayMs = 3;
    const rand = prng(99);
    let killed = 0;
    for (let round = 0; round < 3; round++) {
      const frac = rand();
      let base = -1;
      const r = await child((line, kill) => {
        const m = /^progress (\d+) (\d+)/.exec(line);
        if (!m) return;
        const done = Number(m[1]);
        if (base < 0) base = done;
        if (done > base && done >= base + frac * (Number(m[2]) - base)) kill();
      });
      if (r.signal === 'SIGKILL') {
        killed++;
        expect(await readMarker(join(cache, 'packs', 'tiny'))).toBeNull();
      }
    }
    expect(killed).toBeGreaterThan(0);
    // A killed process leaves its lock behind; the next pull must not wait on a dead pid.
    hub.faults = {};
    hub.resetStats();
    const t0 = Date.now();
    await pullPack('tiny', { backoffMs: 5 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(hub.stats.bytesServed).toBeLessThan(total());
    await expectGoodPack();
  });
});

describe('byteedit packs', () => {
  it('list, pull, verify, rm', async () => {
    let c = capture();
    expect(await packsMain(['list'], c.io)).toBe(0);
    expect(c.out()).toMatch(/^cache: .*\ntiny\s+absent\s+/);
    c = capture();
    expect(await packsMain(['pull', 'tiny', '--jobs', '2'], c.io)).toBe(0);
    expect(c.out()).toBe(`pulled tiny into ${join(cache, 'packs', 'tiny')}\n`);
    expect(c.err()).toBe('');
    c = capture();
    expect(await packsMain(['verify', 'tiny'], c.io)).toBe(0);
    expect(c.out()).toBe('tiny: ok (6 files match their sha256, 4 models opened and checked)\n');
    c = capture();
    expect(await packsMain(['list', '--json'], c.io)).toBe(0);
    expect(JSON.parse(c.out()).packs[0]).toMatchObject({ name: 'tiny', status: 'ready' });
    c = capture();
    expect(await packsMain(['rm', 'tiny'], c.io)).toBe(0);
    expect(c.out()).toMatch(/^removed tiny \(\d+(\.\d+)? KB\)\n$/);
    await expect(fs.stat(join(cache, 'packs', 'tiny'))).rejects.toThrow();
  });

  it('verify catches a pack whose ONNX signatures do not match its pack.json', async () => {
    await pullPack('tiny', { backoffMs: 5 });
    const manifestPath = join(cache, 'packs', 'tiny', 'pack.json');
    const original = await fs.readFile(manifestPath, 'utf8');
    type Manifest = { components: Record<string, { file: string }>; latent: { channels: number } };
    const cases: [(m: Manifest) => void, RegExp][] = [
      [(m) => (m.components.text_encoder.file = 'vae_encoder/model.onnx'), /text_encoder: no input named "input_ids"/],
      [(m) => (m.latent.channels = 3), /unet: "sample" has 9 channels; expected 7 \(inpainting\) or 3/],
      [(m) => (m.components.vae_decoder.file = 'vae_encoder/model.onnx'), /vae_decoder: no input named "latent_sample" or "latents" or "z" \(has "sample"\)/],
    ];
    for (const [edit, message] of cases) {
      const m = JSON.parse(original);
      edit(m);
      await fs.writeFile(manifestPath, JSON.stringify(m));
      const c = capture();
      expect(await packsMain(['verify', 'tiny'], c.io)).toBe(1);
      expect(c.err()).toMatch(/^byteedit: error \[pack_invalid\]: pack tiny failed verification: /);
      expect(c.err()).toMatch(message);
      expect(c.err().split('\n')).toHaveLength(2);
    }
    await fs.writeFile(manifestPath, original);
    expect(await packsMain(['verify', 'tiny'], capture().io)).toBe(0);
    // A folder path (a pack you exported yourself) is verified the same way; every export layout passes.
    for (const folder of [DIFFUSERS, OPTIMUM, LEGACY]) {
      const c = capture();
      expect(await packsMain(['verify', folder], c.io)).toBe(0);
      expect(c.out()).toBe(`${folder}: ok (no pinned checksums, 4 models opened and checked)\n`);
    }
  });

  it('bad input exits 2 with one line; a missing pack says how to pull it', async () => {
    const cases: [string[], RegExp][] = [
      [['pull'], /^byteedit: error \[invalid_argument\]: byteedit packs pull needs a pack NAME/],
      [['frob'], /^byteedit: error \[invalid_argument\]: unknown packs command "frob"/],
      [['pull', 'tiny', '--jobs', '0'], /--jobs must be an integer from 1 to 16, got 0/],
      [['pull', 'nope'], /^byteedit: error \[pack_not_found\]: no pack named "nope" in the catalog; known packs: tiny/],
      [['verify', 'tiny'], /^byteedit: error \[pack_not_found\]: pack tiny is not downloaded: run `byteedit packs pull tiny`/],
    ];
    for (const [argv, message] of cases) {
      const c = capture();
      expect(await packsMain(argv, c.io)).toBe(2);
      expect(c.err()).toMatch(message);
      expect(c.err().split('\n')).toHaveLength(2);
    }
    const c = capture();
    expect(await packsMain(['rm', 'tiny'], c.io)).toBe(0);
    expect(c.out()).toBe('tiny was not downloaded; nothing to remove\n');
  });

  it('a failed pull prints one line and keeps the partial files', async () => {
    const c = capture();
    hub.faults.status = (f) => (f.endsWith('unet/model.onnx') ? 404 : null);
    expect(await packsMain(['pull', 'tiny'], c.io)).toBe(2);
    expect(c.err()).toMatch(/^byteedit: error \[pack_not_found\]: http:\/\/127\.0\.0\.1:\d+\/test\/tiny\/resolve\/main\/unet\/model\.onnx was not found \(HTTP 404\)/);
    const left = await fs.readdir(join(cache, 'partial', 'tiny'));
    expect(left.length).toBeGreaterThan(0);
    expect(await readMarker(join(cache, 'packs', 'tiny'))).toBeNull();
  });
});

describe('byteedit packs import', () => {
  it('installs a locally built pack under a recipe-only catalog name, so the name resolves', async () => {
    const built = { ...entry, name: 'built', source: undefined, recipe: 'models/recipes/export_inpaint_pack.py', files: entry.files.map((f) => ({ ...f, sha256: null })) };
    await fs.writeFile(catalogFile, JSON.stringify(catalogOf(entry, built)));
    try {
      let c = capture();
      expect(await packsMain(['pull', 'built'], c.io)).toBe(2);
      expect(c.err()).toMatch(/pack built has no downloadable export on the hub; build it locally with models\/recipes\/export_inpaint_pack\.py/);
      await expect(resolvePackRef('built')).rejects.toThrow(/pack built is not downloaded/);
      c = capture();
      expect(await packsMain(['import', 'built', DIFFUSERS], c.io)).toBe(0);
      expect(c.out()).toBe(`imported ${DIFFUSERS} as built into ${join(cache, 'packs', 'built')}\n`);
      expect(await resolvePackRef('built')).toBe(join(cache, 'packs', 'built'));
      expect(await packsMain(['verify', 'built'], capture().io)).toBe(0);
      // A folder that lacks a listed file is refused, and nothing is installed.
      const partialCopy = join(work, 'incomplete');
      await fs.cp(DIFFUSERS, partialCopy, { recursive: true });
      await fs.rm(join(partialCopy, 'unet'), { recursive: true });
      await packsMain(['rm', 'built'], capture().io);
      c = capture();
      expect(await packsMain(['import', 'built', partialCopy], c.io)).toBe(2);
      expect(c.err()).toMatch(/^byteedit: error \[pack_file_missing\]: .*incomplete is not a built pack: missing unet\/model\.onnx\n$/);
      expect(await readMarker(join(cache, 'packs', 'built'))).toBeNull();
    } finally {
      await fs.writeFile(catalogFile, JSON.stringify(catalogOf(entry)));
    }
  });
});

describe('the shipped catalog', () => {
  it('is valid, names hub sources or recipes for every pack, and marks every entry unverified', async () => {
    delete process.env.BYTEEDIT_CATALOG;
    const cat = loadCatalog({});
    expect(cat.packs.map((p) => p.name)).toEqual(['sd15-inpainting', 'sd2-inpainting', 'sd15-inpainting-lcm', 'migan', 'lama', 'clip-vit-l14-rewards', 'laion-aesthetic-l14', 'clip-vit-b32-rewards']);
    for (const p of cat.packs) {
      expect(p.source ?? p.recipe).toBeTruthy();
      expect(p.verified?.urls).toBe(false);
      expect(p.license).toBeTruthy();
    }
    const c = capture();
    expect(await packsMain(['pull', 'sd15-inpainting-lcm'], c.io)).toBe(2);
    expect(c.err()).toMatch(/has no downloadable export on the hub; build it locally with models\/recipes\/export_inpaint_pack\.py/);
  });
});
