/**
 * The Photoshop adapter against the FAKE Photoshop (test/fake-photoshop.ts): which regions it
 * reads, where layers and masks land, how many history states an apply makes, and each refusal.
 */
import { box, contextRegion, type ContextSpace, type DocSpace } from '../src/geometry';
import { isPanelError, type PanelErrorCode } from '../src/errors';
import { applyLayers, layerName, readOutpaintRegion, readSelectionRegion, toDocument, type LayerToAdd } from '../src/photoshop-adapter';
import { crop, FakePhotoshop, type FakeDocument } from './fake-photoshop';

function setup(options: { width?: number; height?: number; version?: 24 | 25; bitsPerChannel?: string; mode?: string } = {}): { ps: FakePhotoshop; doc: FakeDocument } {
  const ps = new FakePhotoshop();
  const doc = ps.openDocument({ width: options.width ?? 400, height: options.height ?? 300, version: options.version, bitsPerChannel: options.bitsPerChannel, mode: options.mode });
  return { ps, doc };
}

async function refusal(p: Promise<unknown>): Promise<{ code: PanelErrorCode; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isPanelError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('reading the selection', () => {
  it.each([25, 24] as const)('reads only the padded context region around the selection (Photoshop %i)', async (version) => {
    const { ps, doc } = setup({ version, width: 1600, height: 1200 });
    doc.selectRect({ left: 700, top: 500, right: 750, bottom: 540 }, 4);
    const read = await readSelectionRegion(ps);
    // Core's rule: pad max(32, half the longer side 50) = 32 on each side (114x104), then each side
    // grown to 512 around the selection, the way the plan grows its own crop.
    const context = { left: 469, top: 264, right: 981, bottom: 776 };
    expect(read.context).toEqual(context);
    expect(read.selection).toEqual({ left: 700, top: 500, right: 750, bottom: 540 });
    const pixels = ps.callsOf('getPixels');
    expect(pixels).toHaveLength(1);
    expect(pixels[0]!.args).toMatchObject({ documentID: doc.id, sourceBounds: context, componentSize: 8 });
    expect(pixels[0]!.args.layerID).toBeUndefined();
    expect(read.image.width).toBe(512);
    expect(read.image.height).toBe(512);
    expect(Buffer.from(read.image.data).equals(Buffer.from(crop(doc.composite(), doc.width, read.context, 4)))).toBe(true);
    // The soft selection survives: feathered edge values, zero outside.
    expect(Buffer.from(read.mask!.data).equals(Buffer.from(crop(doc.selectionMask!, doc.width, read.context, 1)))).toBe(true);
    expect(new Set(read.mask!.data).size).toBeGreaterThan(3);
    const selections = ps.callsOf('getSelection');
    if (version === 25) expect(selections.map((c) => c.args.sourceBounds)).toEqual([context]);
    else expect(selections.map((c) => c.args.sourceBounds)).toEqual([undefined]);
    expect(ps.calls.filter((c) => ['getPixels', 'getSelection'].includes(c.fn)).every((c) => c.modal)).toBe(true);
    expect(doc.history).toEqual([]);
  });

  it('clamps the context to the canvas at its edges', async () => {
    const { ps, doc } = setup({ width: 1600, height: 1200 });
    doc.selectRect({ left: 0, top: 1180, right: 30, bottom: 1200 });
    const read = await readSelectionRegion(ps);
    expect(read.context).toEqual({ left: 0, top: 688, right: 512, bottom: 1200 });
  });

  it('sends a document smaller than 512 px whole', async () => {
    const { ps, doc } = setup();
    doc.selectRect({ left: 150, top: 100, right: 200, bottom: 140 });
    expect((await readSelectionRegion(ps)).context).toEqual({ left: 0, top: 0, right: 400, bottom: 300 });
  });

  it('shrinks the padding to keep the context under the pixel budget', () => {
    const r = contextRegion(box<DocSpace>(1000, 1000, 3000, 3000), 8000, 8000, { maxPixels: 4_500_000 })!;
    expect(r.left).toBeLessThanOrEqual(1000);
    expect((r.right - r.left) * (r.bottom - r.top)).toBeLessThanOrEqual(4_500_000);
    expect(r.right).toBeGreaterThanOrEqual(3000);
  });

  it('samples the active layer when asked, transparent where it has no pixels', async () => {
    const { ps, doc } = setup();
    const top = doc.layers[0]!;
    // A layer holding pixels only at x >= 160.
    top.pixels = top.pixels.map((v, i) => (Math.floor(i / 4) % doc.width >= 160 ? v : 0));
    doc.selectRect({ left: 150, top: 100, right: 200, bottom: 140 });
    const read = await readSelectionRegion(ps, { source: 'layer' });
    // The whole 400x300 document: smaller than 512 px on both sides.
    expect(ps.callsOf('getPixels')[0]!.args).toMatchObject({ layerID: top.id, sourceBounds: { left: 0, top: 0, right: 400, bottom: 300 } });
    const alphaAt = (x: number, y: number): number => read.image.data[(y * 400 + x) * 4 + 3]!;
    expect(alphaAt(130, 100)).toBe(0);
    expect(alphaAt(170, 100)).toBe(255);
  });

  it('reads the whole canvas for an outpaint of a document smaller than the band', async () => {
    const { ps, doc } = setup({ width: 64, height: 48 });
    const read = await readOutpaintRegion(ps, { left: 0, top: 0, right: 16, bottom: 0 });
    expect(read.context).toEqual({ left: 0, top: 0, right: 64, bottom: 48 });
    expect(read.mask).toBeNull();
    expect(Buffer.from(read.image.data)).toEqual(Buffer.from(doc.composite()));
  });

  it('reads only a 520 px band along the edge an outpaint grows', async () => {
    const { ps, doc } = setup({ width: 1200, height: 300 });
    const read = await readOutpaintRegion(ps, { left: 0, top: 0, right: 100, bottom: 0 });
    expect(read.context).toEqual({ left: 680, top: 0, right: 1200, bottom: 300 });
    expect(ps.callsOf('getPixels')[0]!.args).toMatchObject({ sourceBounds: { left: 680, top: 0, right: 1200, bottom: 300 } });
    expect(read.mask).toBeNull();
    expect(Buffer.from(read.image.data).equals(Buffer.from(crop(doc.composite(), doc.width, read.context, 4)))).toBe(true);
    // Placement on the grown canvas: the band's origin plus the candidate's region.
    expect(toDocument({ context: read.context, sourceOffset: { x: 0, y: 0 }, expand: { left: 0, top: 0, right: 100, bottom: 0 } }, 520, 0)).toEqual({ left: 1200, top: 0 });
  });

  it('reads the whole canvas when an outpaint grows two edges', async () => {
    const { ps } = setup({ width: 1200, height: 300 });
    expect((await readOutpaintRegion(ps, { left: 10, top: 0, right: 100, bottom: 0 })).context).toEqual({ left: 0, top: 0, right: 1200, bottom: 300 });
  });
});

describe('refusals', () => {
  it('without a document', async () => {
    const ps = new FakePhotoshop();
    expect(await refusal(readSelectionRegion(ps))).toMatchObject({ code: 'no_document', message: expect.stringContaining('Open an image') });
  });

  it.each([25, 24] as const)('without a selection (Photoshop %i)', async (version) => {
    const { ps } = setup({ version });
    const r = await refusal(readSelectionRegion(ps));
    expect(r.code).toBe('no_selection');
    expect(r.message).toMatch(/Make a selection first/);
    expect(ps.callsOf('getPixels')).toHaveLength(0);
  });

  it.each([
    ['bitDepth16', /16 bits per channel.*Image > Mode > 8 Bits\/Channel/],
    ['bitDepth32', /32 bits per channel.*8 Bits\/Channel/],
  ])('for %s documents, naming the conversion', async (bits, message) => {
    const { ps, doc } = setup({ bitsPerChannel: bits });
    doc.selectRect({ left: 10, top: 10, right: 20, bottom: 20 });
    const r = await refusal(readSelectionRegion(ps));
    expect(r.code).toBe('unsupported_depth');
    expect(r.message).toMatch(message);
    expect(ps.calls.filter((c) => c.fn.startsWith('get'))).toHaveLength(0);
  });

  it('for CMYK documents', async () => {
    const { ps, doc } = setup({ mode: 'CMYKColorMode' });
    doc.selectRect({ left: 10, top: 10, right: 20, bottom: 20 });
    expect(await refusal(readSelectionRegion(ps))).toMatchObject({ code: 'unsupported_mode', message: expect.stringContaining('Image > Mode > RGB Color') });
  });

  it('for an outpaint whose grown canvas is over the bridge limit, naming what it would send', async () => {
    const { ps, doc } = setup({ width: 8, height: 8 });
    // Only the reported size matters for the refusal; no 20 MP of fake pixels needed.
    doc.width = 5000;
    doc.height = 4000;
    expect(await refusal(readOutpaintRegion(ps, { left: 64, top: 0, right: 64, bottom: 0 }))).toMatchObject({ code: 'region_too_large', message: expect.stringContaining('the whole image (5000x4000) and grows it to 5128x4000') });
    doc.width = 16000;
    doc.height = 8000;
    expect(await refusal(readOutpaintRegion(ps, { left: 0, top: 0, right: 0, bottom: 2000 }))).toMatchObject({ code: 'region_too_large', message: expect.stringContaining('a 16000x250 band of the image and grows it to 16000x2250') });
    expect(ps.callsOf('getPixels')).toHaveLength(0);
  });

  it('for an outpaint without margins', async () => {
    const { ps } = setup();
    expect(await refusal(readOutpaintRegion(ps, { left: 0, top: 0, right: 0, bottom: 0 }))).toMatchObject({ code: 'invalid_input' });
  });
});

function patchOf(w: number, h: number, seed: number): { patch: Uint8Array; mask: Uint8Array } {
  const patch = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * seed) & 255));
  // A soft compositing mask: 0 in the first column, a soft edge, then 255.
  const mask = new Uint8Array(w * h).map((_, i) => (i % w > 2 ? 255 : i % w > 0 ? 128 : 0));
  return { patch, mask };
}

