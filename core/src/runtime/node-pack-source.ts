/** Packs from a folder on disk (Node). Paths in pack.json are relative to the folder. */
import { promises as fs } from 'node:fs';
import { resolve, sep } from 'node:path';
import { SdkError } from '../util/errors';
import type { PackSource } from '../packs/source';
import type { ModelSource } from './types';

export class FolderPackSource implements PackSource {
  readonly location: string;

  constructor(folder: string) {
    this.location = resolve(folder);
  }

  private path(rel: string): string {
    const p = resolve(this.location, rel);
    if (p !== this.location && !p.startsWith(this.location + sep)) throw new SdkError('pack_invalid', `pack path ${rel} leaves the pack folder`);
    return p;
  }

  async readBytes(rel: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await fs.readFile(this.path(rel)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async exists(rel: string): Promise<boolean> {
    try {
      return (await fs.stat(this.path(rel))).isFile();
    } catch {
      return false;
    }
  }

  async modelSource(rel: string): Promise<ModelSource> {
    return { path: this.path(rel) };
  }
}

/** A pack folder reference -> source, refusing what is not a folder with a clear message. */
export async function folderPackSource(ref: string): Promise<FolderPackSource> {
  const folder = resolve(ref);
  let stat;
  try {
    stat = await fs.stat(folder);
  } catch {
    throw new SdkError('pack_not_found', `pack folder ${folder} does not exist; pass --pack with a folder that contains pack.json`);
  }
  if (!stat.isDirectory()) throw new SdkError('pack_not_found', `${folder} is not a folder; pass --pack with a folder that contains pack.json`);
  return new FolderPackSource(folder);
}
