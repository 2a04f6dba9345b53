/**
 * dist/code.js in a bare ECMAScript context (node:vm: no DOM, no TextDecoder, no timers, no
 * console), with a FAKE `figma` global that records calls: the bundle must load, show the UI,
 * listen to the selection, and answer `ready` with settings and the selection state.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';

const DIST = join(__dirname, '..', 'dist');

describe('code.js in a bare sandbox', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(__dirname, '..', 'build.mjs')], { stdio: 'pipe' });
  });

  it('loads without DOM or text codecs, shows the UI, answers ready and keeps settings in clientStorage', async () => {
    const posted: unknown[] = [];
    const calls: string[] = [];
    const stored: [string, unknown][] = [];
    const ui: { onmessage?: (m: unknown) => void; postMessage: (m: unknown) => void } = { postMessage: (m) => posted.push(m) };
    const figma = {
      showUI: (html: string, opts: { width: number; height: number }) => calls.push(`showUI ${html} ${opts.width}x${opts.height}`),
      ui,
      on: (event: string) => calls.push(`on ${event}`),
      currentPage: { selection: [] },
      clientStorage: { getAsync: async () => ({ prompt: 'kept' }), setAsync: async (key: string, value: unknown) => stored.push([key, value]) },
      notify: () => undefined,
    };
    const context: Record<string, unknown> = { figma, __html__: '<html>ui</html>' };
    runInNewContext(readFileSync(join(DIST, 'code.js'), 'utf8'), context);
    expect(runInNewContext('typeof document + typeof window + typeof setTimeout', context)).toBe('undefinedundefinedundefined');
    expect(calls).toEqual(['showUI <html>ui</html> 380x640', 'on selectionchange']);
    ui.onmessage!({ type: 'ready' });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(posted).toHaveLength(2);
    expect(posted[0]).toMatchObject({ type: 'settings', settings: { prompt: 'kept', bridgeUrl: 'http://127.0.0.1:7860' } });
    expect(posted[1]).toMatchObject({ type: 'selection', state: { ok: false } });
    ui.onmessage!({ type: 'save-settings', settings: { prompt: 'next' } });
    await new Promise((r) => setImmediate(r));
    expect(stored).toEqual([['byteedit.settings.v1', { prompt: 'next' }]]);
  });

  it('decodes PNG mask exports with its own text codecs', async () => {
    // the shim is what code.js would use in Figma; check it against the real codecs
    const context: Record<string, unknown> = {};
    const shim = execFileSync(process.execPath, [
      '-e',
      "require('esbuild').build({entryPoints:['src/sandbox/text-codec-shim.ts'],bundle:true,write:false,format:'iife'}).then(r=>process.stdout.write(r.outputFiles[0].text))",
    ], { cwd: join(__dirname, '..') }).toString();
    runInNewContext(shim, context);
    const out = runInNewContext(
      "const e = new TextEncoder(); const b = e.encode('Grüße ✓'); [Array.from(b).join(','), new TextDecoder('utf8').decode(b), new TextDecoder('latin1').decode(new Uint8Array([71, 252]))]",
      context,
    ) as string[];
    expect(out[0]).toBe(Array.from(new TextEncoder().encode('Grüße ✓')).join(','));
    expect(out[1]).toBe('Grüße ✓');
    expect(out[2]).toBe('Gü');
  });
});
