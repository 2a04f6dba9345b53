/** HTTP to the local bridge from the iframe (origin "null": the bridge allows it by CORS). */

/** GET /v1/health; the fields after `authenticated` come only with the right token. */
export interface BridgeHealth {
  status: string;
  version: string;
  authenticated?: boolean;
  packs?: string[];
  devices?: { name: string; available: boolean; reason?: string }[];
  deviceChoice?: { requested: string; device: string | null; fallbacks: { device: string; reason: string }[] };
  modes?: string[];
  limits?: { maxBodyBytes: number; maxPixels: number };
}

export interface BridgePack {
  name: string;
  version?: string;
  default: boolean;
}

export class BridgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class BridgeClient {
  readonly base: string;

  constructor(
    base: string,
    readonly token: string,
  ) {
    this.base = base.replace(/\/+$/, '');
  }

  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { ...init, headers: { ...this.authHeaders(), ...(init.headers as Record<string, string> | undefined) } });
    } catch {
      throw new BridgeError('unreachable', `cannot reach the bridge at ${this.base}; start it with \`npx byteedit serve\` (see the plug-in README)`);
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      throw new BridgeError(body?.error?.code ?? `http_${res.status}`, body?.error?.message ?? `${this.base}${path} answered HTTP ${res.status}`);
    }
    return res;
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.fetch(path, init)).json()) as T;
  }

  health(): Promise<BridgeHealth> {
    return this.json<BridgeHealth>('/v1/health');
  }

  async packs(): Promise<BridgePack[]> {
    return (await this.json<{ packs: BridgePack[] }>('/v1/packs')).packs;
  }

  packFilesUrl(pack: string): string {
    return `${this.base}/v1/packs/${encodeURIComponent(pack)}/files`;
  }

  /** Size of a pack file from a HEAD request (Content-Length is readable cross-origin). */
  async packFileSize(pack: string, file: string): Promise<number> {
    const res = await this.fetch(`/v1/packs/${encodeURIComponent(pack)}/files/${file}`, { method: 'HEAD' });
    return Number(res.headers.get('Content-Length') ?? 0);
  }

  async packFile(pack: string, file: string): Promise<ArrayBuffer> {
    return (await this.fetch(`/v1/packs/${encodeURIComponent(pack)}/files/${file}`)).arrayBuffer();
  }
}
