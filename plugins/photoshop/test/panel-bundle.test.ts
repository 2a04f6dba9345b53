/**
 * The built dist/panel.js as UXP would run it: evaluated in a bare VM context (no Node globals,
 * no `process`, no `Buffer`), with the FAKE `photoshop`/`uxp` modules behind `require` and a
 * minimal FAKE DOM holding the ids from static/index.html. Clicking Generate with no bridge
 * must end in the "start the bridge" help, not in an exception. No TextEncoder/TextDecoder
 * either: the bundle's polyfills must cover them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import { FakePhotoshop, fakeUxp } from './fake-photoshop';

const ROOT = resolve(__dirname, '..');

jest.setTimeout(60_000);

/** Waits until `check` holds (the panel's handlers are async), failing after 10 s. */
async function waitFor(check: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for the panel');
    await new Promise((r) => setTimeout(r, 10));
  }
}

class FakeElement {
  value = '';
  textContent = '';
  hidden = false;
  disabled = false;
  className = '';
  title = '';
  innerHTML = '';
  children: FakeElement[] = [];
  attributes = new Map<string, string>();
  listeners = new Map<string, (() => void)[]>();
  constructor(readonly id: string) {}
  addEventListener(type: string, fn: () => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  append(...els: FakeElement[]): void {
    this.children.push(...els);
  }
  fire(type: string): void {
    for (const fn of this.listeners.get(type) ?? []) fn();
  }
}

it('loads in a bare context and shows the bridge help when the bridge is not running', async () => {
  const dist = join(mkdtempSync(join(tmpdir(), 'byteedit-ps-bundle-')), 'dist');
  execFileSync(process.execPath, [join(ROOT, 'build.mjs'), '--out', dist], { cwd: ROOT });
  const html = readFileSync(join(ROOT, 'static', 'index.html'), 'utf8');
  const elements = new Map<string, FakeElement>();
  for (const m of html.matchAll(/id="([^"]+)"/g)) elements.set(m[1]!, new FakeElement(m[1]!));
  elements.get('bridge-url')!.value = 'http://127.0.0.1:7860';
  const ps = new FakePhotoshop();
  ps.openDocument({ width: 32, height: 32 }).selectRect({ left: 8, top: 8, right: 16, bottom: 16 });
  const store = new Map<string, string>();
  const fetched: string[] = [];
  const context = createContext({
    require: (name: string) => (name === 'photoshop' ? ps : name === 'uxp' ? fakeUxp(null) : undefined),
    document: { getElementById: (id: string) => elements.get(id) ?? null, createElement: (tag: string) => new FakeElement(tag) },
    localStorage: { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => store.set(k, v), removeItem: (k: string) => store.delete(k) },
    fetch: async (url: string) => {
      fetched.push(url);
      throw new TypeError('Network request failed');
    },
    setTimeout,
    console,
  });
  runInContext(readFileSync(join(dist, 'panel.js'), 'utf8'), context, { filename: 'panel.js' });
  await waitFor(() => elements.get('bridge-status')!.textContent !== '');
  expect(elements.get('bridge-status')!.textContent).toBe('Not running');
  expect(elements.get('bridge-help')!.hidden).toBe(false);

  elements.get('prompt')!.value = 'a boat';
  elements.get('message')!.textContent = '';
  elements.get('generate')!.fire('click');
  await waitFor(() => elements.get('message')!.textContent !== '' && !elements.get('generate')!.disabled);
  expect(fetched.every((u) => u.startsWith('http://127.0.0.1:7860/v1/'))).toBe(true);
  expect(fetched.length).toBeGreaterThanOrEqual(2);
  expect(elements.get('message')!.textContent).toMatch(/not running.*npx byteedit serve/);
  expect(elements.get('message')!.className).toContain('error');
  expect(elements.get('generate')!.disabled).toBe(false);
  expect(store.get('byteedit.bridgeUrl')).toBe('http://127.0.0.1:7860');
  // Recording choices is opt-in: unticked and unset until the user ticks it.
  expect(elements.get('record-preferences')!.attributes.has('checked')).toBe(false);
  expect(store.has('byteedit.recordPreferences')).toBe(false);
});
