/**
 * Pulling packs from a loopback fake of the hub, with faults injected: resets mid-file, 5xx,
 * stalls, corrupt bytes, interruptions at random points. The bar: every pull either ends in a
 * verified pack or fails with a clear error and no pack marked ready; a rerun always finishes it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIFFUSERS, LEGACY } from './helpers';
import { FakeHub, catalogOf, fixtureEntry, prng } from './download-hub';
import { pullPack, verifyPack, removePack, listPacks, resolvePackRef, readMarker, type Catalog, type CatalogEntry, type PullOptions } from '../src/download/index';
import { DownloadError } from '../src/download/errors';
import { noProxyMatches, proxyFor } from '../src/download/http';
import { resolveCacheDir } from '../src/download/cache';

jest.setTimeout(60_000);

let hub: FakeHub;
let entry: CatalogEntry;
let catalog: Catalog;
let cache: string;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function opts(extra: Partial<PullOptions> = {}): PullOptions {
  return { cacheDir: cache, catalog, env: { HF_ENDPOINT: hub.endpoint }, backoffMs: 5, timeoutMs: 3000, idleMs: 400, retries: 4, ...extra };
}

/** The pulled pack holds exactly the fixture's bytes, and the core opens it. */
async function expectGoodPack(name = 'tiny'): Promise<void> {
  const folder = join(cache, 'packs', name);
  for (const f of entry.files) {
    const got = await fs.readFile(join(folder, f.path));
    expect(sha(got)).toBe(sha(await fs.readFile(join(DIFFUSERS, f.path))));
  }
  const report = await verifyPack(name, { cacheDir: cache, catalog, env: {} });
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.modelsOpened).toBe(4);
  const leftovers = await fs.readdir(join(cache, 'partial')).catch(() => []);
  expect(leftovers).toEqual([]);
}

beforeAll(async () => {
  hub = new FakeHub();
  await hub.start();
  entry = await fixtureEntry(hub, 'tiny', DIFFUSERS);
  catalog = catalogOf(entry);
});

afterAll(async () => {
  await hub.stop();
});

beforeEach(async () => {
  cache = await fs.mkdtemp(join(tmpdir(), 'byteedit-dl-'));
  hub.faults = {};
  hub.redirect = false;
  hub.resetStats();
});

afterEach(async () => {
  await fs.rm(cache, { recursive: true, force: true });
});

