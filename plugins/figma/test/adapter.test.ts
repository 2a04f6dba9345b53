// The sandbox adapter against a FAKE Figma API (test/fake-figma.ts): selection rules, mask
// rasterization from exportAsync bytes, scale choice, result placement, naming, undo, refusals.
import { createImage, decodeImage, encodePng } from '@byteedit/core';
import { analyzeSelection, applyResult, describeSelection, prepareSource, type SourceMessage } from '../src/sandbox/adapter';
import { chooseScale, isTranslation } from '../src/sandbox/geometry';
import { REFUSALS } from '../src/sandbox/refusals';
import type { CandidateLabel, Placement } from '../src/shared/messages';
import { FakeFigma, FakeNode } from './fake-figma';

/** A frame on the page holding an image rectangle at (100, 50), 200×100 units, whose image is 400×200 px. */
function scene() {
  const figma = new FakeFigma();
  const board = figma.page.appendChild(new FakeNode('FRAME', 'Board', 1000, 800).at(10, 20));
  const image = board.appendChild(new FakeNode('RECTANGLE', 'Photo', 200, 100).at(100, 50).withImage('img1'));
  figma.imageSizes.set('img1', { width: 400, height: 200 });
  return { figma, board, image };
}

/** An opaque square shape PNG (alpha 255 everywhere) of the size Figma would export. */
const solid = (w: number, h: number) => encodePng(createImage(w, h, new Uint8Array(w * h * 4).fill(255)));

function shape(board: FakeNode, name: string, x: number, y: number, w: number, h: number, type = 'RECTANGLE'): FakeNode {
  const s = board.appendChild(new FakeNode(type, name, w, h).at(x, y));
  s.render = solid;
  return s;
}

async function prepared(figma: FakeFigma, mode: 'edit' | 'erase' | 'outpaint' = 'edit'): Promise<SourceMessage> {
  const m = await prepareSource(figma, 1, mode);
  if (m.type !== 'source') throw new Error(`refused: ${m.message}`);
  return m;
}

async function refusal(figma: FakeFigma, mode: 'edit' | 'erase' | 'outpaint' = 'edit'): Promise<string> {
  const m = await prepareSource(figma, 7, mode);
  if (m.type !== 'refusal') throw new Error('expected a refusal');
  expect(m.requestId).toBe(7);
  return m.message;
}

