/** Packs over HTTP (browsers, workers): files fetched relative to a base URL, e.g. the bridge's pack route. */
import { SdkError } from '../util/errors';
import type { PackSource } from '../packs/source';
import type { ModelSource } from './types';

export class UrlPackSource implements PackSource {
  readonly location: string;
  private readonly cache = new Map<string, Promise<Uint8Array | null>>();

  constructor(
    baseUrl: string,
    private readonly init: RequestInit = {},
  ) {
    this.location = baseUrl.replace(/\/+$/, '');
  }

  readBytes(rel: string): Promise<Uint8Array | null> {
    let p = this.cache.get(rel);
    if (!p) {
      p = (async () => {
        let res: Response;
        try {
          res = await fetch(`${this.location}/${rel}`, this.init);
        } catch (err) {
          throw new SdkError('pack_not_found', `cannot reach ${this.location}/${rel} (${err instanceof Error ? err.message : String(err)}); is the bridge running?`);
        }
        if (res.status === 404) return null;
        if (!res.ok) throw new SdkError('pack_not_found', `${this.location}/${rel} answered HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      })();
      this.cache.set(rel, p);
      p.catch(() => this.cache.delete(rel));
    }
    return p;
  }

  async exists(rel: string): Promise<boolean> {
    return (await this.readBytes(rel)) !== null;
  }

  async modelSource(rel: string): Promise<ModelSource> {
    const bytes = await this.readBytes(rel);
    if (!bytes) throw new SdkError('pack_file_missing', `${this.location}/${rel} is missing`);
    // The session owns the bytes from here; drop our copy so large models are not held twice.
    this.cache.delete(rel);
    return { bytes, name: `${this.location}/${rel}` };
  }
}
