/**
 * The part of `fetch` the HTTP engine uses, written out structurally: shared core code compiles
 * without DOM or Node types, and hosts hand in their own fetch (UXP's has no EventSource and, in
 * some versions, no readable body). The global fetch of browsers, Node >= 18 and UXP fits.
 */

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A reader over a response body (ReadableStreamDefaultReader<Uint8Array>). */
export interface BodyReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

export interface FetchResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  /** A stream where the host supports one; null or absent where it does not (then the engine polls). */
  readonly body?: { getReader(): BodyReader } | null;
}

export type FetchLike = (url: string, init?: FetchInit) => Promise<FetchResponse>;

/** The fetch to use: the given one, else the global one (called unbound, as browsers require). */
export function resolveFetch(given?: FetchLike): FetchLike {
  if (given) return given;
  const global = (globalThis as { fetch?: FetchLike }).fetch;
  if (typeof global !== 'function') {
    return () => Promise.reject(new Error('this runtime has no global fetch; pass one as the `fetch` option'));
  }
  return (url, init) => global(url, init);
}
