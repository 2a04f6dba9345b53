/**
 * The loopback server and page of chromium-runtime.test.ts (core's WebOrtRuntime in Chromium).
 *
 *   /                    the page (runtime-page.js as a module)
 *   /runtime-page.js     runtime-page.ts bundled for the browser (onnxruntime-web inside)
 *   /ort/<file>          onnxruntime-web's .wasm/.mjs from node_modules (never a CDN)
 *   /core/<file>         core/dist/browser/{index,worker}.js(.map) as built
 *   /packs/byteedit-small/<file>, /fixtures/tiny-sd-legacy/<file>: pack files
 *   /examples/<file>.png docs/examples
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { REPO } from './harness';
import type { DevicesReport, EditOptions, EditReport, HalfReport } from './runtime-page';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png', '.map': 'application/json' };
const ORT_DIST = dirname(require.resolve('onnxruntime-web'));
const ORT_FILE = /^ort-wasm-simd-threaded(\.[a-z]+)?\.(wasm|mjs)$/;
const ROOTS: Record<string, string> = {
  core: join(REPO, 'core', 'dist', 'browser'),
  packs: join(REPO, 'models', 'packs'),
  fixtures: join(REPO, 'models', 'fixtures'),
  examples: join(REPO, 'docs', 'examples'),
};

/** Bundles runtime-page.ts into `dir` with core/build.mjs's browser options (onnxruntime-web bundled). */
export async function buildRuntimePage(dir: string): Promise<string> {
  const outfile = join(dir, 'runtime-page.js');
  await build({ entryPoints: [join(__dirname, 'runtime-page.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile, logLevel: 'error' });
  return outfile;
}

function inside(root: string, rel: string): string | undefined {
  const p = resolve(root, rel);
  if (!p.startsWith(resolve(root) + sep)) return undefined;
  return existsSync(p) && statSync(p).isFile() ? p : undefined;
}

export interface StaticServer {
  url: string;
  /** Paths requested so far (to show where the page fetched from). */
  requests: string[];
  close(): Promise<void>;
}

/** `page`: another page's HTML at / (its script must be /runtime-page.js); default: an empty page. */
export async function startRuntimeServer(pageScript: string, page?: string): Promise<StaticServer> {
  const html = page ?? '<!doctype html><html><head><meta charset="utf-8"><title>byteedit runtime</title><script type="module" src="/runtime-page.js"></script></head><body></body></html>';
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    requests.push(path);
    const [, first = '', ...rest] = path.split('/');
    let file: string | undefined;
    if (path === '/') {
      res.writeHead(200, { 'content-type': TYPES['.html']! }).end(html);
      return;
    }
    if (path === '/runtime-page.js') file = pageScript;
    else if (first === 'ort' && rest.length === 1 && ORT_FILE.test(rest[0]!)) file = inside(ORT_DIST, rest[0]!);
    else if (first === 'core' && rest.length === 1 && /^(index|worker)\.js(\.map)?$/.test(rest[0]!)) file = inside(ROOTS.core!, rest[0]!);
    else if (ROOTS[first] && first !== 'core' && rest.length) file = inside(ROOTS[first]!, rest.join('/'));
    if (!file || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', () => ok()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

export class RuntimePage {
  private constructor(
    readonly page: Page,
    readonly logs: string[],
  ) {}

  /**
   * `withoutFloat16Array`: the page's Float16Array removed before any script runs, so that
   * onnxruntime-web hands float16 tensors back as raw halves in a Uint16Array (as in Node 20 or a
   * browser without Float16Array): the diagnosis of what core does with a Float16Array.
   */
  static async open(browser: Browser, url: string, options: { withoutFloat16Array?: boolean } = {}): Promise<RuntimePage> {
    const page = await browser.newPage();
    if (options.withoutFloat16Array) await page.addInitScript(() => delete (globalThis as { Float16Array?: unknown }).Float16Array);
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => 'byteeditRuntimeEdit' in globalThis, undefined, { timeout: 30_000 });
    return new RuntimePage(page, logs);
  }

  devices(): Promise<DevicesReport> {
    return this.page.evaluate(() => (globalThis as unknown as { byteeditRuntimeDevices(): Promise<DevicesReport> }).byteeditRuntimeDevices());
  }

  half(modelPath: string): Promise<HalfReport> {
    return this.page.evaluate((p) => (globalThis as unknown as { byteeditRuntimeHalf(u: string): Promise<HalfReport> }).byteeditRuntimeHalf(`${location.origin}${p}`), modelPath);
  }

  edit(o: EditOptions): Promise<EditReport> {
    return this.page.evaluate((x) => (globalThis as unknown as { byteeditRuntimeEdit(o: EditOptions): Promise<EditReport> }).byteeditRuntimeEdit(x), o);
  }
}

declare const location: { origin: string };
