/**
 * Evaluates the cross-language table (host-prepare-cases.json) with core's host functions, in the
 * plain-JSON form that host_prepare_cases.py prints for the Python mirror: rectangles as
 * [x, y, width, height], points as [x, y], margins as [left, top, right, bottom].
 */
import { candidateLayerName, candidateSignals, contextRegion, documentOffset, hardLayerMask, maskBounds, outpaintContext } from '@byteedit/core';

type Quad = [number, number, number, number];
type Pair = [number, number];

export interface HostPrepareCases {
  contextRegion: { name: string; selection: Quad; doc: Pair; options?: { padFraction?: number; minPad?: number; maxPad?: number; minSide?: number; maxPixels?: number; within?: Quad }; expected?: unknown }[];
  outpaintContext: { name: string; doc: Pair; margins: Quad; options?: { band?: number; maxPixels?: number }; expected?: unknown }[];
  maskBounds: { name: string; size: Pair; fill: [number, number, number, number, number][]; expected?: unknown }[];
  documentOffset: { name: string; origin: Pair; sourceOffset: Pair; expand: Quad | null; at: Pair; expected?: unknown }[];
  hardLayerMask: { name: string; values: number[]; expected?: unknown }[];
  candidateLayerName: { name: string; mode: 'edit' | 'erase' | 'outpaint'; prompt: string | null; index: number; seed: number; maxPromptLength?: number; match?: number | null; expected?: unknown }[];
  candidateSignals: { name: string; ranking: number[]; rankScores: number[]; expected?: unknown }[];
}

export type Results = Record<keyof HostPrepareCases, unknown[]>;

const quad = (r: { x: number; y: number; width: number; height: number } | null): Quad | null => (r ? [r.x, r.y, r.width, r.height] : null);
const rectOf = ([x, y, width, height]: Quad) => ({ x, y, width, height });
const marginsOf = ([left, top, right, bottom]: Quad) => ({ left, top, right, bottom });

/** The mask a maskBounds case describes: zeros, then each [x, y, w, h, value] rectangle filled in order. */
export function maskOf(size: Pair, fill: [number, number, number, number, number][]): Uint8Array {
  const data = new Uint8Array(size[0] * size[1]);
  for (const [x, y, w, h, v] of fill) for (let j = y; j < y + h; j++) data.fill(v, j * size[0] + x, j * size[0] + x + w);
  return data;
}

export function evaluateTs(cases: HostPrepareCases): Results {
  return {
    contextRegion: cases.contextRegion.map((c) => {
      const { within, ...rest } = c.options ?? {};
      return quad(contextRegion(rectOf(c.selection), { width: c.doc[0], height: c.doc[1] }, { ...rest, within: within ? rectOf(within) : undefined }));
    }),
    outpaintContext: cases.outpaintContext.map((c) => {
      const o = outpaintContext({ width: c.doc[0], height: c.doc[1] }, marginsOf(c.margins), c.options);
      return o && { region: quad(o.region), expand: [o.expand.left, o.expand.top, o.expand.right, o.expand.bottom], canvas: [o.canvas.width, o.canvas.height] };
    }),
    maskBounds: cases.maskBounds.map((c) => quad(maskBounds(c.size[0], c.size[1], maskOf(c.size, c.fill)))),
    documentOffset: cases.documentOffset.map((c) => {
      const p = documentOffset({ x: c.origin[0], y: c.origin[1] }, { x: c.sourceOffset[0], y: c.sourceOffset[1] }, c.expand && marginsOf(c.expand), { x: c.at[0], y: c.at[1] });
      return [p.x, p.y];
    }),
    hardLayerMask: cases.hardLayerMask.map((c) => Array.from(hardLayerMask(Uint8Array.from(c.values)))),
    candidateLayerName: cases.candidateLayerName.map((c) => candidateLayerName(c)),
    // [index, rank, best, match] per candidate, best first.
    candidateSignals: cases.candidateSignals.map((c) => candidateSignals(c).map((s) => [s.index, s.rank, s.best, s.match])),
  };
}
