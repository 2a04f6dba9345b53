/**
 * CORS from a real browser (Chromium, headless, through playwright-core; never downloaded:
 * /usr/bin/chromium from Debian). A page with an opaque origin ("null", like Figma's plug-in iframe)
 * may call the bridge with its token, including the preflight for Authorization and an EventSource
 * stream; a page from an origin that is not allowlisted cannot read anything.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { fakeImpl, type BridgeHandle } from './engines';
import { pngOf, rectMaskPng, testImage } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
jest.setTimeout(120_000);

describe('the bridge from a browser page', () => {
  let browser: Browser;
  let bridge: BridgeHandle;
  let allowed: BridgeHandle;
  let site: Server;
  let siteOrigin: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    site = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      // /plugin-host embeds a sandboxed iframe without allow-same-origin: its origin is "null",
      // as in Figma, where the plug-in UI iframe sits in Figma's (secure) page.
      res.end(req.url === '/plugin-host' ? '<!doctype html><title>host</title><iframe sandbox="allow-scripts" srcdoc="<title>plugin ui</title>"></iframe>' : '<!doctype html><title>some web page</title>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    bridge = await fakeImpl.start();
    allowed = await fakeImpl.start({ allowOrigins: [siteOrigin] });
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    await allowed?.close();
    site?.close();
  });

  /** Runs fetch/EventSource calls inside a page and reports what the page could read. */
  async function fromPage(url: string, target: BridgeHandle, inFrame = false): Promise<{ packs: string; job: string; events: string; origin: string }> {
    const page = await browser.newPage();
    try {
      await page.goto(url);
      const frame = inFrame ? page.frames()[1]! : page.mainFrame();
      if (inFrame) await frame.waitForLoadState();
      const image = pngOf(testImage(32, 24)).toString('base64');
      const mask = rectMaskPng(32, 24, { x: 4, y: 4, width: 8, height: 8 }).toString('base64');
      return await frame.evaluate(
        async ({ base, token, image, mask }) => {
          const attempt = async (f: () => Promise<string>): Promise<string> => {
            try {
              return await f();
            } catch (e) {
              return `blocked: ${String(e)}`;
            }
          };
          const auth = { Authorization: `Bearer ${token}` };
          const packs = await attempt(async () => {
            const r = await fetch(`${base}/v1/packs`, { headers: auth });
            return `${r.status} ${((await r.json()) as { packs: { name: string }[] }).packs.map((p) => p.name).join(',')}`;
          });
          let id = '';
          const job = await attempt(async () => {
            const r = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ image, mask, mode: 'erase', steps: 2 }) });
            id = ((await r.json()) as { id: string }).id;
            return `${r.status}`;
          });
          const events = id
            ? await new Promise<string>((resolve) => {
                const seen: string[] = [];
                const source = new EventSource(`${base}/v1/jobs/${id}/events?token=${encodeURIComponent(token)}`);
                for (const type of ['started', 'candidate', 'finished']) {
                  source.addEventListener(type, () => {
                    seen.push(type);
                    if (type === 'finished') {
                      source.close();
                      resolve(seen.join(','));
                    }
                  });
                }
                source.onerror = () => {
                  source.close();
                  resolve(`error after ${seen.join(',')}`);
                };
              })
            : 'no job';
          return { packs, job, events, origin: (globalThis as unknown as { origin: string }).origin };
        },
        { base: target.url, token: target.token, image, mask },
      );
    } finally {
      await page.close();
    }
  }

  it('serves an opaque-origin page ("null", like the Figma plug-in iframe) that has the token', async () => {
    const r = await fromPage(`${siteOrigin}/plugin-host`, bridge, true);
    expect(r).toEqual({ origin: 'null', packs: '200 tiny-sd-diffusers', job: '202', events: 'started,candidate,finished' });
  });

  it('lets a page from a non-allowlisted origin read nothing, even with the token', async () => {
    const r = await fromPage(siteOrigin, bridge);
    expect(r.origin).toBe(siteOrigin);
    expect(r.packs).toMatch(/^blocked/);
    expect(r.job).toMatch(/^blocked/);
  });

  it('serves that origin once it is allowlisted with --allow-origin', async () => {
    const r = await fromPage(siteOrigin, allowed);
    expect(r).toEqual({ origin: siteOrigin, packs: '200 tiny-sd-diffusers', job: '202', events: 'started,candidate,finished' });
  });
});
