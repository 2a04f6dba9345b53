/**
 * A loopback stand-in for the model hub: `/<repo>/resolve/<rev>/<file>` with Range support, an
 * optional hub-style redirect to a "CDN" path carrying X-Linked-Etag (the file's sha256), and
 * injected faults: connection resets mid-body, 5xx answers, stalls, and corrupted bytes.
 * Binds 127.0.0.1 only.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Catalog, CatalogEntry } from '../src/download/catalog';

export interface Faults {
  /** Bytes of body to send before destroying the socket, or null to send it all. */
  resetAfter?: (file: string, start: number, length: number) => number | null;
  /** Status to answer instead of the file (e.g. 500), or null. */
  status?: (file: string, requestNo: number) => number | null;
  /** Pause this long after the first 4 KB of the body (a stalled server), or null. */
  stallMs?: (file: string, requestNo: number) => number | null;
  /** Absolute offset in the file whose byte is flipped when served, or null. */
  corruptAt?: (file: string, requestNo: number) => number | null;
  /** Delay between 4 KB chunks (a slow server). */
  chunkDelayMs?: number;
}

export interface HubStats {
  requests: number;
  rangeRequests: number;
  bytesServed: number;
  perFile: Map<string, number>;
}

export class FakeHub {
  readonly files = new Map<string, Buffer>();
  faults: Faults = {};
  /** Send the hub's 302 to /cdn/<sha> with X-Linked-Etag. */
  redirect = false;
  stats: HubStats = { requests: 0, rangeRequests: 0, bytesServed: 0, perFile: new Map() };
  private server: http.Server | null = null;
  private readonly sockets = new Set<import('node:net').Socket>();

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get endpoint(): string {
    return `${this.scheme}://127.0.0.1:${this.port}`;
  }

  add(repo: string, rev: string, file: string, bytes: Buffer): void {
    this.files.set(`/${repo}/resolve/${rev}/${file}`, bytes);
  }

  resetStats(): void {
    this.stats = { requests: 0, rangeRequests: 0, bytesServed: 0, perFile: new Map() };
  }

  private scheme = 'http';

  /** Plain HTTP, or HTTPS with the given key and certificate. */
  async start(tls?: { key: string; cert: string }): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.handle(req, res);
    this.scheme = tls ? 'https' : 'http';
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const n = ++this.stats.requests;
    const url = decodeURIComponent((req.url ?? '').split('?')[0]!);
    let key = url;
    if (url.startsWith('/cdn/')) key = url.slice(4);
    const body = this.files.get(key);
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const status = this.faults.status?.(key, n);
    if (status) {
      res.writeHead(status).end('injected');
      return;
    }
    if (this.redirect && !url.startsWith('/cdn/')) {
      const sha = createHash('sha256').update(body).digest('hex');
      res.writeHead(302, { location: `/cdn${key}?sig=x`, 'x-linked-etag': `"${sha}"`, 'x-linked-size': String(body.length) }).end();
      return;
    }
    let start = 0;
    let end = body.length - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range) {
      this.stats.rangeRequests++;
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
    }
    const slice = Buffer.from(body.subarray(start, end + 1));
    const corrupt = this.faults.corruptAt?.(key, n);
    if (corrupt != null && corrupt >= start && corrupt <= end) slice[corrupt - start] ^= 0xff;
    const headers: http.OutgoingHttpHeaders = { 'content-length': slice.length, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (range) headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
    res.writeHead(range ? 206 : 200, headers);
    const stall = this.faults.stallMs?.(key, n);
    const cut = this.faults.resetAfter?.(key, start, slice.length) ?? null;
    const limit = cut === null ? slice.length : Math.min(cut, slice.length);
    for (let o = 0; o < limit && !res.destroyed; o += 4096) {
      const chunk = slice.subarray(o, Math.min(limit, o + 4096));
      this.stats.bytesServed += chunk.length;
      this.stats.perFile.set(key, (this.stats.perFile.get(key) ?? 0) + chunk.length);
      const ok = res.write(chunk);
      if (!ok) await new Promise((r) => res.once('drain', r));
      if (stall && o === 0) await new Promise((r) => setTimeout(r, stall));
      if (this.faults.chunkDelayMs) await new Promise((r) => setTimeout(r, this.faults.chunkDelayMs));
    }
    if (cut !== null && cut < slice.length) {
      // Let the bytes already written leave, then drop the connection as a reset would.
      await new Promise((r) => setTimeout(r, 5));
      req.socket.destroy();
      return;
    }
    res.end();
  }
}

/** A catalog entry serving a fixture pack folder from the fake hub; the fixture's pack.json becomes the manifest. */
export async function fixtureEntry(hub: FakeHub, name: string, folder: string, opts: { repo?: string; rev?: string; withSha?: boolean; withSize?: boolean } = {}): Promise<CatalogEntry> {
  const repo = opts.repo ?? `test/${name}`;
  const rev = opts.rev ?? 'main';
  const manifest = JSON.parse(await fs.readFile(join(folder, 'pack.json'), 'utf8')) as Record<string, unknown>;
  const files: CatalogEntry['files'] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(join(folder, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (r !== 'pack.json') {
        const bytes = await fs.readFile(join(folder, r));
        hub.add(repo, rev, r, bytes);
        files.push({ path: r, size: opts.withSize === false ? null : bytes.length, sha256: opts.withSha === false ? null : createHash('sha256').update(bytes).digest('hex') });
      }
    }
  };
  await walk('');
  return { name, title: name, kind: 'inpainting', license: 'CC0-1.0', source: { repo, revision: rev }, files, manifest };
}

export function catalogOf(...packs: CatalogEntry[]): Catalog {
  return { schema: 'byteedit.catalog/1', packs };
}

/** A small deterministic PRNG for reproducible "random" interruption points. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
