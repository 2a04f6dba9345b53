/**
 * Where packs live on disk, and the marker that says a pack is complete.
 *
 *   <cache>/packs/<name>/           complete packs; only ever created by one atomic rename
 *   <cache>/packs/<name>/.byteedit-pack.json   the marker: source, every file's size and sha256
 *   <cache>/partial/<name>/         a pull in progress: finished files and `<file>.part` (resumable)
 *   <cache>/locks/<name>.lock       held by the one process working on <name>
 *
 * <cache> is, in order: the --cache-dir flag, BYTEEDIT_CACHE_DIR, $XDG_CACHE_HOME/byteedit,
 * ~/Library/Caches/byteedit (macOS), %LOCALAPPDATA%\byteedit\cache (Windows), ~/.cache/byteedit.
 */
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export const MARKER = '.byteedit-pack.json';
export const MARKER_SCHEMA = 'byteedit.pulled/1';

export function resolveCacheDir(flag?: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (flag) return resolve(flag);
  if (env.BYTEEDIT_CACHE_DIR) return resolve(env.BYTEEDIT_CACHE_DIR);
  // XDG says a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'byteedit');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'byteedit');
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'byteedit', 'cache');
  return join(home, '.cache', 'byteedit');
}

export interface CachePaths {
  root: string;
  pack: string;
  partial: string;
  lock: string;
}

export function cachePaths(root: string, name: string): CachePaths {
  return { root, pack: join(root, 'packs', name), partial: join(root, 'partial', name), lock: join(root, 'locks', `${name}.lock`) };
}

export interface PinnedFile {
  path: string;
  size: number;
  sha256: string;
  /** Where the sha256 came from: the catalog, the hub's X-Linked-Etag, or computed here on first download. */
  pinnedFrom: 'catalog' | 'hub' | 'computed';
}

export interface PullMarker {
  schema: typeof MARKER_SCHEMA;
  name: string;
  kind: 'inpainting' | 'rewards';
  license: string;
  source?: { repo: string; revision: string; endpoint: string };
  files: PinnedFile[];
  pulledAt: string;
}

export async function readMarker(packDir: string): Promise<PullMarker | null> {
  let text: string;
  try {
    text = await fs.readFile(join(packDir, MARKER), 'utf8');
  } catch {
    return null;
  }
  try {
    const m = JSON.parse(text) as PullMarker;
    return m && m.schema === MARKER_SCHEMA && Array.isArray(m.files) ? m : null;
  } catch {
    return null;
  }
}

/** Bytes under a folder (0 when it does not exist). */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await folderBytes(p);
    else if (e.isFile()) total += (await fs.stat(p)).size;
  }
  return total;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}
