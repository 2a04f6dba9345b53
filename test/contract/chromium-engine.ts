/**
 * The Node half of the browser engine's contract run: an EngineApi whose every call is made in a
 * headless Chromium page (chromium/page.ts) on core's browser Web Worker engine, so the contract's
 * cases run unchanged against it. A handle's `events` start a fresh iteration in the page each
 * time; `done`, `cancel`, `capabilities` and `dispose` are the page engine's own. Errors the page
 * got as SdkError are rebuilt as SdkError here (others stay plain Errors, so the contract sees the
 * difference). The page is served by the parity tests' loopback server (runtime-harness.ts:
 * core/dist/browser, onnxruntime-web's files, models/fixtures), Chromium is Debian's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { SdkError, isErrorCode } from '../../core/src/protocol/errors';
import type { Capabilities, EditRequest, EngineApi, JobEvent, JobHandle, JobSummary } from '../../core/src/protocol/events';
import { launchChromium } from '../parity/chromium/harness';
import { startRuntimeServer, type StaticServer } from '../parity/chromium/runtime-harness';
import type { EventMessage, Outcome, PageApi, PageEngineConfig, Wire, WireError } from './chromium/page';

/** The page's global, inside page.evaluate callbacks (they run in the page). */
type PageGlobal = { byteeditContract: PageApi };

function toWire(v: unknown): Wire {
  if (v instanceof Uint8ClampedArray) return { __bytes: 'u8c', b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v instanceof Uint8Array) return { __bytes: 'u8', b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
}

function fromWire(v: Wire): unknown {
  if (v && typeof v === 'object' && '__bytes' in v) {
    const w = v as { __bytes: string; b64: string };
    const b = Buffer.from(w.b64, 'base64');
    const bytes = new Uint8Array(b.byteLength);
    bytes.set(b);
    return w.__bytes === 'u8c' ? new Uint8ClampedArray(bytes.buffer) : bytes;
  }
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromWire(x)]));
  return v;
}

function rebuild(e: WireError): Error {
  if (e.sdk && isErrorCode(e.code)) return new SdkError(e.code, e.message);
  return Object.assign(new Error(`(not an SdkError in the page) ${e.message}`), { code: e.code });
}

function unwrap<T>(o: Outcome<T>): T {
  if ('error' in o) throw rebuild(o.error);
  return fromWire(o.ok) as T;
}

interface Iteration {
  events: JobEvent[];
  ended: boolean;
  error?: WireError;
  wake: (() => void) | null;
}

/** One Chromium page with the contract's page script; makes page-side engines. */
export class ChromiumEngines {
  private readonly iterations = new Map<number, Iteration>();
  private nextIteration = 1;
  /** Messages that arrived ahead of their turn (the page numbers them). */
  private readonly early = new Map<number, EventMessage>();
  private nextSeq = 0;

  private constructor(
    readonly page: Page,
    readonly logs: string[],
  ) {}

  static async open(browser: Browser, url: string): Promise<ChromiumEngines> {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    let self: ChromiumEngines | null = null;
    const pending: EventMessage[] = [];
    await page.exposeFunction('byteeditContractEvent', (m: EventMessage) => (self ? self.arrive(m) : pending.push(m)));
    await page.goto(url);
    await page.waitForFunction(() => 'byteeditContract' in globalThis, undefined, { timeout: 30_000 });
    self = new ChromiumEngines(page, logs);
    for (const m of pending) self.arrive(m);
    return self;
  }

  private arrive(m: EventMessage): void {
    this.early.set(m.seq, m);
    for (let next = this.early.get(this.nextSeq); next; next = this.early.get(this.nextSeq)) {
      this.early.delete(this.nextSeq++);
      const it = this.iterations.get(next.iteration);
      if (!it) continue;
      if (next.event === null) {
        it.ended = true;
        it.error = next.error;
      } else it.events.push(fromWire(next.event) as JobEvent);
      const w = it.wake;
      it.wake = null;
      w?.();
    }
  }

