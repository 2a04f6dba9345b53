/**
 * @byteedit/core for Node: the engine on onnxruntime-node (in-process or in a worker_thread),
 * packs from folders, plus everything from the shared index.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Engine } from './engine/engine';
import { NodeOrtRuntime } from './runtime/ort-node';
import { folderPackSource } from './runtime/node-pack-source';
import { installedInpaintPack, resolvePackRef } from './download/index';
import type { DeviceName } from './runtime/types';
import type { Profile } from './util/profile';

export * from './index';
export { NodeOrtRuntime } from './runtime/ort-node';
export { FolderPackSource, folderPackSource } from './runtime/node-pack-source';
export { createWorkerEngine, type WorkerEngineOptions } from './worker/node-client';
export { resolvePackRef, pullPack, verifyPack, listPacks, removePack, loadCatalog, installedInpaintPack } from './download/index';
export { PreferenceWriter, readPreferences, type PreferenceWriterOptions } from './preferences/node-writer';

/** The repository's models/ folder, from the bundle (core/dist/node) or the sources (core/src); null in an install. */
function modelsDir(): string | null {
  for (const up of ['../../../models', '../../models']) {
    const p = resolve(__dirname, up);
    if (existsSync(join(p, 'fixtures')) && existsSync(join(p, '..', 'core', 'package.json'))) return p;
  }
  return null;
}

/** The npm package of the default pack (models/packs/byteedit-small in the repository). */
export const DEFAULT_PACK_PACKAGE = '@byteedit/pack-byteedit-small';

/** The installed default-pack package's folder, found the way Node finds any dependency. */
function installedDefaultPack(): string | null {
  try {
    return dirname(require.resolve(`${DEFAULT_PACK_PACKAGE}/pack.json`));
  } catch {
    return null;
  }
}

/**
 * The embedded default pack, in this order: BYTEEDIT_DEFAULT_PACK; the installed package
 * @byteedit/pack-byteedit-small (a dependency of @byteedit/core; in the repository a workspace
 * link to models/packs/byteedit-small); the repository's models/packs/byteedit-small; inside the
 * repository only, the random-weight fixture pack (and pack.kind says "fixture"). Outside the
 * repository with none of them, the package's expected place, so loading it fails with
 * pack_not_found naming that folder.
 */
export function defaultPackPath(): string {
  if (process.env.BYTEEDIT_DEFAULT_PACK) return resolve(process.env.BYTEEDIT_DEFAULT_PACK);
  const installed = installedDefaultPack();
  if (installed) return installed;
  const models = modelsDir();
  if (models) {
    const trained = join(models, 'packs', 'byteedit-small');
    if (existsSync(join(trained, 'pack.json'))) return trained;
    return fixturePackPath();
  }
  return resolve(__dirname, '..', '..', '..', 'pack-byteedit-small');
}

/** The diffusers-layout fixture pack (random weights; in the repository only): tests and the bench's overhead profile. */
export function fixturePackPath(): string {
  return join(modelsDir() ?? resolve(__dirname, '../../../models'), 'fixtures', 'tiny-sd-diffusers');
}

export interface NodeEngineOptions {
  /** Pack folder or catalog name used when a request names none (default: defaultPackPath()). */
  pack?: string;
  device?: DeviceName;
  maxPixels?: number;
  /** Time per phase of every job (bench --profile). */
  profile?: Profile;
  /** The erase pack for routing and prefill when a request names none (default: installedInpaintPack(); null: none). */
  inpaintPack?: string | null;
}

let sharedRuntime: NodeOrtRuntime | null = null;

/** An in-process engine. Prefer createWorkerEngine in servers and UIs (keeps the main thread free). */
export function createEngine(options: NodeEngineOptions = {}): Engine {
  sharedRuntime ??= new NodeOrtRuntime();
  const fallback = options.pack ?? defaultPackPath();
  return new Engine({
    runtime: sharedRuntime,
    // A folder path, or a catalog name resolved to its downloaded copy (byteedit packs pull NAME).
    packs: async (ref) => folderPackSource(await resolvePackRef(ref ?? fallback)),
    device: options.device,
    maxPixels: options.maxPixels,
    profile: options.profile,
    inpaintPack: async () => (options.inpaintPack === null ? undefined : (options.inpaintPack ?? (await installedInpaintPack()))),
  });
}
