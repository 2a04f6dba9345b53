/**
 * "Keep my choices" in the built ui.html (headless Chromium, sandboxed iframe, FAKE Figma API on
 * the sandbox side, a REAL bridge started with --record-preferences): unticked, Apply records
 * nothing; ticked, a job that ran on the bridge is recorded by id and a job that ran in the
 * iframe is sent whole; the records are the documented format (docs/preferences.md).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { decodeImage, encodePng, resizeImage } from '@byteedit/core';
import type { BridgeServer } from '../../gimp-bridge/src/server';
import { readPreferences } from '../../../core/src/preferences/node-writer';
import { describeSelection, prepareSource } from '../src/sandbox/adapter';
import { DEFAULT_SETTINGS, type Settings } from '../src/shared/messages';
import { FakeFigma, FakeNode } from './fake-figma';
import { buildAndStartBridge, launch, PluginUi, ROOT, TOKEN } from './ui-harness';

jest.setTimeout(300_000);

function selection(): FakeFigma {
  const figma = new FakeFigma();
  const image = figma.page.appendChild(new FakeNode('RECTANGLE', 'Photo', 128, 128).withImage('photo'));
  figma.imageSizes.set('photo', { width: 128, height: 128 });
  const png = encodePng(resizeImage(decodeImage(readFileSync(join(ROOT, 'docs', 'examples', 'before.png'))), 128, 128));
  image.render = () => png;
  const mask = figma.page.appendChild(new FakeNode('RECTANGLE', 'Mask', 40, 40).at(44, 44));
  mask.render = (w, h) => encodePng({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4).fill(255) });
  figma.select(image, mask);
  return figma;
}

describe('"Keep my choices" in the Figma UI', () => {
  let browser: Browser;
  let bridge: BridgeServer;
  const dir = mkdtempSync(join(tmpdir(), 'byteedit-figma-prefs-'));

  beforeAll(async () => {
    bridge = await buildAndStartBridge({ recordPreferences: dir });
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.close({ mode: 'cancel' });
  });

  async function generate(ui: PluginUi, settings: Partial<Settings>): Promise<void> {
    const figma = selection();
    await ui.next('ready');
    await ui.send({ type: 'settings', settings: { ...DEFAULT_SETTINGS, bridgeUrl: bridge.url, token: TOKEN, device: 'wasm', candidates: 2, steps: 2, prompt: 'a red heart', mode: 'edit', ...settings } });
    await ui.send({ type: 'selection', state: await describeSelection(figma) });
    await ui.frame.click('#generate');
    const prepare = await ui.next('prepare');
    await ui.send(await prepareSource(figma, prepare.requestId, prepare.mode));
    await ui.frame.waitForSelector('#apply:not([disabled]), #message[data-kind="error"]', { timeout: 240_000 });
    const error = await ui.frame.$eval('#message', (e) => (e.getAttribute('data-kind') === 'error' ? e.textContent : null));
    if (error) throw new Error(`the UI reported: ${error}`);
  }

  for (const where of ['bridge', 'iframe'] as const) {
    it(`records the applied candidate of a job that ran ${where === 'bridge' ? 'on the bridge (by job id)' : 'in the iframe (sent whole)'} only once ticked`, async () => {
      const ui = await PluginUi.open(browser);
      try {
        const before = (await readPreferences(dir)).records.length;
        await generate(ui, { engine: where });
        expect(await ui.frame.isChecked('#record-preferences')).toBe(false);
        await ui.frame.click('#apply');
        await ui.next('apply');
        expect(await ui.frame.textContent('#preference-status')).toBe('');
        expect((await readPreferences(dir)).records).toHaveLength(before);

        await ui.frame.check('#record-preferences');
        expect((await ui.next('save-settings')).settings.recordPreferences).toBe(true);
        await ui.frame.click('#apply');
        await ui.next('apply');
        await ui.frame.waitForSelector('#preference-status >> text=/^Choice kept in /', { timeout: 60_000 });
        expect(await ui.frame.textContent('#preference-status')).toContain(join(dir, 'preferences.jsonl'));
        const { records, skipped } = await readPreferences(dir);
        expect(skipped).toEqual([]);
        expect(records).toHaveLength(before + 1);
        const rec = records[records.length - 1]!;
        expect(rec).toMatchObject({ host: 'figma', mode: 'edit', prompt: 'a red heart', pack: { name: 'byteedit-small' } });
        expect(rec.rejected).toHaveLength(1);
        const sizes = [rec.image, rec.mask, rec.chosen, ...rec.rejected].map((p) => {
          const img = decodeImage(readFileSync(join(dir, p)));
          return `${img.width}x${img.height}`;
        });
        expect(new Set(sizes).size).toBe(1);
      } catch (err) {
        process.stdout.write(`${ui.logs.join('\n')}\n`);
        throw err;
      } finally {
        await ui.page.close();
      }
    });
  }
});
