/**
 * End to end: the built ui.html in headless Chromium, in a sandboxed iframe like Figma's. The
 * "sandbox side" is the real adapter (src/sandbox/adapter.ts) over the FAKE Figma API: its
 * selection and exported pixels go in, the UI runs the job — in the iframe with the real
 * onnxruntime-web (WASM, one thread) on the small default pack fetched from a real bridge over
 * loopback with CORS, or on that bridge — shows scored candidates, and Apply posts the result
 * back; the adapter then writes it into the fake document. The applied pixels are compared with
 * what the CLI makes on the CPU for the same request (test/reference/cpu-reference.ts).
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { cropImage, decodeImage, encodePng, resizeImage } from '@byteedit/core';
import { cliReference, compareRgba, describeDiff } from '../../../test/reference/cpu-reference';
import type { BridgeServer } from '../../gimp-bridge/src/server';
import { applyResult, describeSelection, prepareSource } from '../src/sandbox/adapter';
import { DEFAULT_SETTINGS, type Settings } from '../src/shared/messages';
import { FakeFigma, FakeNode } from './fake-figma';
import { ARTIFACTS, buildAndStartBridge, launch, PluginUi, ROOT, SMALL_PACK, TOKEN } from './ui-harness';

jest.setTimeout(300_000);


/** A 256 px image on a 256-unit rectangle and one rectangle over its middle as the mask. */
function document(): { figma: FakeFigma; image: FakeNode; mask: FakeNode; png: Uint8Array } {
  const figma = new FakeFigma();
  const board = figma.page.appendChild(new FakeNode('FRAME', 'Board', 600, 600).at(40, 40));
  const image = board.appendChild(new FakeNode('RECTANGLE', 'Photo', 256, 256).at(20, 30).withImage('photo'));
  figma.imageSizes.set('photo', { width: 256, height: 256 });
  const png = encodePng(resizeImage(decodeImage(readFileSync(join(ROOT, 'docs', 'examples', 'before.png'))), 256, 256));
  image.render = (w, h) => {
    expect([w, h]).toEqual([256, 256]);
    return png;
  };
  const mask = board.appendChild(new FakeNode('ELLIPSE', 'Mask', 96, 96).at(20 + 80, 30 + 80));
  mask.render = (w, h) => {
    const px = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if ((x - w / 2 + 0.5) ** 2 + (y - h / 2 + 0.5) ** 2 <= (w / 2) ** 2) px[(y * w + x) * 4 + 3] = 255;
    return encodePng({ width: w, height: h, data: new Uint8ClampedArray(px.buffer) });
  };
  figma.select(image, mask);
  return { figma, image, mask, png };
}