describe('selection rules', () => {
  it('refuses an empty selection and says what to select', async () => {
    const { figma } = scene();
    expect(await refusal(figma)).toBe(REFUSALS.nothingSelected);
    expect(await describeSelection(figma)).toEqual({ ok: false, message: REFUSALS.nothingSelected });
  });

  it('refuses shapes without an image', async () => {
    const { figma, board } = scene();
    figma.select(shape(board, 'Blob', 0, 0, 10, 10));
    expect(await refusal(figma)).toBe(REFUSALS.noImage);
  });

  it('refuses two images', async () => {
    const { figma, board, image } = scene();
    const other = board.appendChild(new FakeNode('RECTANGLE', 'Other', 50, 50).withImage('img2'));
    figma.select(image, other, shape(board, 'Blob', 0, 0, 10, 10));
    expect(await refusal(figma)).toBe(REFUSALS.manyImages);
  });

  it('refuses an image fill on a shape that is not a rectangle or frame', async () => {
    const { figma, board } = scene();
    const ellipse = board.appendChild(new FakeNode('ELLIPSE', 'Round photo', 50, 50).withImage('img1'));
    figma.select(ellipse, shape(board, 'Blob', 0, 0, 10, 10));
    expect(await refusal(figma)).toBe(REFUSALS.imageOnOtherShape('Round photo'));
  });

  it('refuses a rotated image', async () => {
    const { figma, board, image } = scene();
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    image.relativeTransform = [
      [c, -s, 100],
      [s, c, 50],
    ];
    figma.select(image, shape(board, 'Blob', 120, 60, 10, 10));
    expect(await refusal(figma)).toBe(REFUSALS.rotated('Photo'));
  });

  it('asks for mask shapes when only the image is selected', async () => {
    const { figma, image } = scene();
    figma.select(image);
    expect(await refusal(figma)).toBe(REFUSALS.noMask);
  });

  it('refuses layers that cannot mark an area', async () => {
    const { figma, board, image } = scene();
    const sticky = board.appendChild(new FakeNode('STICKY', 'Note', 50, 50));
    figma.select(image, sticky);
    expect(await refusal(figma)).toBe(REFUSALS.notAShape('Note', 'STICKY'));
  });

  it('refuses hidden shapes', async () => {
    const { figma, board, image } = scene();
    const s = shape(board, 'Ghost', 120, 60, 10, 10);
    s.visible = false;
    figma.select(image, s);
    expect(await refusal(figma)).toBe(REFUSALS.hiddenShape('Ghost'));
  });

  it('refuses a shape below the image or in another parent', async () => {
    const { figma, board, image } = scene();
    const below = board.insertChild(0, new FakeNode('RECTANGLE', 'Under', 10, 10).at(120, 60));
    figma.select(image, below);
    expect(await refusal(figma)).toBe(REFUSALS.notAbove('Under'));
    const elsewhere = figma.page.appendChild(new FakeNode('RECTANGLE', 'Elsewhere', 10, 10).at(130, 80));
    figma.select(image, elsewhere);
    expect(await refusal(figma)).toBe(REFUSALS.notAbove('Elsewhere'));
  });

  it('accepts shapes inside an image-filled frame (they paint over its fill)', () => {
    const figma = new FakeFigma();
    const frame = figma.page.appendChild(new FakeNode('FRAME', 'Framed photo', 200, 100).withImage('img1'));
    const inner = shape(frame, 'Blob', 10, 10, 20, 20);
    const a = analyzeSelection([frame.asScene(), inner.asScene()]);
    expect(a.ok && a.kind).toBe('masked');
  });

  it('refuses shapes that miss the image', async () => {
    const { figma, board, image } = scene();
    figma.select(image, shape(board, 'Far away', 700, 600, 30, 30));
    expect(await refusal(figma)).toBe(REFUSALS.maskOutside);
  });

  it('refuses a mode that does not fit the selection', async () => {
    const { figma, board, image } = scene();
    figma.select(image, shape(board, 'Blob', 120, 60, 10, 10));
    expect(await refusal(figma, 'outpaint')).toBe(REFUSALS.outpaintNeedsFrame);
    const canvas = figma.page.appendChild(new FakeNode('FRAME', 'Canvas', 300, 100));
    canvas.appendChild(new FakeNode('RECTANGLE', 'Inner', 200, 100).at(50, 0).withImage('img1'));
    figma.select(canvas);
    expect(await refusal(figma, 'edit')).toBe(REFUSALS.maskedNeedsShapes);
  });

  it('refuses outpaint frames that are not larger, that clip the image or that hold two images', async () => {
    const figma = new FakeFigma();
    const tight = figma.page.appendChild(new FakeNode('FRAME', 'Tight', 200, 100));
    tight.appendChild(new FakeNode('RECTANGLE', 'Inner', 200, 100).withImage('img1'));
    figma.select(tight);
    expect(await refusal(figma, 'outpaint')).toBe(REFUSALS.outpaintNotLarger('Tight'));
    const clipped = figma.page.appendChild(new FakeNode('FRAME', 'Clipped', 300, 100));
    clipped.appendChild(new FakeNode('RECTANGLE', 'Inner', 200, 100).at(150, 0).withImage('img1'));
    figma.select(clipped);
    expect(await refusal(figma, 'outpaint')).toBe(REFUSALS.outpaintImageOutside('Clipped'));
    const two = figma.page.appendChild(new FakeNode('FRAME', 'Two', 600, 200));
    two.appendChild(new FakeNode('RECTANGLE', 'A', 100, 100).withImage('img1'));
    two.appendChild(new FakeNode('RECTANGLE', 'B', 100, 100).at(200, 0).withImage('img1'));
    figma.select(two);
    expect(await refusal(figma, 'outpaint')).toBe(REFUSALS.outpaintManyImages('Two'));
  });
});

