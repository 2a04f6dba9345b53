/**
 * docs/examples/web-host, the minimal host of docs/hosts.md, in headless Chromium (Debian's
 * chromium), built the way a third party would build it: esbuild bundles host.ts against
 * `@byteedit/core/browser` as the package exports it (dist/browser, not core's sources), and the
 * engine runs in core's shipped Web Worker (dist/browser/worker.js, onnxruntime-web on WASM).
 * A real pointer drag selects; the page's Generate flow submits, follows the job and adds one layer
 * per candidate. Checked against truth: each layer equals the CLI's CPU result for the same seed
 * (max <= 4/255, mean <= 0.05/255), pixels outside the selection are the original's byte for byte,
 * the original canvas is untouched, and the layers are named by core's candidateLayerName in
 * ranking order.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { candidateLayerName, createMask, decodeImage, type RgbaImage } from '@byteedit/core';
import { launchChromium, REPO } from '../parity/chromium/harness';
import { startRuntimeServer, type StaticServer } from '../parity/chromium/runtime-harness';
import { cliReference, compareRgba, describeDiff, SMALL_PACK, type Reference } from '../reference/cpu-reference';

const EXAMPLE = join(REPO, 'docs', 'examples', 'web-host');
const SEL = { x: 160, y: 144, width: 192, height: 176 };
const PROMPT = 'a red heart';
const CANDIDATES = 2;
const SEED = 7;

let dir: string;
let server: StaticServer;
let browser: Browser;
let page: Page;
const logs: string[] = [];
let original: RgbaImage;
let reference: Reference;

function rectMask(w: number, h: number): Uint8Array {
  const data = new Uint8Array(w * h);
  for (let y = SEL.y; y < SEL.y + SEL.height; y++) data.fill(255, y * w + SEL.x, y * w + SEL.x + SEL.width);
  return data;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'byteedit-example-host-'));
  const script = join(dir, 'host.js');
  await build({ entryPoints: [join(EXAMPLE, 'host.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', outfile: script, logLevel: 'error' });
  original = decodeImage(readFileSync(join(REPO, 'docs/examples/before.png')));
  const pack = JSON.parse(readFileSync(join(SMALL_PACK, 'pack.json'), 'utf8')) as { defaults: { steps: number } };
  reference = await cliReference({ image: original, mask: createMask(original.width, original.height, rectMask(original.width, original.height)), mode: 'edit', prompt: PROMPT, steps: pack.defaults.steps, seed: SEED, candidates: CANDIDATES, pack: SMALL_PACK });
  server = await startRuntimeServer(script, readFileSync(join(EXAMPLE, 'index.html'), 'utf8').replace('src="host.js"', 'src="/runtime-page.js"'));
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  await page.addInitScript(() => Object.assign(globalThis, { byteeditHostConfig: { device: 'wasm' } }));
  await page.goto(server.url);
  await page.waitForFunction(() => 'byteeditHost' in globalThis, undefined, { timeout: 30_000 });
  await page.evaluate(() => (globalThis as unknown as { byteeditHost: { ready: Promise<void> } }).byteeditHost.ready);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A canvas's pixels, read in the page. */
async function pixels(selector: string, nth = 0): Promise<RgbaImage> {
  const r = await page.evaluate(
    ([sel, i]) => {
      const c = document.querySelectorAll<HTMLCanvasElement>(sel as string)[i as number]!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
      return { width: d.width, height: d.height, data: Array.from(d.data) };
    },
    [selector, nth] as const,
  );
  return { width: r.width, height: r.height, data: new Uint8ClampedArray(r.data) };
}

it('selects by dragging, runs the job in the worker and adds one layer per candidate that matches the CLI', async () => {
  const box = (await page.locator('#source').boundingBox())!;
  await page.mouse.move(box.x + SEL.x, box.y + SEL.y);
  await page.mouse.down();
  await page.mouse.move(box.x + SEL.x + SEL.width, box.y + SEL.y + SEL.height, { steps: 4 });
  await page.mouse.up();
  await page.fill('#prompt', PROMPT);
  await page.fill('#candidates', String(CANDIDATES));
  await page.click('#generate');
  await page.waitForFunction(() => /layer\(s\) added|failed|cancelled/.test(document.getElementById('status')!.textContent ?? ''), undefined, { timeout: 600_000 }).catch(() => undefined);
  const status = await page.textContent('#status');
  if (!/layer\(s\) added/.test(status ?? '')) throw new Error(`the page says "${status}"\n${logs.slice(-20).join('\n')}`);

  const names = await page.$$eval('#layers li', (items) => items.map((li) => li.textContent));
  // The page adds the best last (on top); its list reads like a layers panel, top layer first.
  const ranked = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLCanvasElement>('#stack canvas:not(#source)')).map((c) => c.title));
  expect(ranked).toHaveLength(CANDIDATES);
  expect(names).toEqual([...ranked].reverse());
  const seeds = ranked.map((n) => Number(/seed (\d+)$/.exec(n!)![1]));
  expect([...seeds].sort()).toEqual([SEED, SEED + 1]);
  // Layers were added worst first; the last one is the best ranked.
  ranked.forEach((name, i) => expect(name).toBe(candidateLayerName({ mode: 'edit', prompt: PROMPT, index: CANDIDATES - i, seed: seeds[i]! })));

  const mask = rectMask(original.width, original.height);
  for (let i = 0; i < CANDIDATES; i++) {
    const layer = await pixels('#stack canvas:not(#source)', i);
    const want = reference.bySeed(seeds[i]!).canvas;
    const d = compareRgba(layer, want);
    expect({ label: describeDiff(`layer seed ${seeds[i]}`, d), ok: d.max <= 4 && d.mean <= 0.05 }).toMatchObject({ ok: true });
    // Outside the selection and its feathered edge the layer is the original, byte for byte.
    let changedOutside = 0;
    for (let p = 0; p < mask.length; p++) {
      const x = p % original.width;
      const y = Math.floor(p / original.width);
      const near = x >= SEL.x - 48 && x < SEL.x + SEL.width + 48 && y >= SEL.y - 48 && y < SEL.y + SEL.height + 48;
      if (!near) for (let c = 0; c < 4; c++) if (layer.data[p * 4 + c] !== original.data[p * 4 + c]) changedOutside++;
    }
    expect(changedOutside).toBe(0);
  }
  // The original is untouched, on screen and in the page's copy.
  expect(compareRgba(await pixels('#source'), original).max).toBe(0);
  // docs/hosts.md's picture (docs/img/pictures.json names this command).
  if (process.env.UPDATE_README_SCREENSHOT === '1') await page.screenshot({ path: join(REPO, 'docs', 'img', 'web-host.png'), fullPage: true });
}, 900_000);
