/**
 * The pack catalog (catalog.json next to this file, bundled into the build, so an installed
 * @byteedit/core carries it; models/catalog.json in the repository links here): named packs on the public model hub, each with the files
 * to fetch, their sizes and sha256 where known, the license, and the pack.json to write next to them.
 * Fields we could not check are marked in `verified` (see the catalog's own notes).
 */
import { readFileSync } from 'node:fs';
import { SdkError } from '../util/errors';
import bundled from './catalog.json';

export const CATALOG_SCHEMA = 'byteedit.catalog/1';

export interface IoSignature {
  name: string;
  /** ONNX element type as onnxruntime names it: float32, float16, int64, int32. */
  type?: string;
  rank?: number;
}

export interface CatalogFile {
  /** Where the file goes inside the pack folder. */
  path: string;
  /** Hub repo and revision for this file (default: the entry's source). */
  repo?: string;
  revision?: string;
  /** Path of the file inside the hub repo (default: `path`). */
  file?: string;
  /** Bytes, when known; null: learned from the server at first download. */
  size?: number | null;
  /** Lower-case hex sha256, when known; null: computed at first download and pinned locally. */
  sha256?: string | null;
  /** Expected ONNX inputs/outputs, checked by `packs verify` (names, and dtype/rank when given). */
  signature?: { inputs?: IoSignature[]; outputs?: IoSignature[] };
}

export interface CatalogEntry {
  name: string;
  title: string;
  /** inpainting: a full pack (pack.json); rewards: reward-model towers only. */
  kind: 'inpainting' | 'rewards';
  license: string;
  licenseUrl?: string;
  /** Hub source; absent when the pack can only be built locally (see `recipe`). */
  source?: { repo: string; revision: string };
  /** Recipe that builds this pack locally, for entries without a downloadable export. */
  recipe?: string;
  /** What has been checked by a person against the hub; everything else is unverified. */
  verified?: { urls?: boolean; sizes?: boolean; sha256?: boolean; note?: string };
  notes?: string;
  files: CatalogFile[];
  /** The pack.json written into the pack folder (inpainting packs). */
  manifest?: Record<string, unknown>;
}

export interface Catalog {
  schema: typeof CATALOG_SCHEMA;
  packs: CatalogEntry[];
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SHA = /^[0-9a-f]{64}$/;

function fail(where: string, msg: string): never {
  throw new SdkError('pack_invalid', `catalog ${where}: ${msg}`);
}

/** Structural checks: the downloader trusts names and paths from here, so refuse what could escape. */
export function validateCatalog(json: unknown, where = 'the bundled catalog (core/src/download/catalog.json)'): Catalog {
  const c = json as Catalog;
  if (!c || typeof c !== 'object' || c.schema !== CATALOG_SCHEMA) fail(where, `$.schema must be "${CATALOG_SCHEMA}"`);
  if (!Array.isArray(c.packs)) fail(where, '$.packs must be an array');
  const seen = new Set<string>();
  c.packs.forEach((p, i) => {
    const at = `$.packs[${i}]`;
    if (typeof p.name !== 'string' || !NAME.test(p.name)) fail(where, `${at}.name must match ${NAME}`);
    if (seen.has(p.name)) fail(where, `${at}.name "${p.name}" is listed twice`);
    seen.add(p.name);
    if (p.kind !== 'inpainting' && p.kind !== 'rewards') fail(where, `${at}.kind must be inpainting or rewards`);
    if (!Array.isArray(p.files) || p.files.length === 0) fail(where, `${at}.files must be a non-empty array`);
    const paths = new Set<string>();
    p.files.forEach((f, j) => {
      const fat = `${at}.files[${j}]`;
      if (typeof f.path !== 'string' || f.path.startsWith('/') || f.path.includes('\\') || f.path.split('/').some((s) => s === '..' || s === '' || s === '.')) {
        fail(where, `${fat}.path must be a relative path without . or .. segments`);
      }
      if (f.path === 'pack.json' || f.path.startsWith('.byteedit')) fail(where, `${fat}.path ${f.path} is reserved`);
      if (paths.has(f.path)) fail(where, `${fat}.path ${f.path} is listed twice`);
      paths.add(f.path);
      if (f.size != null && (!Number.isInteger(f.size) || f.size < 0)) fail(where, `${fat}.size must be a byte count or null`);
      if (f.sha256 != null && !SHA.test(f.sha256)) fail(where, `${fat}.sha256 must be 64 lower-case hex digits or null`);
      if (!p.source && !f.repo && !p.recipe) fail(where, `${fat} has no repo and the entry has neither source nor recipe`);
    });
    if (p.kind === 'inpainting' && (!p.manifest || typeof p.manifest !== 'object')) fail(where, `${at}.manifest (the pack.json) is required for inpainting packs`);
  });
  return c;
}

/** The catalog in use: BYTEEDIT_CATALOG (a JSON file) when set, else the one shipped with byteedit. */
export function loadCatalog(env: NodeJS.ProcessEnv = process.env): Catalog {
  const file = env.BYTEEDIT_CATALOG;
  if (!file) return validateCatalog(bundled);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SdkError('invalid_argument', `BYTEEDIT_CATALOG=${file} cannot be read as JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return validateCatalog(json, file);
}

export function findEntry(catalog: Catalog, name: string): CatalogEntry {
  const hit = catalog.packs.find((p) => p.name === name);
  if (!hit) {
    throw new SdkError('pack_not_found', `no pack named "${name}" in the catalog; known packs: ${catalog.packs.map((p) => p.name).join(', ')} (byteedit packs list)`);
  }
  return hit;
}

/** True when the entry has a downloadable source for every file. */
export function isDownloadable(entry: CatalogEntry): boolean {
  return entry.files.every((f) => f.repo || entry.source);
}
