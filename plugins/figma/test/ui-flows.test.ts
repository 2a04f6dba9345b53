/**
 * More of the built ui.html in headless Chromium (see ui-chromium.test.ts for the set-up): the
 * sandbox's refusals reach the user, Cancel stops a running job in the iframe's worker engine, and
 * outpaint composes the grown canvas and posts it with the frame's placement. The sandbox side is
 * the real adapter over the FAKE Figma API.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { createImage, cropImage, decodeImage, encodePng } from '@byteedit/core';
import { cliReference, compareRgba, describeDiff } from '../../../test/reference/cpu-reference';
import type { BridgeServer } from '../../gimp-bridge/src/server';
import { describeSelection, prepareSource } from '../src/sandbox/adapter';
import { REFUSALS } from '../src/sandbox/refusals';
import { DEFAULT_SETTINGS, type Settings } from '../src/shared/messages';
import { FakeFigma, FakeNode } from './fake-figma';
import { ARTIFACTS, buildAndStartBridge, launch, PluginUi, SMALL_PACK, TOKEN } from './ui-harness';

jest.setTimeout(240_000);

/** A 128×128 test picture: a vertical gradient with a dark square. */
function picture(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      const inSquare = x > w / 3 && x < (2 * w) / 3 && y > h / 3 && y < (2 * h) / 3;
      px[i] = inSquare ? 40 : 120 + y;
      px[i + 1] = inSquare ? 40 : 160;
      px[i + 2] = inSquare ? 60 : 220 - y;
      px[i + 3] = 255;
    }
  return encodePng(createImage(w, h, px));
}