describe('applying candidates', () => {
  it('adds one masked layer per candidate at the region offset, in one history state, originals untouched', async () => {
    const { ps, doc } = setup();
    const background = doc.layers[0]!;
    const before = background.pixels.slice();
    const context = box<DocSpace>(118, 68, 232, 172);
    const a = patchOf(40, 30, 3);
    const b = patchOf(40, 30, 5);
    const layers: LayerToAdd[] = [
      { name: 'edit #1 “a cat” · seed 1', region: box<ContextSpace>(20, 10, 60, 40), ...a },
      { name: 'edit #2 “a cat” · seed 2', region: box<ContextSpace>(20, 10, 60, 40), ...b },
    ];
    const result = await applyLayers(ps, { documentID: doc.id, context, sourceOffset: { x: 0, y: 0 }, historyName: 'byteedit edit (2 layers)', layers });
    expect(result.offsets).toEqual([
      { left: 138, top: 78 },
      { left: 138, top: 78 },
    ]);
    expect(doc.layers.map((l) => l.name)).toEqual(['Background', 'edit #1 “a cat” · seed 1', 'edit #2 “a cat” · seed 2']);
    for (const [i, layer] of doc.layers.slice(1).entries()) {
      const want = [a, b][i]!;
      expect(Buffer.from(crop(layer.pixels, doc.width, { left: 138, top: 78, right: 178, bottom: 108 }, 4))).toEqual(Buffer.from(want.patch));
      // The layer mask is the compositing mask made hard (the patch already carries the soft edge).
      expect(Buffer.from(crop(layer.mask!, doc.width, { left: 138, top: 78, right: 178, bottom: 108 }, 1))).toEqual(Buffer.from(want.mask.map((v) => (v > 0 ? 255 : 0))));
      // Nothing outside the region.
      expect(layer.pixels.reduce((n, v, j) => n + (j % 4 === 3 && v > 0 ? 1 : 0), 0)).toBe(40 * 30);
    }
    for (const c of ps.callsOf('putPixels').concat(ps.callsOf('putLayerMask'))) {
      expect(c.modal).toBe(true);
      expect(c.args.targetBounds).toEqual({ left: 138, top: 78, right: 178, bottom: 108 });
    }
    expect(ps.callsOf('createImageDataFromBuffer').map((c) => [c.args.components, c.args.colorSpace])).toEqual([
      [4, 'RGB'],
      [1, 'Grayscale'],
      [4, 'RGB'],
      [1, 'Grayscale'],
    ]);
    expect(Buffer.from(background.pixels)).toEqual(Buffer.from(before));
    expect(background.mask).toBeNull();
    expect(doc.history).toEqual(['byteedit edit (2 layers)']);
  });

  it('without the history suspension the fake would record several states (the check above can fail)', async () => {
    const { ps, doc } = setup();
    await ps.core.executeAsModal(async () => {
      const layer = await doc.createPixelLayer({ name: 'x' });
      const img = await ps.imaging.createImageDataFromBuffer(new Uint8Array(4), { width: 1, height: 1, components: 4, colorSpace: 'RGB' });
      await ps.imaging.putPixels({ layerID: layer!.id, imageData: img, targetBounds: { left: 0, top: 0, right: 1, bottom: 1 } });
    }, { commandName: 't' });
    expect(doc.history.length).toBeGreaterThan(1);
  });

  it('rolls the document back when Photoshop fails half-way, and says nothing changed', async () => {
    const { ps, doc } = setup();
    ps.failOn = 'putLayerMask';
    const { patch, mask } = patchOf(8, 8, 1);
    const r = await refusal(applyLayers(ps, { documentID: doc.id, context: box<DocSpace>(0, 0, 100, 100), sourceOffset: { x: 0, y: 0 }, historyName: 'h', layers: [{ name: 'n', region: box<ContextSpace>(0, 0, 8, 8), patch, mask }] }));
    expect(r).toMatchObject({ code: 'photoshop_error', message: expect.stringContaining('nothing was changed') });
    expect(doc.layers.map((l) => l.name)).toEqual(['Background']);
    expect(doc.history).toEqual([]);
    expect(ps.callsOf('resumeHistory').map((c) => c.args.commit)).toEqual([false]);
  });

  it('refuses to apply into another document', async () => {
    const { ps, doc } = setup();
    ps.openDocument({ width: 10, height: 10 });
    const { patch, mask } = patchOf(2, 2, 1);
    const r = await refusal(applyLayers(ps, { documentID: doc.id, context: box<DocSpace>(0, 0, 4, 4), sourceOffset: { x: 0, y: 0 }, historyName: 'h', layers: [{ name: 'n', region: box<ContextSpace>(0, 0, 2, 2), patch, mask }] }));
    expect(r).toMatchObject({ code: 'no_document', message: expect.stringContaining('switch back') });
  });

  it('grows the canvas for expand and places the layer on the grown canvas', async () => {
    const { ps, doc } = setup({ width: 64, height: 48 });
    const before = doc.composite();
    const { patch, mask } = patchOf(16, 48, 7);
    const plan = { documentID: doc.id, context: box<DocSpace>(0, 0, 64, 48), sourceOffset: { x: 8, y: 0 }, expand: { left: 8, top: 0, right: 8, bottom: 0 }, historyName: 'byteedit expand', layers: [{ name: 'e', region: box<ContextSpace>(64, 0, 80, 48), patch, mask }] };
    expect(toDocument(plan, 64, 0)).toEqual({ left: 64, top: 0 });
    const result = await applyLayers(ps, plan);
    expect([doc.width, doc.height]).toEqual([80, 48]);
    expect(result.offsets).toEqual([{ left: 64, top: 0 }]);
    // The original pixels moved right by the left margin, unchanged.
    expect(Buffer.from(crop(doc.layers[0]!.pixels, 80, { left: 8, top: 0, right: 72, bottom: 48 }, 4))).toEqual(Buffer.from(before));
    expect(doc.history).toEqual(['byteedit expand']);
  });
});

describe('layer names', () => {
  it('are core\'s one format: mode and rank first, then the short prompt and the seed', () => {
    expect(layerName('edit', 'a cat', 1, 12)).toBe('edit #1 “a cat” · seed 12');
    expect(layerName('erase', 'a cat', 2, 3)).toBe('erase #2 · seed 3');
    expect(layerName('outpaint', `a ${'very '.repeat(20)}long prompt`, 1, 1)).toBe('outpaint #1 “a very very very very very very…” · seed 1');
  });
});
