/**
 * @byteedit/core for Node: the engine on onnxruntime-node (in-process or in a worker_thread),
 * packs from folders, plus everything from the shared index.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Engine } from './engine/engine';
import { NodeOrtRuntime } from './runtime/ort-node';
import { folderPackSource } from './runtime/node-pack-source';
import { resolvePackRef } from './download/index';
import type { DeviceName } from './runtime/types';
import type { Profile } from './util/profile';

export * from './index';
export { NodeOrtRuntime } from './runtime/ort-node';
export { FolderPackSource, folderPackSource } from './runtime/node-pack-source';
export { createWorkerEngine, type WorkerEngineOptions } from './worker/node-client';
export { resolvePackRef, pullPack, verifyPack, listPacks, removePack, loadCatalog } from './download/index';
export { PreferenceWriter, readPreferences, type PreferenceWriterOptions } from './preferences/node-writer';

/** The repository's models/ folder, from the bundle (core/dist/node) or the sources (core/src). */
function modelsDir(): string {
  for (const up of ['../../../models', '../../models']) {
    const p = resolve(__dirname, up);
    if (existsSync(join(p, 'fixtures'))) return p;
  }
  return resolve(__dirname, '../../../models');
}

/**
 * The embedded default pack: the small pack this project trains (models/packs/byteedit-small) once
 * it is present, else the random-weight fixture pack (and pack.kind says "fixture").
 * BYTEEDIT_DEFAULT_PACK overrides it.
 */
export function defaultPackPath(): string {
  if (process.env.BYTEEDIT_DEFAULT_PACK) return resolve(process.env.BYTEEDIT_DEFAULT_PACK);
  const trained = join(modelsDir(), 'packs', 'byteedit-small');
  if (existsSync(join(trained, 'pack.json'))) return trained;
  return fixturePackPath();
}

/** The diffusers-layout fixture pack (random weights): tests and the bench's overhead profile. */
export function fixturePackPath(): string {
  return join(modelsDir(), 'fixtures', 'tiny-sd-diffusers');
}

export interface NodeEngineOptions {
  /** Pack folder or catalog name used when a request names none (default: defaultPackPath()). */
  pack?: string;
  device?: DeviceName;
  maxPixels?: number;
  /** Time per phase of every job (bench --profile). */
  profile?: Profile;
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
  });
}
