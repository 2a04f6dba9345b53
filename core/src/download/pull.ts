/**
 * `byteedit packs pull NAME`: every file of a catalog entry into <cache>/partial/NAME (resumable
 * parts, several files at once, one progress figure), each file checked against its sha256 (the
 * catalog's, else the hub's X-Linked-Etag, else computed now and pinned), pack.json written, the
 * whole folder verified, the marker written, and then one rename makes it <cache>/packs/NAME.
 * A pack folder therefore exists only when it is complete. All under the pack's lock.
 */
import { setMaxListeners } from 'node:events';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { SdkError } from '../util/errors';
import { findEntry, isDownloadable, loadCatalog, type Catalog, type CatalogEntry, type CatalogFile } from './catalog';
import { cachePaths, MARKER, MARKER_SCHEMA, readMarker, resolveCacheDir, type PinnedFile, type PullMarker } from './cache';
import { DownloadError, fsWriteError } from './errors';
import type { Env } from './http';
import { acquireLock, type LockOptions } from './lock';
import { ProgressMeter, type PullProgress } from './progress';
import { sha256File, transfer } from './transfer';
import { verifyError, verifyFolder } from './verify';
import type { Runtime } from '../runtime/types';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
const PROGRESS_FILE = '.byteedit-progress.json';

export type PullEvent =
  | { type: 'waiting'; pid: number; host: string }
  | { type: 'retry'; file: string; why: string; attempt: number }
  | { type: 'checksum-retry'; file: string }
  | { type: 'pinned'; file: string; sha256: string; from: 'hub' | 'computed' }
  | { type: 'verifying' };

export interface PullOptions {
  cacheDir?: string;
  env?: Env;
  catalog?: Catalog;
  /** Files downloaded at once (default 4). */
  concurrency?: number;
  /** Failed attempts in a row, without progress, before a file gives up (default 6). */
  retries?: number;
  backoffMs?: number;
  /** Connect + headers timeout (default 30 s) and stall timeout (default 60 s). */
  timeoutMs?: number;
  idleMs?: number;
  /** Open the models and check their layouts before marking the pack ready (default true). */
  onnxCheck?: boolean;
  runtime?: Runtime;
  /** Extra trusted CA certificates (PEM) for https (NODE_EXTRA_CA_CERTS also works). */
  ca?: string | Buffer;
  signal?: AbortSignal;
  lock?: Omit<LockOptions, 'signal' | 'onWait'>;
  onProgress?: (p: PullProgress) => void;
  onEvent?: (e: PullEvent) => void;
}

export interface PullResult {
  name: string;
  folder: string;
  alreadyPresent: boolean;
  files: PinnedFile[];
  /** Files whose sha256 was not in the catalog: pinned from the hub or computed here. */
  pinnedHere: PinnedFile[];
}