describe('export scale', () => {
  it('uses the image resolution, never below 1, and keeps the long side at most 4096', () => {
    expect(chooseScale({ width: 200, height: 100 }, { width: 400, height: 200 }, { width: 200, height: 100 })).toBe(2);
    expect(chooseScale({ width: 200, height: 100 }, { width: 100, height: 50 }, { width: 200, height: 100 })).toBe(1);
    expect(chooseScale({ width: 200, height: 100 }, null, { width: 200, height: 100 })).toBe(1);
    expect(chooseScale({ width: 200, height: 100 }, { width: 8000, height: 4000 }, { width: 200, height: 100 })).toBeCloseTo(4096 / 200);
    // outpaint: the frame, not the image, is the canvas that must fit
    expect(chooseScale({ width: 200, height: 100 }, { width: 8000, height: 4000 }, { width: 1000, height: 100 })).toBeCloseTo(4096 / 1000);
  });

  it('exports the image at that scale with its exact bounds', async () => {
    const { figma, board, image } = scene();
    figma.imageSizes.set('img1', { width: 8000, height: 4000 });
    figma.select(image, shape(board, 'Blob', 120, 60, 10, 10));
    const m = await prepared(figma);
    expect(image.exportCalls).toEqual([{ format: 'PNG', constraint: { type: 'SCALE', value: 4096 / 200 }, useAbsoluteBounds: true }]);
    const img = decodeImage(m.image);
    expect([img.width, img.height]).toEqual([4096, 2048]);
    expect([m.mask!.width, m.mask!.height]).toEqual([4096, 2048]);
  });

  it('reports the pixel size before generating', async () => {
    const { figma, board, image } = scene();
    figma.select(image, shape(board, 'Blob', 120, 60, 10, 10));
    expect(await describeSelection(figma)).toEqual({ ok: true, kind: 'masked', description: '"Photo" with 1 mask shape', pixels: { width: 400, height: 200 }, scale: 2 });
  });

  it('treats only pure translations as unrotated', () => {
    expect(isTranslation([[1, 0, 5], [0, 1, 7]])).toBe(true);
    expect(isTranslation([[-1, 0, 5], [0, 1, 7]])).toBe(false);
    expect(isTranslation([[1, 0.2, 5], [0, 1, 7]])).toBe(false);
  });
});

describe('mask rasterization', () => {
  it('places each shape export on the image pixel grid and takes the union of their alpha', async () => {
    const { figma, board, image } = scene();
    // image at page (110, 70) after the board offset; scale 2
    const a = shape(board, 'A', 150, 70, 20, 10); // → mask x 100..139, y 40..59
    const b = shape(board, 'B', 280, 130, 40, 40); // sticks out right and bottom → x 360..399, y 160..199
    // a soft shape, alpha 128, overlapping A's lower right corner → x 130..149, y 50..69
    const soft = board.appendChild(new FakeNode('ELLIPSE', 'Soft', 10, 10).at(165, 75));
    soft.render = (w, h) => {
      const px = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) px[i * 4 + 3] = 128;
      return encodePng(createImage(w, h, px));
    };
    figma.select(image, a, b, soft);
    const m = await prepared(figma);
    expect(a.exportCalls).toEqual([{ format: 'PNG', constraint: { type: 'SCALE', value: 2 } }]);
    const at = (x: number, y: number) => m.mask!.data[y * m.mask!.width + x];
    expect(at(100, 40)).toBe(255);
    expect(at(139, 59)).toBe(255);
    expect(at(99, 40)).toBe(0);
    expect(at(140, 40)).toBe(0);
    expect(at(135, 55)).toBe(255); // union takes the max
    expect(at(145, 55)).toBe(128);
    expect(at(135, 65)).toBe(128);
    expect(at(150, 55)).toBe(0);
    expect(at(360, 160)).toBe(255);
    expect(at(399, 199)).toBe(255);
    expect(at(359, 160)).toBe(0);
    let count255 = 0;
    for (const v of m.mask!.data) if (v === 255) count255++;
    expect(count255).toBe(40 * 20 + 40 * 40);
  });

  it('keeps soft alpha where only a soft shape covers', async () => {
    const { figma, board, image } = scene();
    const soft = board.appendChild(new FakeNode('VECTOR', 'Soft', 10, 10).at(200, 80));
    soft.render = (w, h) => {
      const px = new Uint8Array(w * h * 4);
      for (let i = 0; i < w * h; i++) px[i * 4 + 3] = 128;
      return encodePng(createImage(w, h, px));
    };
    figma.select(image, soft);
    const m = await prepared(figma, 'erase');
    expect(m.mode).toBe('erase');
    expect(m.mask!.data[60 * 400 + 200]).toBe(128);
    expect(m.mask!.data[60 * 400 + 199]).toBe(0);
    expect(m.mask!.data[79 * 400 + 219]).toBe(128);
  });

  it('uses the render bounds (strokes, rotation) for where a shape export sits', async () => {
    const { figma, board, image } = scene();
    const s = shape(board, 'Stroked', 150, 70, 20, 10);
    s.renderBoundsOverride = { x: 150 + 10 - 2, y: 70 + 20 - 2, width: 24, height: 14 };
    figma.select(image, s);
    const m = await prepared(figma);
    expect(m.mask!.data[(40 - 4) * 400 + (100 - 4)]).toBe(255);
    expect(m.mask!.data[(40 - 5) * 400 + (100 - 4)]).toBe(0);
  });
});

