/**
 * Packs by name (Node only): the catalog, the local cache, and pull / verify / rm / list on it.
 * `resolvePackRef` lets the CLI and the bridge take a catalog name wherever they take a folder.
 */
import { promises as fs } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { SdkError } from '../util/errors';
import { findEntry, isDownloadable, loadCatalog, type Catalog, type CatalogEntry } from './catalog';
import { cachePaths, exists, folderBytes, readMarker, resolveCacheDir } from './cache';
import type { Env } from './http';
import { join } from 'node:path';
import { MARKER, MARKER_SCHEMA, type PinnedFile, type PullMarker } from './cache';
import { DownloadError, fsWriteError } from './errors';
import { acquireLock } from './lock';
import { sha256File } from './transfer';
import { verifyError, verifyFolder, type VerifyOptions, type VerifyReport } from './verify';
import type { Runtime } from '../runtime/types';

export { loadCatalog, validateCatalog, findEntry, CATALOG_SCHEMA, type Catalog, type CatalogEntry, type CatalogFile, type IoSignature } from './catalog';
export { resolveCacheDir, cachePaths, readMarker, MARKER, type PinnedFile, type PullMarker } from './cache';
export { pullPack, hubEndpoint, fileUrl, DEFAULT_ENDPOINT, type PullOptions, type PullResult, type PullEvent } from './pull';
export { verifyFolder, checkSignature, type VerifyOptions, type VerifyReport } from './verify';
export { DownloadError, type DownloadFailure } from './errors';
export { proxyFor, noProxyMatches, type Env } from './http';
export type { PullProgress } from './progress';

export interface CacheOptions {
  cacheDir?: string;
  env?: Env;
  catalog?: Catalog;
}

export type PackStatus = 'ready' | 'partial' | 'absent' | 'recipe-only';

export interface PackListing {
  name: string;
  title: string;
  kind: CatalogEntry['kind'];
  license: string;
  status: PackStatus;
  folder: string;
  /** Bytes on disk (the pack, or the partial download). */
  bytesOnDisk: number;
  /** Sum of the catalog's sizes, null when some are unknown. */
  catalogBytes: number | null;
  /** Whether the catalog entry's URLs/sizes/hashes were checked by a person (see the catalog). */
  verifiedCatalog: boolean;
}

function ctx(o: CacheOptions): { env: Env; catalog: Catalog; root: string } {
  const env = o.env ?? process.env;
  return { env, catalog: o.catalog ?? loadCatalog(env), root: resolveCacheDir(o.cacheDir, env) };
}

export async function listPacks(o: CacheOptions = {}): Promise<PackListing[]> {
  const { catalog, root } = ctx(o);
  const out: PackListing[] = [];
  for (const e of catalog.packs) {
    const p = cachePaths(root, e.name);
    const ready = (await readMarker(p.pack)) !== null;
    const partial = !ready && (await exists(p.partial));
    const sizes = e.files.map((f) => f.size);
    out.push({
      name: e.name,
      title: e.title,
      kind: e.kind,
      license: e.license,
      status: ready ? 'ready' : partial ? 'partial' : isDownloadable(e) ? 'absent' : 'recipe-only',
      folder: ready ? p.pack : p.partial,
      bytesOnDisk: ready ? await folderBytes(p.pack) : partial ? await folderBytes(p.partial) : 0,
      catalogBytes: sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : null,
      verifiedCatalog: Boolean(e.verified?.urls && e.verified?.sizes && e.verified?.sha256),
    });
  }
  return out;
}

/**
 * The learned erase pack that routing uses when a request names none: BYTEEDIT_INPAINT_PACK (a
 * folder or catalog name; `none` turns routing to erase packs off), else the first catalog pack of
 * family inpaint that has been pulled (catalog order: MI-GAN before LaMa), else undefined.
 */
export async function installedInpaintPack(o: CacheOptions = {}): Promise<string | undefined> {
  const env = o.env ?? process.env;
  const set = env.BYTEEDIT_INPAINT_PACK;
  if (set) return set === 'none' ? undefined : set;
  const { catalog, root } = ctx(o);
  for (const e of catalog.packs) {
    if (e.manifest?.family !== 'inpaint') continue;
    if (await readMarker(cachePaths(root, e.name).pack)) return e.name;
  }
  return undefined;
}

/** Verifies a pulled pack: pinned sha256s, pack.json, and every model's layout. */
export async function verifyPack(name: string, o: CacheOptions & Omit<VerifyOptions, 'entry'> = {}): Promise<VerifyReport> {
  const { catalog, root } = ctx(o);
  const entry = findEntry(catalog, name);
  const p = cachePaths(root, name);
  const marker = await readMarker(p.pack);
  if (!marker) throw new SdkError('pack_not_found', `pack ${name} is not downloaded: run \`byteedit packs pull ${name}\``);
  return verifyFolder(p.pack, marker.files, { ...o, entry });
}

