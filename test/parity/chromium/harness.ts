/**
 * Replays recorded model calls in headless Chromium on onnxruntime-web's WebGPU and WASM backends.
 *
 *   recordTrace()   runs test/parity/run-parity.ts on onnxruntime-node's CPU EP (--backends "",
 *                   --trace DIR): the reference calls, inputs and outputs.
 *   startServer()   a static server on 127.0.0.1 (port 0): the page, its script, onnxruntime-web's
 *                   .wasm/.mjs from node_modules (never a CDN), each pack's files and its trace.
 *   launchChromium() Debian's /usr/bin/chromium (never downloaded) with WebGPU on SwiftShader.
 *   ReplayPage      the page (replay-page.ts): adapter info and per-model replay reports.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { withConvDefaults } from './conv-attrs';
import type { AdapterReport, ReplayOptions, ReplayReport } from './types';

export const REPO = resolve(__dirname, '..', '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Flags that give headless Chromium a WebGPU adapter on a machine without a GPU (SwiftShader). */
export const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Bundles run-parity.ts (Node) and replay-page.ts (browser) into `dir`. */
export async function buildScripts(dir: string): Promise<{ runner: string; page: string }> {
  const runner = join(dir, 'run-parity.js');
  const page = join(dir, 'replay-page.js');
  await Promise.all([
    build({ entryPoints: [join(__dirname, '..', 'run-parity.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node', 'onnxruntime-web'], outfile: runner, logLevel: 'error' }),
    build({ entryPoints: [join(__dirname, 'replay-page.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile: page, logLevel: 'error' }),
  ]);
  return { runner, page };
}

/** One CPU-EP edit with every model call recorded: DIR/trace.json + DIR/trace.bin. */
export function recordTrace(runner: string, pack: string, args: string[], traceDir: string): void {
  const r = spawnSync(process.execPath, [runner, '--pack', pack, ...args, '--backends', '', '--trace', traceDir, '--out', join(traceDir, 'report.json')], {
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: join(REPO, 'node_modules') },
    timeout: 5 * 60_000,
  });
  if (r.status !== 0) throw new Error(`run-parity --trace ${pack} failed (${r.status ?? r.signal}): ${(r.stderr ?? '').slice(-2000)}`);
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const ORT_DIST = dirname(require.resolve('onnxruntime-web'));
const ORT_FILE = /^ort-wasm-simd-threaded(\.[a-z]+)?\.(wasm|mjs)$/;

/** A file under `root` named by `rel`, or undefined when it would leave root or is missing. */
function inside(root: string, rel: string): string | undefined {
  const p = resolve(root, rel);
  if (!p.startsWith(resolve(root) + sep)) return undefined;
  return existsSync(p) && statSync(p).isFile() ? p : undefined;
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves / (the page), /replay-page.js, /ort/<onnxruntime-web wasm file>, and for each pack NAME:
 * /NAME/pack/<file in the pack folder>, /NAME/pack-conv-defaults/<model>.onnx (withConvDefaults) and
 * /NAME/trace/<trace.json|trace.bin>.
 */
export async function startServer(pageScript: string, packs: Record<string, { dir: string; trace: string }>): Promise<StaticServer> {
  const html = '<!doctype html><html><head><meta charset="utf-8"><title>byteedit replay</title><script type="module" src="/replay-page.js"></script></head><body></body></html>';
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const [, first = '', kind = '', ...rest] = path.split('/');
    let file: string | undefined;
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': TYPES['.html']! }).end(html);
      return;
    } else if (path === '/replay-page.js') file = pageScript;
    else if (first === 'ort' && ORT_FILE.test(kind) && rest.length === 0) file = inside(ORT_DIST, kind);
    else if (packs[first] && kind === 'pack') file = inside(packs[first].dir, rest.join('/'));
    else if (packs[first] && kind === 'pack-conv-defaults' && path.endsWith('.onnx')) {
      const model = inside(packs[first].dir, rest.join('/'));
      if (model && req.method === 'GET') {
        const bytes = withConvDefaults(new Uint8Array(readFileSync(model)));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes);
        return;
      }
    }
    else if (packs[first] && kind === 'trace' && rest.length === 1 && /^trace\.(json|bin)$/.test(rest[0]!)) file = inside(packs[first].trace, rest[0]!);
    if (!file || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', () => ok()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export class ReplayPage {
  private constructor(
    readonly page: Page,
    /** Console lines and page errors. */
    readonly logs: string[],
  ) {}

  static async open(browser: Browser, url: string): Promise<ReplayPage> {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => 'byteeditReplay' in globalThis, undefined, { timeout: 30_000 });
    return new ReplayPage(page, logs);
  }

  adapter(): Promise<AdapterReport> {
    return this.page.evaluate(() => (globalThis as unknown as { byteeditAdapter(): Promise<AdapterReport> }).byteeditAdapter());
  }

  replay(options: ReplayOptions): Promise<ReplayReport> {
    return this.page.evaluate((o) => (globalThis as unknown as { byteeditReplay(o: ReplayOptions): Promise<ReplayReport> }).byteeditReplay(o), options);
  }
}

/** The models a trace recorded (paths relative to the pack). */
export function tracedModels(traceDir: string): string[] {
  const trace = JSON.parse(readFileSync(join(traceDir, 'trace.json'), 'utf8')) as { calls: { model: string }[] };
  return [...new Set(trace.calls.map((c) => c.model))].sort();
}
