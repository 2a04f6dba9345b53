/**
 * Drives the built dist/ui.html the way Figma hosts it: inside a sandboxed iframe (origin "null")
 * in headless Chromium (Debian's /usr/bin/chromium through playwright-core; never downloaded).
 * The parent page stands in for Figma's message relay: what the UI posts to `parent` is captured,
 * and messages for the UI arrive as {pluginMessage}. Uint8Arrays cross the Node↔page boundary
 * as base64 and are revived into Uint8Arrays before they reach the iframe.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { startServer, type BridgeServer, type ServerOptions } from '../../gimp-bridge/src/server';
import type { SandboxToUi, UiToSandbox } from '../src/shared/messages';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const DIST = join(__dirname, '..', 'dist');
export const ROOT = join(__dirname, '..', '..', '..');
export const ARTIFACTS = join(__dirname, '..', 'artifacts');
export const SMALL_PACK = join(ROOT, 'models', 'packs', 'byteedit-small');
export const TOKEN = 'figma-e2e-token';

/** Builds dist/ and starts a real bridge (CPU) on a free loopback port serving the small pack and the runtime files. */
export async function buildAndStartBridge(options: Pick<ServerOptions, 'recordPreferences'> = {}): Promise<BridgeServer> {
  execFileSync(process.execPath, [join(__dirname, '..', 'build.mjs')], { stdio: 'pipe' });
  mkdirSync(ARTIFACTS, { recursive: true });
  return startServer({
    port: 0,
    token: TOKEN,
    packs: [SMALL_PACK, join(DIST, 'onnxruntime-web')],
    writeBridgeFile: false,
    // The CPU, like the CLI reference the tests compare with (test/reference/cpu-reference.ts).
    device: 'cpu',
    configDir: mkdtempSync(join(tmpdir(), 'byteedit-figma-')),
    ...options,
  });
}

type Wire = unknown;
function toWire(v: unknown): Wire {
  if (v instanceof Uint8Array) return { __u8: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(toWire);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toWire(x)]));
  return v;
}
function fromWire(v: Wire): unknown {
  if (v && typeof v === 'object' && '__u8' in (v as object)) return new Uint8Array(Buffer.from((v as { __u8: string }).__u8, 'base64'));
  if (Array.isArray(v)) return v.map(fromWire);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromWire(x)]));
  return v;
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export class PluginUi {
  private constructor(
    readonly page: Page,
    readonly frame: Frame,
    /** Console lines and page errors of the page and the iframe. */
    readonly logs: string[],
  ) {}

  static async open(browser: Browser): Promise<PluginUi> {
    const page = await browser.newPage({ viewport: { width: 380, height: 900 } });
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
    await page.setContent('<!doctype html><html><body style="margin:0"></body></html>');
    const html = readFileSync(join(DIST, 'ui.html'), 'utf8');
    await page.evaluate((srcdoc) => {
      const w = window as unknown as { fromUi: unknown[]; toUi: (m: unknown) => void };
      w.fromUi = [];
      const revive = (v: unknown): unknown => {
        if (v && typeof v === 'object' && '__u8' in v) return Uint8Array.from(atob((v as { __u8: string }).__u8), (c) => c.charCodeAt(0));
        if (Array.isArray(v)) return v.map(revive);
        if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
        return v;
      };
      const wire = (v: unknown): unknown => {
        if (v instanceof Uint8Array) {
          let s = '';
          for (let i = 0; i < v.length; i += 0x8000) s += String.fromCharCode(...v.subarray(i, i + 0x8000));
          return { __u8: btoa(s) };
        }
        if (Array.isArray(v)) return v.map(wire);
        if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, wire(x)]));
        return v;
      };
      const f = document.createElement('iframe');
      f.setAttribute('sandbox', 'allow-scripts'); // like Figma's plug-in iframe: origin "null"
      f.style.cssText = 'width:380px;height:900px;border:0;display:block';
      window.addEventListener('message', (e) => {
        const data = e.data as { pluginMessage?: unknown } | null;
        if (e.source === f.contentWindow && data?.pluginMessage) w.fromUi.push(wire(data.pluginMessage));
      });
      w.toUi = (m) => f.contentWindow!.postMessage({ pluginMessage: revive(m) }, '*');
      f.srcdoc = srcdoc;
      document.body.append(f);
    }, html);
    await page.waitForFunction(() => window.frames.length === 1);
    const frame = page.frames().find((fr) => fr !== page.mainFrame())!;
    return new PluginUi(page, frame, logs);
  }

  /** Starts recording every text the progress line shows (steps pass faster than polling). */
  async recordProgress(): Promise<void> {
    await this.frame.evaluate(() => {
      const el = document.getElementById('progress-text')!;
      const seen: string[] = [];
      (window as unknown as { progressTexts: string[] }).progressTexts = seen;
      new MutationObserver(() => seen.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
    });
  }

  async progressTexts(): Promise<string[]> {
    return this.frame.evaluate(() => (window as unknown as { progressTexts: string[] }).progressTexts);
  }

  async send(msg: SandboxToUi): Promise<void> {
    await this.page.evaluate((m) => (window as unknown as { toUi: (m: unknown) => void }).toUi(m), toWire(msg) as never);
  }

  /** The next message of `type` the UI posted to the sandbox (earlier ones of other types are dropped). */
  async next<T extends UiToSandbox['type']>(type: T, timeout = 30_000): Promise<Extract<UiToSandbox, { type: T }>> {
    const handle = await this.page.waitForFunction(
      (t) => {
        const q = (window as unknown as { fromUi: { type: string }[] }).fromUi;
        const i = q.findIndex((m) => m.type === t);
        return i >= 0 ? q.splice(0, i + 1)[i] : null;
      },
      type,
      { timeout, polling: 100 },
    );
    return fromWire(await handle.jsonValue()) as Extract<UiToSandbox, { type: T }>;
  }
}