/** Removes a pack and any partial download of it (waits for a pull in progress to finish). */
export async function removePack(name: string, o: CacheOptions & { waitMs?: number } = {}): Promise<{ removed: boolean; bytes: number }> {
  const { catalog, root } = ctx(o);
  findEntry(catalog, name);
  const p = cachePaths(root, name);
  const lock = await acquireLock(p.lock, { waitMs: o.waitMs ?? 0 });
  try {
    const bytes = (await folderBytes(p.pack)) + (await folderBytes(p.partial));
    const had = (await exists(p.pack)) || (await exists(p.partial));
    // Rename first so a crash mid-delete never leaves something that looks like a pack.
    if (await exists(p.pack)) {
      const grave = `${p.pack}.removing-${process.pid}`;
      await fs.rename(p.pack, grave);
      await fs.rm(grave, { recursive: true, force: true });
    }
    await fs.rm(p.partial, { recursive: true, force: true });
    return { removed: had, bytes };
  } finally {
    await lock.release();
  }
}

function looksLikePath(ref: string): boolean {
  return isAbsolute(ref) || ref.startsWith('.') || ref.includes('/') || ref.includes('\\') || ref.startsWith('~');
}

/**
 * A pack reference as users type it: a folder path stays a (resolved) path; a catalog name becomes
 * the cached pack's folder once it has been pulled and verified, else a pack_not_found error that
 * says how to pull it. A bare word that is an existing folder is taken as a folder.
 */
export async function resolvePackRef(ref: string, o: CacheOptions = {}): Promise<string> {
  if (looksLikePath(ref)) return resolve(ref);
  if (await fs.stat(ref).then((s) => s.isDirectory(), () => false)) return resolve(ref);
  const { catalog, root } = ctx(o);
  const entry = catalog.packs.find((e) => e.name === ref);
  if (!entry) {
    throw new SdkError('pack_not_found', `"${ref}" is neither a pack folder nor a catalog pack name; known names: ${catalog.packs.map((e) => e.name).join(', ')} (byteedit packs list)`);
  }
  const p = cachePaths(root, ref);
  if (!(await readMarker(p.pack))) {
    throw new SdkError('pack_not_found', `pack ${ref} is not downloaded: run \`byteedit packs pull ${ref}\``);
  }
  return p.pack;
}

export { verifyError };

/**
 * Installs a pack you built (e.g. with models/recipes/) under a catalog name, so the name works
 * wherever a folder does. The folder is copied (never moved), must hold every file the catalog
 * entry lists, is verified like a pull, and its sha256s are computed and pinned.
 */
export async function importPack(name: string, folder: string, o: CacheOptions & { onnx?: boolean; runtime?: Runtime } = {}): Promise<{ folder: string; files: PinnedFile[] }> {
  const { catalog, root } = ctx(o);
  const entry = findEntry(catalog, name);
  const src = resolve(folder);
  const missing: string[] = [];
  for (const f of entry.files) if (!(await exists(join(src, f.path)))) missing.push(f.path);
  if (entry.kind === 'inpainting' && !(await exists(join(src, 'pack.json')))) missing.push('pack.json');
  if (missing.length > 0) throw new SdkError('pack_file_missing', `${src} is not a ${name} pack: missing ${missing.join(', ')}`);
  const p = cachePaths(root, name);
  const lock = await acquireLock(p.lock, { waitMs: 0 });
  try {
    await fs.rm(p.partial, { recursive: true, force: true });
    try {
      await fs.mkdir(join(root, 'partial'), { recursive: true });
      await fs.cp(src, p.partial, { recursive: true });
    } catch (err) {
      throw fsWriteError(err, p.partial);
    }
    const files: PinnedFile[] = [];
    for (const f of entry.files) {
      const path = join(p.partial, f.path);
      const sha = await sha256File(path);
      if (f.sha256 && sha !== f.sha256) throw new DownloadError('checksum_mismatch', `${src}/${f.path}: sha256 ${sha} differs from the catalog's ${f.sha256}; this is not the pack the catalog names`);
      files.push({ path: f.path, size: (await fs.stat(path)).size, sha256: sha, pinnedFrom: f.sha256 ? 'catalog' : 'computed' });
    }
    const report = await verifyFolder(p.partial, files, { hash: false, onnx: o.onnx, runtime: o.runtime, entry });
    if (!report.ok) throw new DownloadError('verify_failed', verifyError(name, report).message);
    const marker: PullMarker = { schema: MARKER_SCHEMA, name, kind: entry.kind, license: entry.license, files, pulledAt: new Date().toISOString() };
    await fs.writeFile(join(p.partial, MARKER), `${JSON.stringify({ ...marker, importedFrom: src }, null, 2)}\n`);
    await fs.rm(p.pack, { recursive: true, force: true });
    await fs.mkdir(join(root, 'packs'), { recursive: true });
    await fs.rename(p.partial, p.pack);
    return { folder: p.pack, files };
  } catch (err) {
    await fs.rm(p.partial, { recursive: true, force: true });
    throw err;
  } finally {
    await lock.release();
  }
}
