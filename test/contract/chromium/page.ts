/**
 * The page half of the browser engine's contract run (chromium-engine.ts is the Node half): core's
 * browser build as shipped (core/dist/browser/index.js, i.e. createBrowserWorkerEngine of
 * core/src/browser.ts, loaded as built: browser.ts needs the DOM lib this tsconfig lacks) with its
 * Web Worker (core/dist/browser/worker.js, onnxruntime-web's WASM backend inside), driven call by
 * call from Node. Each iteration of a handle's `events` is a real iteration here; its events go back, in the
 * order this page sees them, through the exposed binding `byteeditContractEvent` with one sequence
 * number over all iterations (so the order between jobs survives the trip). Typed arrays travel as
 * base64; errors as {sdk, code, message}, where `sdk` says whether the page got a real SdkError.
 *
 * Exposed on globalThis: byteeditContract.
 */
import type { EngineApi, JobHandle } from '../../../core/src/protocol/events';

/** What the page takes from core/dist/browser/index.js. */
interface DistCore {
  createBrowserWorkerEngine(makeWorker: () => unknown, config: { packUrl: string; wasmPaths: string; device: string }): EngineApi;
  SdkError: abstract new (...args: never[]) => Error;
}

declare const Worker: new (url: string, options: { type: 'module' }) => unknown;
declare const location: { origin: string };
declare const btoa: (s: string) => string;
declare const atob: (s: string) => string;

export type Wire = unknown;
export interface WireError {
  sdk: boolean;
  code?: string;
  message: string;
}
export type Outcome<T> = { ok: T } | { error: WireError };
/** One forwarded event (`event` null: the iteration ended; `error`: it threw). */
export interface EventMessage {
  seq: number;
  iteration: number;
  event: Wire | null;
  error?: WireError;
}
export interface PageEngineConfig {
  /** Pack folder on the page's server, e.g. /fixtures/tiny-sd-diffusers. */
  pack: string;
  device: 'wasm' | 'webgpu' | 'auto';
}

function base64(bytes: Uint8Array | Uint8ClampedArray): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function toWire(v: unknown): Wire {
  if (v instanceof Uint8ClampedArray) return { __bytes: 'u8c', b64: base64(v) };
  if (v instanceof Uint8Array) return { __bytes: 'u8', b64: base64(v) };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
}

function fromWire(v: Wire): unknown {
  if (v && typeof v === 'object' && '__bytes' in v) {
    const w = v as { __bytes: string; b64: string };
    const bytes = Uint8Array.from(atob(w.b64), (c) => c.charCodeAt(0));
    return w.__bytes === 'u8c' ? new Uint8ClampedArray(bytes.buffer) : bytes;
  }
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromWire(x)]));
  return v;
}

let core: DistCore | null = null;

function wireError(e: unknown): WireError {
  const code = (e as { code?: unknown })?.code;
  return { sdk: core !== null && e instanceof core.SdkError, code: typeof code === 'string' ? code : undefined, message: e instanceof Error ? e.message : String(e) };
}

async function outcome<T>(f: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: toWire(await f()) as T };
  } catch (e) {
    return { error: wireError(e) };
  }
}

const g = globalThis as unknown as { byteeditContractEvent(m: EventMessage): Promise<void>; byteeditContract: typeof api };
const engines = new Map<number, EngineApi>();
const handles = new Map<number, JobHandle>();
let nextId = 1;
let seq = 0;

function send(iteration: number, event: Wire | null, error?: WireError): void {
  void g.byteeditContractEvent({ seq: seq++, iteration, event, error });
}

const api = {
  async create(config: PageEngineConfig): Promise<number> {
    core ??= (await import(`${location.origin}/core/index.js`)) as DistCore;
    const id = nextId++;
    const engine = core.createBrowserWorkerEngine(() => new Worker(`${location.origin}/core/worker.js`, { type: 'module' }), {
      packUrl: `${location.origin}${config.pack}`,
      wasmPaths: `${location.origin}/ort/`,
      device: config.device,
    });
    engines.set(id, engine);
    return id;
  },
  submit: (engine: number, request: Wire) =>
    outcome(async () => {
      const h = await engines.get(engine)!.submit(fromWire(request) as never);
      const n = nextId++;
      handles.set(n, h);
      return { handle: n, id: h.id };
    }),
  iterate(handle: number, iteration: number): void {
    void (async () => {
      try {
        for await (const e of handles.get(handle)!.events) send(iteration, toWire(e));
        send(iteration, null);
      } catch (e) {
        send(iteration, null, wireError(e));
      }
    })();
  },
  done: (handle: number) => outcome(() => handles.get(handle)!.done),
  cancel: (handle: number) => outcome(() => handles.get(handle)!.cancel()),
  capabilities: (engine: number) => outcome(() => engines.get(engine)!.capabilities()),
  dispose: (engine: number) => outcome(() => engines.get(engine)!.dispose()),
  /** A pack URL on this page's server (for requests that name a pack). */
  url: (path: string) => `${location.origin}${path}`,
};

export type PageApi = typeof api;
g.byteeditContract = api;