export function hubEndpoint(env: Env): string {
  return (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

export function fileUrl(endpoint: string, entry: CatalogEntry, f: CatalogFile): string {
  const repo = f.repo ?? entry.source?.repo;
  const rev = f.revision ?? entry.source?.revision ?? 'main';
  if (!repo) throw new DownloadError('not_downloadable', `${entry.name}/${f.path} has no source repo`);
  const enc = (p: string): string => p.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${enc(repo)}/resolve/${encodeURIComponent(rev)}/${enc(f.file ?? f.path)}`;
}

async function sizeOf(p: string): Promise<number | null> {
  try {
    return (await fs.stat(p)).size;
  } catch {
    return null;
  }
}

async function readProgress(dir: string): Promise<Map<string, PinnedFile>> {
  try {
    const list = JSON.parse(await fs.readFile(join(dir, PROGRESS_FILE), 'utf8')) as PinnedFile[];
    return new Map(list.map((p) => [p.path, p]));
  } catch {
    return new Map();
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw fsWriteError(err, path);
  }
}

export async function pullPack(name: string, options: PullOptions = {}): Promise<PullResult> {
  const env = options.env ?? process.env;
  const catalog = options.catalog ?? loadCatalog(env);
  const entry = findEntry(catalog, name);
  if (!isDownloadable(entry)) {
    throw new DownloadError('not_downloadable', `pack ${name} has no downloadable export on the hub; build it locally with ${entry.recipe ?? 'the recipe in models/recipes/'} (see docs/packs-download.md)`);
  }
  const paths = cachePaths(resolveCacheDir(options.cacheDir, env), name);
  const present = async (): Promise<PullResult | null> => {
    const marker = await readMarker(paths.pack);
    return marker ? { name, folder: paths.pack, alreadyPresent: true, files: marker.files, pinnedHere: [] } : null;
  };
  const early = await present();
  if (early) return early;

  const lock = await acquireLock(paths.lock, { ...options.lock, signal: options.signal, onWait: (h) => options.onEvent?.({ type: 'waiting', ...h }) });
  try {
    // Whoever held the lock may have just finished this very pack.
    const done = await present();
    if (done) return done;
    return await pullLocked(entry, paths, env, options);
  } finally {
    await lock.release();
  }
}

async function pullLocked(entry: CatalogEntry, paths: ReturnType<typeof cachePaths>, env: Env, o: PullOptions): Promise<PullResult> {
  const endpoint = hubEndpoint(env);
  const token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  const authHost = new URL(endpoint).host;
  try {
    await fs.mkdir(paths.partial, { recursive: true });
  } catch (err) {
    throw fsWriteError(err, paths.partial);
  }
  const pins = await readProgress(paths.partial);
  const meter = new ProgressMeter(o.onProgress);
  for (const f of entry.files) {
    const pin = pins.get(f.path);
    const finalSize = await sizeOf(join(paths.partial, f.path));
    if (pin && finalSize === pin.size) meter.addFile(f.path, pin.size, pin.size);
    else {
      pins.delete(f.path);
      meter.addFile(f.path, f.size ?? null, (await sizeOf(join(paths.partial, `${f.path}.part`))) ?? 0);
    }
  }
  meter.tick(true);

  // Progress records are written one at a time (files finish concurrently).
  let saving: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => (saving = saving.then(() => writeAtomic(join(paths.partial, PROGRESS_FILE), JSON.stringify([...pins.values()], null, 1))));

  // One failing file stops the others (their parts stay for the next pull); so does the caller's signal.
  const inner = new AbortController();
  const signal = inner.signal;
  // Every in-flight request listens on it (files x retries): not a leak, so lift Node's warning.
  setMaxListeners(0, signal);
  const onOuterAbort = (): void => inner.abort();
  if (o.signal?.aborted) inner.abort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const fetchOne = async (f: CatalogFile): Promise<void> => {
    if (pins.has(f.path)) return;
    const final = join(paths.partial, f.path);
    const part = `${final}.part`;
    await fs.mkdir(dirname(final), { recursive: true });
    const url = fileUrl(endpoint, entry, f);
    for (let attempt = 0; ; attempt++) {
      const got = await transfer(url, part, f.size ?? null, {
        env,
        ca: o.ca,
        authorization: token ? `Bearer ${token}` : undefined,
        authHost,
        signal,
        timeoutMs: o.timeoutMs ?? 30_000,
        idleMs: o.idleMs ?? 60_000,
        retries: o.retries ?? 6,
        backoffMs: o.backoffMs ?? 500,
        onBytes: (d) => meter.bytes(f.path, d),
        onSize: (s) => meter.setSize(f.path, s),
        onRetry: (why, n) => o.onEvent?.({ type: 'retry', file: f.path, why, attempt: n }),
      });
      const sha = await sha256File(part, signal);
      const expected = f.sha256 ?? got.hubSha256;
      if (expected && sha !== expected) {
        // A corrupt part cannot be resumed: drop it and fetch the file once more before giving up.
        await fs.rm(part, { force: true });
        meter.reset(f.path);
        if (attempt >= 1) {
          throw new DownloadError('checksum_mismatch', `${entry.name}/${f.path}: sha256 ${sha} does not match the expected ${expected} (${f.sha256 ? 'catalog' : 'hub'}), twice; the download is corrupted on the way (proxy?) or the catalog is out of date. The corrupt file was removed; other finished files are kept`);
        }
        o.onEvent?.({ type: 'checksum-retry', file: f.path });
        continue;
      }
      const from = f.sha256 ? 'catalog' : got.hubSha256 ? 'hub' : 'computed';
      if (from !== 'catalog') o.onEvent?.({ type: 'pinned', file: f.path, sha256: sha, from });
      try {
        await fs.rename(part, final);
      } catch (err) {
        throw fsWriteError(err, final);
      }
      pins.set(f.path, { path: f.path, size: got.size, sha256: sha, pinnedFrom: from });
      meter.fileDone(f.path, got.size);
      await save();
      return;
    }
  };

  // Largest first, so the long file starts early and small ones fill the gaps.
  const queue = [...entry.files].sort((a, b) => (b.size ?? 0) - (a.size ?? 0));
  const workers = Math.max(1, Math.min(o.concurrency ?? 4, queue.length));
  let firstError: unknown = null;
  const run = async (): Promise<void> => {
    for (let f = queue.shift(); f && !firstError; f = queue.shift()) {
      try {
        await fetchOne(f);
      } catch (err) {
        firstError ??= err;
        inner.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, run));
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
    await saving.catch(() => undefined);
  }
  if (firstError) {
    if (o.signal?.aborted) throw new SdkError('cancelled', `pull of ${entry.name} cancelled; run it again to resume`, { cause: firstError });
    throw firstError;
  }

  if (entry.manifest) await writeAtomic(join(paths.partial, 'pack.json'), `${JSON.stringify(entry.manifest, null, 2)}\n`);
  const files = entry.files.map((f) => pins.get(f.path)!);
  o.onEvent?.({ type: 'verifying' });
  const report = await verifyFolder(paths.partial, files, { hash: false, onnx: o.onnxCheck !== false, runtime: o.runtime, entry, signal: o.signal });
  if (!report.ok) {
    // Keep the files (they match their checksums); the catalog entry or the export is wrong.
    throw new DownloadError('verify_failed', verifyError(entry.name, report).message);
  }
  const marker: PullMarker = {
    schema: MARKER_SCHEMA,
    name: entry.name,
    kind: entry.kind,
    license: entry.license,
    source: entry.source ? { ...entry.source, endpoint } : undefined,
    files,
    pulledAt: new Date().toISOString(),
  };
  await writeAtomic(join(paths.partial, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  await fs.rm(join(paths.partial, PROGRESS_FILE), { force: true });
  // A leftover folder without a marker (an old crash during rm) must not block the rename.
  await fs.rm(paths.pack, { recursive: true, force: true });
  await fs.mkdir(dirname(paths.pack), { recursive: true });
  try {
    await fs.rename(paths.partial, paths.pack);
  } catch (err) {
    throw fsWriteError(err, paths.pack);
  }
  return { name: entry.name, folder: paths.pack, alreadyPresent: false, files, pinnedHere: files.filter((p) => p.pinnedFrom !== 'catalog') };
}
