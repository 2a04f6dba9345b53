/**
 * One bridge, as an address, a token and a fetch: every request of the HTTP engine and of the
 * plain functions (bridge-api.ts) goes through `request`, which adds the Bearer token and turns
 * failures into SdkErrors (errors.ts).
 */
import { SdkError } from '../protocol/errors';
import { bridgeUnreachable, errorFromResponse } from './errors';
import { resolveFetch, type FetchInit, type FetchLike, type FetchResponse } from './fetch';

/** Where the bridge is and how to reach it: `byteedit serve` prints both, bridge.json holds both. */
export interface BridgeOptions {
  /** e.g. http://127.0.0.1:7860 (a trailing slash is fine). */
  baseUrl: string;
  /** The token from bridge.json (sent as `Authorization: Bearer`). */
  token: string;
  /** The host's fetch (default: the global one). */
  fetch?: FetchLike;
}

export class BridgeTransport {
  readonly baseUrl: string;
  readonly token: string;
  private readonly fetchFn: FetchLike;

  constructor(options: BridgeOptions) {
    if (typeof options?.baseUrl !== 'string' || !/^https?:\/\//i.test(options.baseUrl)) {
      throw new SdkError('invalid_argument', `baseUrl must be the bridge's http:// address (e.g. http://127.0.0.1:7860), got ${JSON.stringify(options?.baseUrl)}`);
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = (options.token ?? '').trim();
    this.fetchFn = resolveFetch(options.fetch);
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /** The headers that authenticate a request (for callers that fetch pack files themselves). */
  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** A 2xx response; anything else rejects with the bridge's SdkError. */
  async request(path: string, init: FetchInit = {}): Promise<FetchResponse> {
    const url = this.url(path);
    let res: FetchResponse;
    try {
      res = await this.fetchFn(url, { ...init, headers: { ...this.authHeaders(), ...init.headers } });
    } catch (err) {
      throw bridgeUnreachable(this.baseUrl, err);
    }
    if (!res.ok) throw await errorFromResponse(res, url);
    return res;
  }

  async json<T>(path: string, init: FetchInit = {}): Promise<T> {
    const res = await this.request(path, init);
    try {
      return (await res.json()) as T;
    } catch (err) {
      throw new SdkError('internal', `${this.url(path)} answered with something that is not JSON (${err instanceof Error ? err.message : String(err)}); is the byteedit bridge what listens there?`);
    }
  }

  /** POSTs a JSON body, returns the JSON answer. */
  postJson<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }
}

/** Lets the host repaint between long synchronous steps (PNG encoding, base64). */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