describe('the Figma UI in Chromium', () => {
  let browser: Browser;
  let bridge: BridgeServer;

  beforeAll(async () => {
    bridge = await buildAndStartBridge();
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.close({ mode: 'cancel' });
  });

  for (const where of ['iframe', 'bridge'] as const) {
    it(`generates with the engine ${where === 'iframe' ? 'in the iframe (onnxruntime-web WASM, pack from the bridge)' : 'on the bridge'}, shows scored candidates and applies one`, async () => {
      const { figma, image, mask, png } = document();
      const ui = await PluginUi.open(browser);
      try {
        await ui.next('ready');
        const settings: Settings = { ...DEFAULT_SETTINGS, bridgeUrl: bridge.url, token: TOKEN, engine: where, device: 'wasm', candidates: 2, steps: 4, prompt: 'a red heart', mode: 'edit' };
        await ui.send({ type: 'settings', settings });
        await ui.send({ type: 'selection', state: await describeSelection(figma) });
        await ui.frame.waitForSelector('#bridge-status[data-state="ok"]');
        expect(await ui.frame.textContent('#selection')).toBe('"Photo" with 1 mask shape · 256×256 px');

        const t0 = Date.now();
        await ui.recordProgress();
        await ui.frame.click('#generate');
        expect((await ui.next('save-settings')).settings).toEqual(settings);
        const prepare = await ui.next('prepare');
        expect(prepare.mode).toBe('edit');
        const source = await prepareSource(figma, prepare.requestId, prepare.mode);
        if (source.type !== 'source') throw new Error(source.message);
        await ui.send(source);

        await ui.frame.waitForSelector('#apply:not([disabled]), #message[data-kind="error"]', { timeout: 240_000 });
        const error = await ui.frame.$eval('#message', (e) => (e.getAttribute('data-kind') === 'error' ? e.textContent : null));
        if (error) throw new Error(`the UI reported: ${error}`);
        expect(await ui.progressTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/^step 4\/4 · candidate 2\/2$/)]));
        const seconds = (Date.now() - t0) / 1000;
        const cards = await ui.frame.$$eval('#grid .card', (els) => els.map((e) => ({ index: e.getAttribute('data-index'), pressed: e.getAttribute('aria-pressed'), text: e.textContent ?? '' })));
        expect(cards).toHaveLength(2);
        expect(cards.map((c) => c.text.slice(0, 2))).toEqual(['#1', '#2']);
        expect(cards[0]!.pressed).toBe('true');
        for (const c of cards) expect(c.text).toMatch(/seed \d+.*coherence\w* \d\.\d{3}/);
        // One signal per card (core's candidateSignals): rank, the best mark on the first only, a 0-100 match.
        expect(cards[0]!.text).toMatch(/^#1 · best · match \d{1,3} · seed \d+details/);
        expect(cards[1]!.text).toMatch(/^#2 · match \d{1,3} · seed \d+details/);
        expect(await ui.frame.$$eval('#grid .card[data-best="true"]', (els) => els.map((e) => e.getAttribute('data-index')))).toEqual([cards[0]!.index]);
        // live previews while denoising: the worker engine sends them, and so does the bridge (SSE, PNG)
        expect(Number(await ui.frame.getAttribute('#preview', 'data-previews'))).toBeGreaterThan(0);
        expect(await ui.frame.isHidden('#preview')).toBe(true);
        expect(await ui.frame.textContent('#progress-text')).toMatch(where === 'iframe' ? /^done on wasm in/ : /^done on \w+ in/);
        await ui.page.screenshot({ path: join(ARTIFACTS, `figma-ui-${where}.png`), fullPage: true });
        if (process.env.UPDATE_README_SCREENSHOT === '1' && where === 'iframe') copyFileSync(join(ARTIFACTS, 'figma-ui-iframe.png'), join(__dirname, '..', 'docs', 'figma-ui.png'));

        await ui.frame.click('#apply');
        const apply = await ui.next('apply');
        expect(apply.placement).toEqual(source.placement);
        expect(apply.placement.relativeTransform).toEqual(image.relativeTransform);
        expect([apply.width, apply.height]).toEqual([256, 256]);
        expect(apply.candidate).toEqual({ mode: 'edit', prompt: 'a red heart', rank: 1, seed: expect.any(Number) });
        // The applied bytes: new pixels inside the mask; byte-identical source pixels away from it
        // (the engine grows and feathers the mask for compositing: allow a 32 px band around the
        // ellipse's box, which spans 80..175 px on both axes).
        const out = decodeImage(apply.png);
        const src = decodeImage(png);
        expect([out.width, out.height]).toEqual([256, 256]);
        let changedInside = 0;
        let changedFar = 0;
        for (let y = 0; y < 256; y++) {
          for (let x = 0; x < 256; x++) {
            const i = y * 256 + x;
            const differs = [0, 1, 2, 3].some((c) => out.data[i * 4 + c] !== src.data[i * 4 + c]);
            if (source.mask!.data[i]! > 0) changedInside += differs ? 1 : 0;
            else if (x < 80 - 32 || x >= 176 + 32 || y < 80 - 32 || y >= 176 + 32) changedFar += differs ? 1 : 0;
          }
        }
        expect(changedFar).toBe(0);
        expect(changedInside).toBeGreaterThan(1000);
        // The truth: the applied image is the CLI's CPU result for the same request (the exported
        // pixels at the export scale, the shapes' mask, the base seed the cards show) and seed.
        const seeds = cards.map((c) => Number(/seed (\d+)/.exec(c.text)![1]));
        const seed = apply.candidate.seed;
        const reference = await cliReference({ image: src, mask: source.mask!, mode: 'edit', prompt: 'a red heart', steps: 4, candidates: 2, seed: Math.min(...seeds), pack: SMALL_PACK });
        const ref = reference.bySeed(seed);
        const d = compareRgba(cropImage(out, ref.region), ref.patch);
        process.stdout.write(`${describeDiff(`figma ${where} seed ${seed} vs CLI (region ${ref.region.width}x${ref.region.height})`, d)}\n`);
        const whole = compareRgba(out, ref.canvas);
        expect(whole.mean * whole.n).toBeCloseTo(d.mean * d.n, 6); // nothing differs outside the region
        // Measured: onnxruntime-web WASM vs onnxruntime-node CPU max 1-2, mean <= 0.002 (5 seeds);
        // the bridge runs onnxruntime-node CPU like the CLI: identical.
        expect(d.max).toBeLessThanOrEqual(where === 'iframe' ? 3 : 1);
        expect(d.mean).toBeLessThanOrEqual(where === 'iframe' ? 0.02 : 0.05);

        const reply = await applyResult(figma, apply);
        expect(reply.type).toBe('applied');
        expect(mask.visible).toBe(false);
        expect(figma.undoCommits).toBe(1);
        await ui.send(reply);
        await ui.frame.waitForSelector('#message >> text=/Added "edit #1 “a red heart” · seed /');
        process.stdout.write(`figma UI e2e (${where}): generate→candidates ${seconds.toFixed(1)} s\n`);
      } catch (err) {
        await ui.page.screenshot({ path: join(ARTIFACTS, `figma-ui-${where}-failed.png`), fullPage: true }).catch(() => undefined);
        process.stdout.write(`${ui.logs.join('\n')}\n`);
        throw err;
      } finally {
        await ui.page.close();
      }
    });
  }
});