describe('the Figma UI flows in Chromium', () => {
  let browser: Browser;
  let bridge: BridgeServer;
  let ui: PluginUi;

  beforeAll(async () => {
    bridge = await buildAndStartBridge();
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await bridge?.close({ mode: 'cancel' });
  });

  async function open(settings: Partial<Settings>): Promise<Settings> {
    ui = await PluginUi.open(browser);
    await ui.next('ready');
    const s: Settings = { ...DEFAULT_SETTINGS, bridgeUrl: bridge.url, token: TOKEN, device: 'wasm', ...settings };
    await ui.send({ type: 'settings', settings: s });
    return s;
  }

  afterEach(async () => {
    await ui?.page.close();
  });

  it('shows the selection refusal, and the refusal for Generate as an error', async () => {
    const figma = new FakeFigma();
    await open({ engine: 'bridge' });
    await ui.send({ type: 'selection', state: await describeSelection(figma) });
    await ui.frame.waitForSelector('#selection[data-ok="false"]');
    expect(await ui.frame.textContent('#selection')).toBe(REFUSALS.nothingSelected);
    await ui.frame.click('#generate');
    const prepare = await ui.next('prepare');
    await ui.send(await prepareSource(figma, prepare.requestId, prepare.mode));
    await ui.frame.waitForSelector('#message[data-kind="error"]');
    expect(await ui.frame.textContent('#message')).toBe(REFUSALS.nothingSelected);
    expect(await ui.frame.isEnabled('#generate')).toBe(true);
  });

  it('cancels a running job in the iframe engine between steps', async () => {
    const figma = new FakeFigma();
    const image = figma.page.appendChild(new FakeNode('RECTANGLE', 'Photo', 128, 128).withImage('p'));
    const png = picture(128, 128);
    image.render = () => png;
    const shape = figma.page.appendChild(new FakeNode('RECTANGLE', 'Mask', 40, 40).at(40, 40));
    shape.render = (w, h) => encodePng(createImage(w, h, new Uint8Array(w * h * 4).fill(255)));
    figma.select(image, shape);
    await open({ engine: 'iframe', steps: 40, candidates: 4, prompt: 'a cat' });
    await ui.send({ type: 'selection', state: await describeSelection(figma) });
    await ui.recordProgress();
    await ui.frame.click('#generate');
    const prepare = await ui.next('prepare');
    await ui.send(await prepareSource(figma, prepare.requestId, prepare.mode));
    await ui.frame.waitForFunction(() => /^step \d+\/40/.test(document.getElementById('progress-text')!.textContent ?? ''), undefined, { timeout: 120_000 });
    await ui.frame.waitForSelector('#preview:not([hidden])', { timeout: 60_000 }); // a live preview is up
    await ui.page.screenshot({ path: join(ARTIFACTS, 'figma-ui-progress.png'), fullPage: true });
    await ui.frame.click('#cancel');
    await ui.frame.waitForSelector('#progress-text >> text=cancelled', { timeout: 60_000 });
    const steps = (await ui.progressTexts()).filter((t) => t.startsWith('step '));
    expect(steps[steps.length - 1]).not.toBe('step 40/40 · candidate 4/4');
    expect(await ui.frame.isEnabled('#generate')).toBe(true);
    expect(await ui.frame.isEnabled('#apply')).toBe(false);
  });

  it('outpaints a frame: the grown canvas, the source pixels kept, placed over the frame', async () => {
    const figma = new FakeFigma();
    const frame = figma.page.appendChild(new FakeNode('FRAME', 'Canvas', 192, 128).at(300, 300));
    const image = frame.appendChild(new FakeNode('RECTANGLE', 'Photo', 128, 128).at(32, 0).withImage('p'));
    figma.imageSizes.set('p', { width: 128, height: 128 });
    const png = picture(128, 128);
    image.render = () => png;
    figma.select(frame);
    await open({ engine: 'bridge', steps: 4, candidates: 1, prompt: 'sky' });
    await ui.send({ type: 'selection', state: await describeSelection(figma) });
    await ui.frame.waitForSelector('#selection >> text=/Outpaint "Photo" to frame "Canvas" · 192×128 px/');
    expect(await ui.frame.inputValue('#mode')).toBe('outpaint');
    await ui.frame.click('#generate');
    const prepare = await ui.next('prepare');
    expect(prepare.mode).toBe('outpaint');
    const source = await prepareSource(figma, prepare.requestId, prepare.mode);
    await ui.send(source);
    await ui.frame.waitForSelector('#apply:not([disabled]), #message[data-kind="error"]', { timeout: 120_000 });
    expect(await ui.frame.getAttribute('#message', 'data-kind')).not.toBe('error');
    await ui.frame.click('#apply');
    const apply = await ui.next('apply');
    expect([apply.width, apply.height]).toEqual([192, 128]);
    expect(apply.placement).toEqual({ sourceId: frame.id, parentId: frame.id, index: 1, relativeTransform: [[1, 0, 0], [0, 1, 0]], width: 192, height: 128, maskIds: [] });
    // The best-ranked candidate (selected by default): the sandbox names the node from these.
    expect(apply.candidate).toEqual({ mode: 'outpaint', prompt: 'sky', rank: 1, seed: expect.any(Number) });
    const out = decodeImage(apply.png);
    const src = decodeImage(png);
    let changedSource = 0;
    let alphaZero = 0;
    for (let y = 0; y < 128; y++)
      for (let x = 0; x < 192; x++) {
        const o = (y * 192 + x) * 4;
        if (out.data[o + 3] === 0) alphaZero++;
        if (x >= 32 && x < 160) {
          const s = (y * 128 + (x - 32)) * 4;
          if ([0, 1, 2, 3].some((c) => out.data[o + c] !== src.data[s + c])) changedSource++;
        }
      }
    expect(changedSource).toBe(0);
    expect(alphaZero).toBe(0); // the margins are filled
    // The truth: the CLI's CPU outpaint of the same picture, margins and seed, on the same canvas.
    if (source.type !== 'source') throw new Error(source.message);
    const seed = apply.candidate.seed;
    const ref = (await cliReference({ image: src, mode: 'outpaint', expand: source.expand!, prompt: 'sky', steps: 4, candidates: 1, seed, pack: SMALL_PACK })).bySeed(seed);
    const d = compareRgba(cropImage(out, ref.region), ref.patch);
    process.stdout.write(`${describeDiff(`figma outpaint (bridge) vs CLI (region ${ref.region.width}x${ref.region.height})`, d)}\n`);
    const whole = compareRgba(out, ref.canvas);
    expect(whole.mean * whole.n).toBeCloseTo(d.mean * d.n, 6); // nothing differs outside the region
    // The bridge runs onnxruntime-node CPU like the CLI: measured identical.
    expect(d.max).toBeLessThanOrEqual(1);
    expect(d.mean).toBeLessThanOrEqual(0.05);
  });
});