  async create(config: PageEngineConfig): Promise<EngineApi> {
    const id = await this.page.evaluate((c) => (globalThis as unknown as PageGlobal).byteeditContract.create(c), config);
    return new PageEngine(this, id);
  }

  /** Starts an iteration of the page handle's events and yields them as they come back. */
  async *events(handle: number): AsyncGenerator<JobEvent> {
    const n = this.nextIteration++;
    const it: Iteration = { events: [], ended: false, wake: null };
    this.iterations.set(n, it);
    try {
      await this.page.evaluate(([h, i]) => (globalThis as unknown as PageGlobal).byteeditContract.iterate(h, i), [handle, n] as const);
      let i = 0;
      for (;;) {
        while (i < it.events.length) yield it.events[i++]!;
        if (it.ended) break;
        await new Promise<void>((res) => (it.wake = res));
      }
      if (it.error) throw rebuild(it.error);
    } finally {
      this.iterations.delete(n);
    }
  }

  submit(engine: number, request: EditRequest): Promise<Outcome<{ handle: number; id: string }>> {
    return this.page.evaluate(([e, r]) => (globalThis as unknown as PageGlobal).byteeditContract.submit(e, r), [engine, toWire(request)] as const);
  }

  done(handle: number): Promise<Outcome<JobSummary>> {
    return this.page.evaluate((h) => (globalThis as unknown as PageGlobal).byteeditContract.done(h), handle);
  }

  cancel(handle: number): Promise<Outcome<boolean>> {
    return this.page.evaluate((h) => (globalThis as unknown as PageGlobal).byteeditContract.cancel(h), handle);
  }

  capabilities(engine: number): Promise<Outcome<Capabilities>> {
    return this.page.evaluate((e) => (globalThis as unknown as PageGlobal).byteeditContract.capabilities(e), engine);
  }

  dispose(engine: number): Promise<Outcome<void>> {
    return this.page.evaluate((e) => (globalThis as unknown as PageGlobal).byteeditContract.dispose(e), engine);
  }

  /** An absolute URL on the page's server. */
  url(path: string): Promise<string> {
    return this.page.evaluate((p) => (globalThis as unknown as PageGlobal).byteeditContract.url(p), path);
  }
}

class PageHandle implements JobHandle {
  readonly done: Promise<JobSummary>;

  constructor(
    private readonly pages: ChromiumEngines,
    private readonly handle: number,
    readonly id: string,
  ) {
    this.done = pages.done(handle).then(unwrap);
    this.done.catch(() => undefined);
  }

  get events(): AsyncIterable<JobEvent> {
    return { [Symbol.asyncIterator]: () => this.pages.events(this.handle) };
  }

  async cancel(): Promise<boolean> {
    return unwrap(await this.pages.cancel(this.handle));
  }
}

class PageEngine implements EngineApi {
  constructor(
    private readonly pages: ChromiumEngines,
    private readonly id: number,
  ) {}

  async submit(request: EditRequest): Promise<JobHandle> {
    const { handle, id } = unwrap(await this.pages.submit(this.id, request));
    return new PageHandle(this.pages, handle, id);
  }

  async capabilities(): Promise<Capabilities> {
    return unwrap(await this.pages.capabilities(this.id));
  }

  async dispose(): Promise<void> {
    unwrap(await this.pages.dispose(this.id));
  }
}

/** Bundles the page script, serves it with core's browser build and the fixture packs, opens Chromium on it. */
export async function openChromiumEngines(): Promise<{ engines: ChromiumEngines; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'byteedit-contract-chromium-'));
  const script = join(dir, 'page.js');
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  try {
    await build({ entryPoints: [join(__dirname, 'chromium', 'page.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile: script, logLevel: 'error' });
    server = await startRuntimeServer(script);
    browser = await launchChromium();
    const engines = await ChromiumEngines.open(browser, server.url);
    return {
      engines,
      async close() {
        await browser?.close();
        await server?.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