describe('outpaint', () => {
  it('turns a frame larger than its image into margins on the image grid', async () => {
    const figma = new FakeFigma();
    const canvas = figma.page.appendChild(new FakeNode('FRAME', 'Canvas', 300, 120).at(500, 500));
    canvas.appendChild(new FakeNode('RECTANGLE', 'Background', 300, 120));
    const img = canvas.appendChild(new FakeNode('RECTANGLE', 'Photo', 200, 100).at(50, 10).withImage('img1'));
    figma.imageSizes.set('img1', { width: 400, height: 200 });
    figma.select(canvas);
    const m = await prepared(figma, 'outpaint');
    expect(m.expand).toEqual({ left: 100, top: 20, right: 100, bottom: 20 });
    expect(m.mask).toBeNull();
    expect(m.placement).toEqual({ sourceId: canvas.id, parentId: canvas.id, index: 2, relativeTransform: [[1, 0, 0], [0, 1, 0]], width: 300, height: 120, maskIds: [] });
    expect(img.exportCalls[0]!.useAbsoluteBounds).toBe(true);
  });
});

describe('applying a result', () => {
  async function setup() {
    const s = scene();
    const a = shape(s.board, 'A', 150, 70, 20, 10);
    s.figma.select(s.image, a);
    const src = await prepared(s.figma);
    const png = encodePng(createImage(400, 200, new Uint8Array(400 * 200 * 4).fill(9)));
    return { ...s, a, src, png };
  }

  it('adds an image-filled rectangle with the source transform and size just above the source, hides the mask and commits one undo step', async () => {
    const { figma, board, image, a, src, png } = await setup();
    const candidate: CandidateLabel = { mode: 'edit', prompt: 'a red heart', rank: 1, seed: 42 };
    const reply = await applyResult(figma, { type: 'apply', png, width: 400, height: 200, placement: src.placement, candidate });
    expect(reply.type).toBe('applied');
    const idx = board.children.indexOf(image);
    const node = board.children[idx + 1]!;
    expect(reply).toEqual({ type: 'applied', nodeId: node.id, name: 'edit #1 “a red heart” · seed 42' });
    expect(node.type).toBe('RECTANGLE');
    expect(node.relativeTransform).toEqual(image.relativeTransform);
    expect([node.width, node.height]).toEqual([200, 100]);
    expect(node.fills).toEqual([{ type: 'IMAGE', imageHash: 'created-1', scaleMode: 'FILL' }]);
    expect(figma.createdImages.get('created-1')).toBe(png);
    expect(a.visible).toBe(false);
    expect(a.parent).toBe(board);
    expect(image.visible).toBe(true);
    expect(figma.undoCommits).toBe(1);
    expect(figma.currentPage.selection).toEqual([node]);
    await applyResult(figma, { type: 'apply', png, width: 400, height: 200, placement: src.placement, candidate });
    expect(figma.undoCommits).toBe(2);
  });

  it('stays above the source when it moved in the layer list', async () => {
    const { figma, board, image, src, png } = await setup();
    board.insertChild(board.children.length, image); // moved to the top
    await applyResult(figma, { type: 'apply', png, width: 400, height: 200, placement: src.placement, candidate: { mode: 'erase', prompt: '', rank: 2, seed: 7 } });
    expect(board.children[board.children.length - 1]!.name).toBe('erase #2 · seed 7');
    expect(board.children[board.children.length - 2]).toBe(image);
  });

  it('refuses when the source was deleted, or when the image is over 4096 px', async () => {
    const { figma, image, src, png } = await setup();
    expect(await applyResult(figma, { type: 'apply', png, width: 5000, height: 200, placement: src.placement, candidate: { mode: 'edit', prompt: 'x', rank: 1, seed: 1 } })).toEqual({ type: 'apply-failed', message: REFUSALS.tooLarge(5000, 200) });
    image.remove();
    const gone: Placement = src.placement;
    expect(await applyResult(figma, { type: 'apply', png, width: 400, height: 200, placement: gone, candidate: { mode: 'edit', prompt: 'x', rank: 1, seed: 1 } })).toEqual({ type: 'apply-failed', message: REFUSALS.sourceGone });
    expect(figma.undoCommits).toBe(0);
  });

  it('names results like every host: mode and rank, a shortened prompt, the seed (core\'s candidateLayerName)', async () => {
    const { figma, board, src, png } = await setup();
    const reply = await applyResult(figma, { type: 'apply', png, width: 400, height: 200, placement: src.placement, candidate: { mode: 'outpaint', prompt: `a ${'very '.repeat(20)}long prompt`, rank: 3, seed: 1 } });
    expect(reply).toMatchObject({ type: 'applied', name: 'outpaint #3 “a very very very very very very…” · seed 1' });
    expect(board.children.some((n) => n.name === 'outpaint #3 “a very very very very very very…” · seed 1')).toBe(true);
  });
});