describe('pull', () => {
  it('downloads every file, verifies it and marks the pack ready in one rename', async () => {
    const progress: number[] = [];
    const r = await pullPack('tiny', opts({ onProgress: (p) => progress.push(p.done / p.total) }));
    expect(r.alreadyPresent).toBe(false);
    expect(r.folder).toBe(join(cache, 'packs', 'tiny'));
    await expectGoodPack();
    const marker = await readMarker(r.folder);
    expect(marker?.files.map((f) => f.pinnedFrom)).toEqual(entry.files.map(() => 'catalog'));
    expect(JSON.parse(await fs.readFile(join(r.folder, 'pack.json'), 'utf8'))).toEqual(entry.manifest);
    expect(progress[progress.length - 1]).toBe(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]! - 1e-9);
    const again = await pullPack('tiny', opts());
    expect(again.alreadyPresent).toBe(true);
  });

  it('follows the hub redirect and pins sha256 from X-Linked-Etag when the catalog has none', async () => {
    hub.redirect = true;
    const noSha = { ...entry, files: entry.files.map((f) => ({ ...f, sha256: null, size: null })) };
    const r = await pullPack('tiny', opts({ catalog: catalogOf(noSha) }));
    expect(r.pinnedHere.map((p) => p.pinnedFrom)).toEqual(entry.files.map(() => 'hub'));
    for (const p of r.pinnedHere) expect(p.sha256).toBe(entry.files.find((f) => f.path === p.path)!.sha256);
  });

  it('computes and pins sha256 at first download when neither catalog nor hub give one', async () => {
    const noSha = { ...entry, files: entry.files.map((f) => ({ ...f, sha256: null })) };
    const r = await pullPack('tiny', opts({ catalog: catalogOf(noSha) }));
    expect(r.pinnedHere.every((p) => p.pinnedFrom === 'computed')).toBe(true);
    // The pin is what later verification checks: corrupt one byte on disk and verify must say so.
    const unet = join(r.folder, 'unet/model.onnx');
    const bytes = await fs.readFile(unet);
    bytes[100] ^= 1;
    await fs.writeFile(unet, bytes);
    const report = await verifyPack('tiny', { cacheDir: cache, catalog: catalogOf(noSha), env: {} });
    expect(report.ok).toBe(false);
    expect(report.problems.join()).toMatch(/unet\/model\.onnx: sha256 .* does not match the pinned/);
  });

  it('resumes with Range after connection resets at random points in every file', async () => {
    const rand = prng(7);
    let resets = 0;
    hub.faults.resetAfter = (_f, _start, length) => (length > 1000 && rand() < 0.7 ? (resets++, Math.floor(rand() * length)) : null);
    await pullPack('tiny', opts({ retries: 50 }));
    expect(resets).toBeGreaterThan(3);
    expect(hub.stats.rangeRequests).toBeGreaterThan(0);
    await expectGoodPack();
  });

  it('retries 500s and succeeds; gives up after the retry budget with a clear error and no ready pack', async () => {
    hub.faults.status = (_f, n) => (n <= 3 ? 500 : null);
    await pullPack('tiny', opts());
    await expectGoodPack();

    await removePack('tiny', { cacheDir: cache, catalog, env: {} });
    hub.faults.status = (f) => (f.endsWith('unet/model.onnx') ? 503 : null);
    const err = await pullPack('tiny', opts({ retries: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).failure).toBe('network');
    expect((err as Error).message).toMatch(/unet\/model\.onnx failed 3 times in a row \(last: HTTP 503\); run the pull again to resume/);
    expect(await readMarker(join(cache, 'packs', 'tiny'))).toBeNull();
    await expect(resolvePackRef('tiny', { cacheDir: cache, catalog, env: {} })).rejects.toThrow(/pack tiny is not downloaded: run `byteedit packs pull tiny`/);
    hub.faults = {};
    await pullPack('tiny', opts());
    await expectGoodPack();
  });

  it('treats a stalled server as a dropped connection and resumes', async () => {
    hub.faults.stallMs = (f, n) => (f.endsWith('text_encoder/model.onnx') && n < 12 ? 1500 : null);
    hub.faults.chunkDelayMs = 1;
    const retries: string[] = [];
    await pullPack('tiny', opts({ idleMs: 200, onEvent: (e) => e.type === 'retry' && retries.push(e.why) }));
    expect(retries.some((w) => /no data for 200 ms/.test(w))).toBe(true);
    await expectGoodPack();
  });

  it('detects a corrupt byte, refetches once, and reports a persistent mismatch without marking the pack ready', async () => {
    // Corrupt only the first time: the refetch heals it.
    let served = 0;
    hub.faults.corruptAt = (f) => (f.endsWith('unet/model.onnx') && served++ === 0 ? 1234 : null);
    const events: string[] = [];
    await pullPack('tiny', opts({ onEvent: (e) => events.push(e.type) }));
    expect(events).toContain('checksum-retry');
    await expectGoodPack();

    await removePack('tiny', { cacheDir: cache, catalog, env: {} });
    hub.faults.corruptAt = (f) => (f.endsWith('unet/model.onnx') ? 4000 : null);
    const err = await pullPack('tiny', opts()).catch((e: unknown) => e);
    expect((err as DownloadError).failure).toBe('checksum_mismatch');
    expect((err as DownloadError).code).toBe('checksum_mismatch');
    expect((err as Error).message).toMatch(/unet\/model\.onnx: sha256 [0-9a-f]{64} does not match the expected/);
    expect(await readMarker(join(cache, 'packs', 'tiny'))).toBeNull();
    // The corrupt file is gone; the good ones are kept for the next pull.
    const partial = join(cache, 'partial', 'tiny');
    await expect(fs.stat(join(partial, 'unet/model.onnx.part'))).rejects.toThrow();
    hub.faults = {};
    hub.resetStats();
    await pullPack('tiny', opts());
    expect(hub.stats.bytesServed).toBeLessThan(entry.files.reduce((a, f) => a + f.size!, 0));
    await expectGoodPack();
  });

  it('catches a corrupt byte through the hub etag when the catalog has no sha256', async () => {
    hub.redirect = true;
    hub.faults.corruptAt = (f) => (f.endsWith('vae_decoder/model.onnx') ? 10 : null);
    const noSha = { ...entry, files: entry.files.map((f) => ({ ...f, sha256: null })) };
    const err = await pullPack('tiny', opts({ catalog: catalogOf(noSha) })).catch((e: unknown) => e);
    expect((err as DownloadError).failure).toBe('checksum_mismatch');
    expect((err as Error).message).toMatch(/\(hub\)/);
  });

  it('always resumes to a verified pack when interrupted at random points', async () => {
    const rand = prng(20261126);
    hub.faults.chunkDelayMs = 0;
    for (let round = 0; round < 6; round++) {
      let attempts = 0;
      for (;;) {
        attempts++;
        // Stop at a random point of what is left to fetch.
        const frac = rand();
        let base = -1;
        const controller = new AbortController();
        const onProgress = (p: { done: number; total: number }): void => {
          if (base < 0) base = p.done;
          if (p.done > base && p.done >= base + frac * (p.total - base)) controller.abort();
        };
        const res = await pullPack('tiny', opts({ concurrency: 1 + (round % 3), signal: controller.signal, onProgress })).then(
          () => 'done',
          (e: unknown) => e,
        );
        if (res === 'done') break;
        expect((res as DownloadError).code).toBe('cancelled');
        expect(await readMarker(join(cache, 'packs', 'tiny'))).toBeNull();
        expect(attempts).toBeLessThan(60);
      }
      expect(attempts).toBeGreaterThan(1);
      await expectGoodPack();
      await removePack('tiny', { cacheDir: cache, catalog, env: {} });
    }
  });

  it('says 404 plainly and does not retry it', async () => {
    const missing = { ...entry, files: [...entry.files, { path: 'extra/nothing.bin', size: 3, sha256: null }] };
    const err = await pullPack('tiny', opts({ catalog: catalogOf(missing) })).catch((e: unknown) => e);
    expect((err as DownloadError).failure).toBe('http_not_found');
    expect((err as Error).message).toMatch(/\/test\/tiny\/resolve\/main\/extra\/nothing\.bin was not found \(HTTP 404\)/);
  });

  it('says when the network is down', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await pullPack('tiny', opts({ env: { HF_ENDPOINT: `http://127.0.0.1:${port}` }, retries: 1 })).catch((e: unknown) => e);
    expect((err as DownloadError).failure).toBe('network');
    expect((err as Error).message).toMatch(/cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED.*check the network connection, HTTPS_PROXY\/NO_PROXY and HF_ENDPOINT/);
  });

  it('refuses to mark ready a pack whose ONNX signature does not match the catalog', async () => {
    // The legacy fixture's UNet has float16 I/O; a catalog that promises float32 must fail verification.
    const legacy = await fixtureEntry(hub, 'legacy', LEGACY);
    const unet = legacy.files.find((f) => f.path === 'unet/model.onnx')!;
    unet.signature = { inputs: [{ name: 'sample', type: 'float32', rank: 4 }] };
    const err = await pullPack('legacy', opts({ catalog: catalogOf(legacy) })).catch((e: unknown) => e);
    expect((err as DownloadError).failure).toBe('verify_failed');
    expect((err as Error).message).toMatch(/unet\/model\.onnx: input "sample" is float16, expected float32/);
    expect(await readMarker(join(cache, 'packs', 'legacy'))).toBeNull();
  });

  it('goes through an HTTP proxy from HTTP_PROXY, and around it for NO_PROXY', async () => {
    let proxied = 0;
    const proxy = http.createServer((req, res) => {
      proxied++;
      const target = new URL(req.url!);
      const up = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, headers: req.headers, method: req.method }, (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    try {
      await pullPack('tiny', opts({ env: { HF_ENDPOINT: hub.endpoint, HTTP_PROXY: proxyUrl } }));
      expect(proxied).toBe(entry.files.length);
      await removePack('tiny', { cacheDir: cache, catalog, env: {} });
      proxied = 0;
      await pullPack('tiny', opts({ env: { HF_ENDPOINT: hub.endpoint, http_proxy: proxyUrl, no_proxy: 'localhost,127.0.0.1' } }));
      expect(proxied).toBe(0);
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

describe('cache, list, rm, resolve', () => {
  it('puts the cache in the flag, BYTEEDIT_CACHE_DIR, XDG_CACHE_HOME or ~/.cache, in that order', () => {
    expect(resolveCacheDir('/x/flag', { BYTEEDIT_CACHE_DIR: '/x/env' }, 'linux', '/home/u')).toBe('/x/flag');
    expect(resolveCacheDir(undefined, { BYTEEDIT_CACHE_DIR: '/x/env', XDG_CACHE_HOME: '/x/xdg' }, 'linux', '/home/u')).toBe('/x/env');
    expect(resolveCacheDir(undefined, { XDG_CACHE_HOME: '/x/xdg' }, 'linux', '/home/u')).toBe('/x/xdg/byteedit');
    expect(resolveCacheDir(undefined, { XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u')).toBe('/home/u/.cache/byteedit');
    expect(resolveCacheDir(undefined, {}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Caches/byteedit');
  });

  it('lists status, removes packs and partials, and resolves names and folders', async () => {
    const ctx = { cacheDir: cache, catalog, env: {} };
    expect((await listPacks(ctx)).map((p) => p.status)).toEqual(['absent']);
    const controller = new AbortController();
    await pullPack('tiny', opts({ signal: controller.signal, concurrency: 1, onProgress: (p) => p.done > 3000 && controller.abort() })).catch(() => undefined);
    expect((await listPacks(ctx))[0]!.status).toBe('partial');
    await pullPack('tiny', opts());
    const [ready] = await listPacks(ctx);
    expect(ready!.status).toBe('ready');
    expect(ready!.bytesOnDisk).toBeGreaterThan(entry.files.reduce((a, f) => a + f.size!, 0));
    expect(await resolvePackRef('tiny', ctx)).toBe(join(cache, 'packs', 'tiny'));
    expect(await resolvePackRef(DIFFUSERS, ctx)).toBe(DIFFUSERS);
    await expect(resolvePackRef('nope', ctx)).rejects.toThrow(/"nope" is neither a pack folder nor a catalog pack name; known names: tiny/);
    expect(await removePack('tiny', ctx)).toEqual({ removed: true, bytes: ready!.bytesOnDisk });
    expect((await listPacks(ctx))[0]!.status).toBe('absent');
    await expect(resolvePackRef('tiny', ctx)).rejects.toMatchObject({ code: 'pack_not_found' });
  });

  it('matches NO_PROXY entries the way curl does', () => {
    const u = new URL('https://cdn-lfs.hf.co/x');
    expect(noProxyMatches(u, 'hf.co')).toBe(true);
    expect(noProxyMatches(u, '.hf.co')).toBe(true);
    expect(noProxyMatches(u, 'example.com,*')).toBe(true);
    expect(noProxyMatches(u, 'f.co')).toBe(false);
    expect(noProxyMatches(u, 'hf.co:80')).toBe(false);
    expect(proxyFor(u, { HTTPS_PROXY: 'http://p:3128' })?.host).toBe('p:3128');
    expect(proxyFor(new URL('http://a/x'), { HTTPS_PROXY: 'http://p:3128' })).toBeNull();
    expect(() => proxyFor(u, { HTTPS_PROXY: 'socks5://p:1080' })).toThrow(/only http:\/\/ proxies/);
  });
});

describe('https', () => {
  let tlsHub: FakeHub;
  let cert: string;
  let tlsCatalog: Catalog;

  beforeAll(async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'byteedit-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    cert = await fs.readFile(join(dir, 'cert.pem'), 'utf8');
    const key = await fs.readFile(join(dir, 'key.pem'), 'utf8');
    await fs.rm(dir, { recursive: true, force: true });
    tlsHub = new FakeHub();
    await tlsHub.start({ key, cert });
    tlsCatalog = catalogOf(await fixtureEntry(tlsHub, 'tiny', DIFFUSERS));
  });

  afterAll(async () => {
    await tlsHub.stop();
  });

  it('tunnels through an HTTPS_PROXY with CONNECT and checks the origin certificate', async () => {
    const tunnels: string[] = [];
    const proxy = http.createServer((_req, res) => res.writeHead(405).end());
    const open = new Set<net.Socket>();
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      tunnels.push(req.url!);
      open.add(client);
      const [host, port] = req.url!.split(':');
      if (host !== '127.0.0.1') return client.destroy();
      const up = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const env = { HF_ENDPOINT: tlsHub.endpoint, HTTPS_PROXY: `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}` };
    try {
      await pullPack('tiny', { ...opts({ catalog: tlsCatalog, env }), ca: cert });
      expect(tunnels.length).toBe(entry.files.length);
      expect(new Set(tunnels)).toEqual(new Set([`127.0.0.1:${tlsHub.port}`]));
      await expectGoodPack();
      await removePack('tiny', { cacheDir: cache, catalog: tlsCatalog, env: {} });
      // Without the CA the self-signed origin is refused at once, with advice, not retried.
      const err = await pullPack('tiny', opts({ catalog: tlsCatalog, env })).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/the TLS certificate of 127\.0\.0\.1:\d+ is not trusted \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\); .*NODE_EXTRA_CA_CERTS/);
    } finally {
      for (const sock of open) sock.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

// A full disk, for real: a 64 KB tmpfs as the cache (the fixture pack is ~115 KB). Needs root and
// mount(2), which the development machine has; elsewhere the test is skipped and says so.
const canMount = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'byteedit-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

(canMount ? describe : describe.skip)(`disk full${canMount ? '' : ' (skipped: cannot mount a tmpfs here)'}`, () => {
  let tinyFs: string;
  beforeAll(() => {
    tinyFs = mkdtempSync(join(tmpdir(), 'byteedit-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', tinyFs], { stdio: 'ignore' });
  });
  afterAll(() => {
    execFileSync('umount', [tinyFs]);
    rmSync(tinyFs, { recursive: true, force: true });
  });

  it('stops with disk_full, keeps what fit, and marks nothing ready', async () => {
    const err = await pullPack('tiny', opts({ cacheDir: tinyFs, onnxCheck: false })).catch((e: unknown) => e);
    expect((err as DownloadError).failure).toBe('disk_full');
    expect((err as DownloadError).code).toBe('disk_full');
    expect((err as Error).message).toMatch(/no space left on the device while writing .*; free some space \(or set BYTEEDIT_CACHE_DIR to a bigger disk\) and run the pull again/);
    expect(await readMarker(join(tinyFs, 'packs', 'tiny'))).toBeNull();
    const kept = await fs.readdir(join(tinyFs, 'partial', 'tiny'), { recursive: true });
    expect(kept.length).toBeGreaterThan(0);
  });
});
