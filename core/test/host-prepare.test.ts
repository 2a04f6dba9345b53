/**
 * Host preparation (src/host/prepare.ts) against the plan's own geometry (src/plan/context.ts):
 * the region a host sends contains the crop the plan takes, so the model sees the same pixels as
 * for the whole document. The cases both languages share are in
 * plugins/gimp-bridge/test/host-prepare-cases.json (host-prepare.test.ts there).
 */
import { rect, type CanvasSpace, type Rect } from '../src/image/geometry';
import { contextRegion, documentOffset, hardLayerMask, maskBounds, outpaintContext, candidateLayerName, candidateSignals, signalLine } from '../src/host/index';
import { computeBounds } from '../src/image/image';
import { contextCrop, layoutCanvas, type ContextRules } from '../src/plan/context';

/** Packs up to native 512 (the host rule's promise), and the model-free fill's rules. */
const RULES: Record<string, ContextRules> = {
  'fixture (native 64)': { native: 64, multiple: 8, latentScaleFactor: 8 },
  'default pack (native 128)': { native: 128, multiple: 8, latentScaleFactor: 8 },
  'SD 1.5 (native 512)': { native: 512, multiple: 64, latentScaleFactor: 8 },
  'fill (native 256)': { native: 256, multiple: 1, max: 1 << 14, latentScaleFactor: 1 },
};

/** A small deterministic generator (the cases must be the same on every run). */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function randomSelection(next: (n: number) => number): { doc: { width: number; height: number }; selection: Rect<CanvasSpace> } {
  const doc = { width: 40 + next(3000), height: 40 + next(2400) };
  // Mostly small and mid-size selections, some touching an edge.
  const w = 1 + next(Math.min(doc.width, [8, 60, 400, 1500][next(4)]!));
  const h = 1 + next(Math.min(doc.height, [8, 60, 400, 1500][next(4)]!));
  const x = next(4) === 0 ? 0 : next(4) === 0 ? doc.width - w : next(doc.width - w + 1);
  const y = next(4) === 0 ? 0 : next(4) === 0 ? doc.height - h : next(doc.height - h + 1);
  return { doc, selection: rect<CanvasSpace>(x, y, Math.min(w, doc.width - x), Math.min(h, doc.height - y)) };
}

const shifted = (r: Rect, dx: number, dy: number): Rect => ({ x: r.x - dx, y: r.y - dy, width: r.width, height: r.height });

describe('contextRegion and the plan', () => {
  it.each(Object.entries(RULES))('contains the plan crop of %s, so the crop sent gives the same model input as the whole document', (_name, rules) => {
    const next = lcg(7);
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const { doc, selection } = randomSelection(next);
      const region = contextRegion(selection, doc, { maxPixels: Infinity })!;
      const whole = contextCrop(layoutCanvas('edit', doc, selection, undefined).generationBounds, doc, rules);
      const local = shifted(selection, region.x, region.y) as Rect<CanvasSpace>;
      const cropped = contextCrop(layoutCanvas('edit', region, local, undefined).generationBounds, region, rules);
      expect({ i, context: shifted(whole.context, region.x, region.y), model: whole.model }).toEqual({ i, context: cropped.context, model: cropped.model });
      checked++;
    }
    expect(checked).toBe(3000);
  });

  it.each(Object.entries(RULES))('outpaint bands contain the plan crop of %s', (_name, rules) => {
    const next = lcg(11);
    for (let i = 0; i < 2000; i++) {
      const doc = { width: 40 + next(3000), height: 40 + next(2400) };
      const m = 1 + next([16, 300, 2000][next(3)]!);
      const side = next(4);
      const margins = { left: side === 0 ? m : 0, top: side === 1 ? m : 0, right: side === 2 ? m : 0, bottom: side === 3 ? m : 0 };
      const out = outpaintContext(doc, margins, { maxPixels: Infinity })!;
      const wholeLayout = layoutCanvas('outpaint', doc, undefined, margins);
      const whole = contextCrop(wholeLayout.generationBounds, wholeLayout.canvas, rules);
      const cropLayout = layoutCanvas('outpaint', out.region, undefined, out.expand);
      const cropped = contextCrop(cropLayout.generationBounds, cropLayout.canvas, rules);
      expect(cropLayout.canvas).toEqual(out.canvas);
      // The band's canvas starts where the band does (left/top margins are kept whole).
      expect({ i, context: shifted(whole.context, out.region.x, out.region.y), model: whole.model }).toEqual({ i, context: cropped.context, model: cropped.model });
    }
  });

  it('keeps under the pixel budget by shrinking the padding, never the selection', () => {
    const r = contextRegion({ x: 1000, y: 1000, width: 2000, height: 2000 }, { width: 8000, height: 8000 }, { maxPixels: 4_500_000 })!;
    expect(r.width * r.height).toBeLessThanOrEqual(4_500_000);
    expect([r.x <= 1000, r.y <= 1000, r.x + r.width >= 3000, r.y + r.height >= 3000]).toEqual([true, true, true, true]);
  });
});

describe('the other host helpers', () => {
  it('maskBounds agrees with the Mask type\'s bounds', () => {
    const next = lcg(3);
    for (let i = 0; i < 200; i++) {
      const w = 1 + next(40);
      const h = 1 + next(30);
      const data = new Uint8Array(w * h);
      for (let k = next(4); k > 0; k--) data[next(w * h)] = 1 + next(255);
      expect(maskBounds(w, h, data)).toEqual(computeBounds(w, h, data));
    }
  });

  it('places a candidate in the document, and hardens its mask', () => {
    expect(documentOffset({ x: 480, y: 0 }, { x: 0, y: 0 }, { left: 0, top: 0, right: 100, bottom: 0 }, { x: 400, y: 0 })).toEqual({ x: 880, y: 0 });
    expect(documentOffset({ x: 0, y: 0 }, { x: 50, y: 0 }, { left: 50, top: 0, right: 0, bottom: 0 }, { x: 0, y: 8 })).toEqual({ x: 0, y: 8 });
    expect(Array.from(hardLayerMask(Uint8Array.from([0, 1, 200, 255])))).toEqual([0, 255, 255, 255]);
  });

  it('names candidates mode and number first, then the short prompt and the seed', () => {
    expect(candidateLayerName({ mode: 'edit', prompt: 'a red heart', index: 2, seed: 43 })).toBe('edit #2 “a red heart” · seed 43');
    expect(candidateLayerName({ mode: 'erase', prompt: 'not shown', index: 1, seed: 3 })).toBe('erase #1 · seed 3');
  });
});

describe('candidateSignals: one signal per candidate', () => {
  it('gives rank, the best mark and match = round(100 / (1 + e^(-2s))) from the rank scores, best first', () => {
    const s = candidateSignals({ ranking: [2, 0, 1], rankScores: [0, -1, 1] });
    expect(s).toEqual([
      { index: 2, rank: 1, best: true, match: 88 },
      { index: 0, rank: 2, best: false, match: 50 },
      { index: 1, rank: 3, best: false, match: 12 },
    ]);
    expect(s.map(signalLine)).toEqual(['#1 · best · match 88', '#2 · match 50', '#3 · match 12']);
  });

  it('has no match where nothing was compared: one candidate, or nothing scored', () => {
    expect(candidateSignals({ ranking: [0], rankScores: [0] })).toEqual([{ index: 0, rank: 1, best: true, match: null }]);
    expect(candidateSignals({ ranking: [1, 0], rankScores: [0, 0] }).map(signalLine)).toEqual(['#1 · best', '#2']);
  });
});
