/**
 * Installing packed tarballs into an empty folder with no network: `npm ci --offline` from the npm
 * cache that the repository's `npm ci` filled. That cache holds the registry tarballs (by
 * integrity) but not the registry's package documents, so npm cannot resolve a version range
 * offline; this writes the folder's package-lock.json itself, taking every registry package from
 * the repository's own lockfile (the same versions the repository is tested with), and npm ci
 * then needs nothing but the cached tarballs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export interface Tarball {
  /** The workspace folder it was packed from, relative to the repository. */
  workspace: string;
  manifest: Manifest;
  /** Absolute path of the .tgz. */
  file: string;
}

/** The repository's public workspace packages (the ones npm would publish). */
export function publicWorkspaces(repo: string): { workspace: string; manifest: Manifest }[] {
  const root = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { workspaces: string[] };
  return root.workspaces
    .map((workspace) => ({ workspace, manifest: JSON.parse(readFileSync(join(repo, workspace, 'package.json'), 'utf8')) as Manifest }))
    .filter((w) => !w.manifest.private);
}

function integrity(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** Flags that describe the repository's tree (dev, optional, peer), not the new one. */
function clean(entry: LockEntry): LockEntry {
  const rest = { ...entry };
  for (const flag of ['dev', 'optional', 'devOptional', 'peer']) delete rest[flag];
  return rest;
}

/**
 * package.json and package-lock.json for a folder that installs `tarballs` (from `file:` paths
 * relative to the folder, under `tarDir`) plus `extra` registry packages (names; their versions
 * come from the repository's lockfile).
 */
export function offlineProject(repo: string, tarballs: Tarball[], tarDir: string, extra: string[]): { pkg: object; lock: object } {
  const repoLock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, LockEntry> = {};
  const rootDeps: Record<string, string> = {};
  const byName = new Map(tarballs.map((t) => [t.manifest.name, t]));

  // Node's lookup from a package at `from` (a lockfile key in the repository's tree): its own
  // node_modules, then each parent's, up to the top.
  const find = (from: string, name: string): string | null => {
    let dir = from;
    for (;;) {
      const key = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      if (repoLock.packages[key] && !repoLock.packages[key]!.link) return key;
      if (!dir) return null;
      const cut = dir.lastIndexOf('/node_modules/');
      dir = cut >= 0 ? dir.slice(0, cut) : '';
    }
  };

  // Registry packages keep their repository keys (node_modules/x, node_modules/x/node_modules/y):
  // the same layout, so each resolves to the same copy it does in the repository. One nested in a
  // workspace folder (core/node_modules/x) moves under that package (node_modules/@byteedit/core/...).
  const mapKey = (key: string): string => {
    for (const t of tarballs) if (key.startsWith(`${t.workspace}/node_modules/`)) return `node_modules/${t.manifest.name}${key.slice(t.workspace.length)}`;
    return key;
  };
  const addRegistry = (from: string, name: string, optional: boolean): void => {
    const key = find(from, name);
    if (!key) {
      if (optional) return;
      throw new Error(`${name} (needed from ${from || 'the root'}) is not in the repository's package-lock.json`);
    }
    if (packages[mapKey(key)]) return;
    const entry = repoLock.packages[key]!;
    packages[mapKey(key)] = clean(entry);
    for (const dep of Object.keys(entry.dependencies ?? {})) addRegistry(key, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) addRegistry(key, dep, true);
  };

  for (const t of tarballs) {
    const rel = `file:${basename(tarDir)}/${basename(t.file)}`;
    rootDeps[t.manifest.name] = rel;
    const m = t.manifest;
    packages[`node_modules/${m.name}`] = {
      version: m.version,
      resolved: rel,
      integrity: integrity(t.file),
      license: m.license,
      ...(m.dependencies && { dependencies: m.dependencies }),
      ...(m.peerDependencies && { peerDependencies: m.peerDependencies }),
      ...(m.peerDependenciesMeta && { peerDependenciesMeta: m.peerDependenciesMeta }),
      ...(m.bin && { bin: m.bin }),
      ...(m.engines && { engines: m.engines }),
    };
  }
  for (const t of tarballs) {
    // A workspace's dependencies resolve from its folder in the repository (then the root).
    for (const dep of Object.keys(t.manifest.dependencies ?? {})) {
      if (byName.has(dep)) continue;
      addRegistry(t.workspace, dep, false);
    }
  }
  for (const name of extra) {
    const key = find('', name);
    if (!key) throw new Error(`${name} is not in the repository's package-lock.json`);
    rootDeps[name] = repoLock.packages[key]!.version!;
    addRegistry('', name, false);
  }
  const pkg = { name: 'byteedit-install-check', version: '1.0.0', private: true, dependencies: rootDeps };
  const lock = { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages: { '': { name: pkg.name, version: pkg.version, dependencies: rootDeps }, ...packages } };
  return { pkg, lock };
}
