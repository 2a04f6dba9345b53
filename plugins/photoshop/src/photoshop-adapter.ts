/**
 * Photoshop side of an edit, through the imaging API only: read the selection (soft, 8-bit) and
 * the pixels of the context region around it, and write chosen candidates back as new layers with
 * layer masks inside one modal scope and one history state. Originals are never written: every
 * write targets a layer created here. Works on any `PhotoshopSubset` (the real module or the fake).
 */
import { candidateLayerName, documentOffset, hardLayerMask, type EdgeMargins } from '@byteedit/core';
import { box, contextRegion, heightOf, nonZeroBounds, outpaintRegion, widthOf, type Box, type ContextOptions, type ContextSpace, type DocSpace } from './geometry';
import { PanelError } from './errors';
import { BIT_DEPTH_8, DOCUMENT_MODE_RGB, type PhotoshopSubset, type PsBounds, type PsDocument, type PsImageData, type PsImaging } from './ps-api';

export type PixelSource = 'document' | 'layer';

/** The bridge refuses more than 16 MP (its default --max-pixels). */
export const MAX_REQUEST_PIXELS = 16_777_216;

export interface RegionRead {
  documentID: number;
  documentTitle: string;
  /** The document region that was read; the request image is exactly this region. */
  context: Box<DocSpace>;
  /** Bounds of the non-zero selection pixels, in document space. Null for whole-document reads. */
  selection: Box<DocSpace> | null;
  /** RGBA8, straight alpha, context-sized; transparent where the source has no pixels. */
  image: { width: number; height: number; data: Uint8ClampedArray };
  /** 8-bit soft selection over the context; null for whole-document reads (outpaint). */
  mask: { width: number; height: number; data: Uint8Array } | null;
}

export interface ReadOptions {
  source?: PixelSource;
  context?: ContextOptions;
}

/** The active document, or a refusal that says how to make it usable. */
export function usableDocument(ps: PhotoshopSubset): PsDocument {
  const doc = ps.app.activeDocument;
  if (!doc) throw new PanelError('no_document', 'Open an image in Photoshop first.');
  if (doc.bitsPerChannel !== BIT_DEPTH_8) {
    const bits = doc.bitsPerChannel.replace('bitDepth', '');
    throw new PanelError('unsupported_depth', `This document is ${bits} bits per channel; byteedit works on 8-bit images. Choose Image > Mode > 8 Bits/Channel (or work on an 8-bit copy), then try again.`);
  }
  if (doc.mode !== DOCUMENT_MODE_RGB) {
    throw new PanelError('unsupported_mode', `This document's color mode is ${doc.mode.replace('ColorMode', '')}; byteedit needs RGB. Choose Image > Mode > RGB Color (or work on a copy), then try again.`);
  }
  return doc;
}

/** Reads the selection and the pixels around it. Runs inside executeAsModal (reads are cheap and leave no history). */
export async function readSelectionRegion(ps: PhotoshopSubset, options: ReadOptions = {}): Promise<RegionRead> {
  const doc = usableDocument(ps);
  return ps.core.executeAsModal(async () => {
    const { selection, context, mask } = await readSelection(ps.imaging, doc, options.context);
    const image = await readPixels(ps.imaging, doc, context, options.source ?? 'document');
    return { documentID: doc.id, documentTitle: doc.title, context, selection, image, mask };
  }, { commandName: 'byteedit: read selection' });
}

/**
 * Reads what an outpaint by `margins` needs (core's rule): a band of the document along the one
 * edge that grows, or the whole document when several grow. The request's margins are `margins`.
 */
export async function readOutpaintRegion(ps: PhotoshopSubset, margins: EdgeMargins, options: ReadOptions = {}): Promise<RegionRead> {
  const doc = usableDocument(ps);
  const out = outpaintRegion(doc.width, doc.height, margins);
  if (!out) throw new PanelError('invalid_input', 'Outpaint needs how many pixels to add: at least one of left, top, right and bottom above 0.');
  if (out.canvas.width * out.canvas.height > MAX_REQUEST_PIXELS) {
    const what = sameBox(out.context, box(0, 0, doc.width, doc.height)) ? `the whole image (${doc.width}x${doc.height})` : `a ${widthOf(out.context)}x${heightOf(out.context)} band of the image`;
    throw new PanelError('region_too_large', `Outpaint sends ${what} and grows it to ${out.canvas.width}x${out.canvas.height}; the bridge takes up to 16 MP. Outpaint one edge at a time, use smaller margins, or work on a downsized copy (Image > Image Size), then scale the result up.`);
  }
  return readRegion(ps, doc, out.context, options);
}

function readRegion(ps: PhotoshopSubset, doc: PsDocument, context: Box<DocSpace>, options: ReadOptions): Promise<RegionRead> {
  return ps.core.executeAsModal(async () => {
    const image = await readPixels(ps.imaging, doc, context, options.source ?? 'document');
    return { documentID: doc.id, documentTitle: doc.title, context, selection: null, image, mask: null };
  }, { commandName: 'byteedit: read image' });
}

const sameBox = (a: Box<string>, b: Box<string>): boolean => a.left === b.left && a.top === b.top && a.right === b.right && a.bottom === b.bottom;

const NO_SELECTION = 'Make a selection first (for example with the Lasso or Object Selection tool) around what to edit or erase; for Outpaint, no selection is needed.';

async function readSelection(imaging: PsImaging, doc: PsDocument, contextOptions: ContextOptions | undefined): Promise<{ selection: Box<DocSpace>; context: Box<DocSpace>; mask: { width: number; height: number; data: Uint8Array } }> {
  let selection: Box<DocSpace>;
  let whole: { bounds: PsBounds; data: Uint8Array } | null = null;
  if (doc.selection !== undefined) {
    // Photoshop 25+: the DOM knows the bounds, so only the context region is read.
    const b = doc.selection.bounds;
    if (!b) throw new PanelError('no_selection', NO_SELECTION);
    selection = box<DocSpace>(b.left, b.top, b.right, b.bottom);
  } else {
    // Photoshop 24.x: read the selection's own extent once and find its bounds.
    let got;
    try {
      got = await imaging.getSelection({ documentID: doc.id });
    } catch (err) {
      throw new PanelError('no_selection', `${NO_SELECTION} (Photoshop: ${err instanceof Error ? err.message : String(err)})`);
    }
    const data = await grayBytes(got.imageData);
    const local = nonZeroBounds(got.imageData.width, got.imageData.height, data);
    if (!local) throw new PanelError('no_selection', NO_SELECTION);
    whole = { bounds: got.sourceBounds, data };
    const { left, top } = got.sourceBounds;
    selection = box<DocSpace>(left + local.left, top + local.top, left + local.right, top + local.bottom);
  }
  const clamped = box<DocSpace>(Math.max(0, selection.left), Math.max(0, selection.top), Math.min(doc.width, selection.right), Math.min(doc.height, selection.bottom));
  if (widthOf(clamped) <= 0 || heightOf(clamped) <= 0) throw new PanelError('no_selection', `The selection lies outside the canvas. ${NO_SELECTION}`);
  const context = contextRegion(clamped, doc.width, doc.height, contextOptions)!;
  if (widthOf(context) * heightOf(context) > MAX_REQUEST_PIXELS) {
    throw new PanelError('region_too_large', `The selection is ${widthOf(clamped)}x${heightOf(clamped)} pixels; the bridge takes up to 16 MP. Select a smaller area, or work on a downsized copy.`);
  }
  if (!whole) {
    const got = await imaging.getSelection({ documentID: doc.id, sourceBounds: context });
    whole = { bounds: got.sourceBounds, data: await grayBytes(got.imageData) };
  }
  const mask = new Uint8Array(widthOf(context) * heightOf(context));
  blit(whole.data, whole.bounds, 1, mask, context, 1);
  if (!nonZeroBounds(widthOf(context), heightOf(context), mask)) throw new PanelError('no_selection', NO_SELECTION);
  return { selection: clamped, context, mask: { width: widthOf(context), height: heightOf(context), data: mask } };
}

async function readPixels(imaging: PsImaging, doc: PsDocument, context: Box<DocSpace>, source: PixelSource): Promise<RegionRead['image']> {
  let layerID: number | undefined;
  if (source === 'layer') {
    const layer = doc.activeLayers[0];
    if (!layer) throw new PanelError('no_selection', 'Select a layer in the Layers panel to sample it, or set "Sample" to "All layers".');
    layerID = layer.id;
  }
  const width = widthOf(context);
  const height = heightOf(context);
  const out = new Uint8ClampedArray(width * height * 4);
  let got;
  try {
    got = await imaging.getPixels({ documentID: doc.id, layerID, sourceBounds: toPs(context), componentSize: 8, colorSpace: 'RGB' });
  } catch (err) {
    // A layer with no pixels in the region (or none at all) has nothing to read: send transparency.
    if (source === 'layer') return { width, height, data: out };
    throw new PanelError('photoshop_error', `Photoshop could not read the image pixels: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const { imageData } = got;
    if (imageData.componentSize !== 8) throw new PanelError('unsupported_depth', 'Photoshop returned pixels that are not 8-bit; convert the document to 8 Bits/Channel and try again.');
    const raw = (await imageData.getData({ chunky: true })) as Uint8Array;
    const c = imageData.components;
    if (c !== 3 && c !== 4) throw new PanelError('unsupported_mode', `Photoshop returned ${c} components per pixel; convert the document to RGB and try again.`);
    const rgba = c === 4 ? raw : expandRgb(raw, imageData.width * imageData.height);
    blit(rgba, got.sourceBounds, 4, out, context, 4);
  } finally {
    await got.imageData.dispose();
  }
  return { width, height, data: out };
}

function expandRgb(rgb: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 4);
  for (let i = 0, j = 0; i < pixels; i++, j += 4) {
    out[j] = rgb[i * 3]!;
    out[j + 1] = rgb[i * 3 + 1]!;
    out[j + 2] = rgb[i * 3 + 2]!;
    out[j + 3] = 255;
  }
  return out;
}

async function grayBytes(imageData: PsImageData): Promise<Uint8Array> {
  try {
    const raw = await imageData.getData({ chunky: true });
    if (raw instanceof Uint8Array) return raw;
    // A 16/32-bit selection (only in documents we refuse anyway): scale to 8 bits.
    const max = raw instanceof Uint16Array ? 32768 : 1;
    return Uint8Array.from(raw, (v) => Math.round(Math.min(1, v / max) * 255));
  } finally {
    await imageData.dispose();
  }
}

/** Copies the overlap of `src` (placed at `srcBounds`) into `dst` (placed at `dstBox`), both in document space. */
function blit(src: ArrayLike<number>, srcBounds: PsBounds, srcChannels: number, dst: Uint8Array | Uint8ClampedArray, dstBox: Box<DocSpace>, dstChannels: number): void {
  const srcW = srcBounds.right - srcBounds.left;
  const dstW = widthOf(dstBox);
  const x0 = Math.max(srcBounds.left, dstBox.left);
  const x1 = Math.min(srcBounds.right, dstBox.right);
  const y0 = Math.max(srcBounds.top, dstBox.top);
  const y1 = Math.min(srcBounds.bottom, dstBox.bottom);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const s = ((y - srcBounds.top) * srcW + (x - srcBounds.left)) * srcChannels;
      const d = ((y - dstBox.top) * dstW + (x - dstBox.left)) * dstChannels;
      for (let k = 0; k < dstChannels; k++) dst[d + k] = src[s + k]!;
    }
  }
}

const toPs = (b: Box<string>): PsBounds => ({ left: b.left, top: b.top, right: b.right, bottom: b.bottom });

export interface LayerToAdd {
  name: string;
  /** Where the patch goes, in context-crop / job-canvas space (the candidate's region). */
  region: Box<ContextSpace>;
  /** RGBA8 rows of the region. */
  patch: Uint8Array;
  /** 8-bit compositing mask rows of the region (soft edge); the layer mask is made from it, see layerMaskOf. */
  mask: Uint8Array;
}

/**
 * The layer mask for a candidate: core's hardLayerMask, its compositing mask made hard (255
 * wherever it is > 0). The patch already carries the soft edge; the soft mask as the layer mask
 * would blend it with the source a second time (source·(1−m) + patch·m). With the hard mask the
 * document shows the patch exactly, what the CLI writes, and designers still get a mask to paint
 * on (black gives the source back).
 */
export const layerMaskOf = hardLayerMask;

/**
 * A candidate layer's name, core's one format for every host: `edit #2 “a red heart” · seed 43`
 * (mode and number first, so a narrow Layers panel still tells a run's candidates apart).
 * `rank` is the candidate's place in the panel's list, 1 = best.
 */
export function layerName(mode: 'edit' | 'erase' | 'outpaint', prompt: string, rank: number, seed: number): string {
  return candidateLayerName({ mode, prompt, index: rank, seed });
}

export interface ApplyPlan {
  documentID: number;
  /** Where the job canvas's origin sits in the document before any canvas growth. */
  context: Box<DocSpace>;
  /** summary.sourceOffset: where the source image's top-left sits on the job canvas. */
  sourceOffset: { x: number; y: number };
  /** Outpaint: grow the canvas by these margins first (left/top shift everything). */
  expand?: { left: number; top: number; right: number; bottom: number };
  historyName: string;
  layers: LayerToAdd[];
}

export interface ApplyResult {
  layerIDs: number[];
  /** Top-left of each new layer's content in the (possibly grown) document. */
  offsets: { left: number; top: number }[];
}

/** Document position of a job-canvas point, after the canvas grew by `expand` (left/top shift it). */
export function toDocument(plan: Pick<ApplyPlan, 'context' | 'sourceOffset' | 'expand'>, x: number, y: number): { left: number; top: number } {
  const at = documentOffset({ x: plan.context.left, y: plan.context.top }, plan.sourceOffset, plan.expand, { x, y });
  return { left: at.x, top: at.y };
}

/**
 * Adds one layer (pixels + hard layer mask, see layerMaskOf) per chosen candidate in a single
 * modal scope and a single history state. On any failure the history suspension is resumed
 * without committing, which returns the document to its state before the apply.
 */
export async function applyLayers(ps: PhotoshopSubset, plan: ApplyPlan): Promise<ApplyResult> {
  return ps.core.executeAsModal(async (context) => {
    const doc = ps.app.activeDocument;
    if (!doc || doc.id !== plan.documentID) {
      throw new PanelError('no_document', 'The results belong to another document: switch back to the document you generated from, then press Apply.');
    }
    const suspension = await context.hostControl.suspendHistory({ documentID: doc.id, name: plan.historyName });
    const result: ApplyResult = { layerIDs: [], offsets: [] };
    try {
      if (plan.expand) await growCanvas(doc, plan.expand);
      for (const item of plan.layers) {
        const layer = await doc.createPixelLayer({ name: item.name });
        if (!layer) throw new PanelError('photoshop_error', 'Photoshop did not create a layer; make sure the document is not locked and try again.');
        const width = widthOf(item.region);
        const height = heightOf(item.region);
        const at = toDocument(plan, item.region.left, item.region.top);
        const pixels = await ps.imaging.createImageDataFromBuffer(item.patch, { width, height, components: 4, chunky: true, colorSpace: 'RGB' });
        const mask = await ps.imaging.createImageDataFromBuffer(layerMaskOf(item.mask), { width, height, components: 1, chunky: false, colorSpace: 'Grayscale', colorProfile: 'Gray Gamma 2.2' });
        const targetBounds: PsBounds = { left: at.left, top: at.top, right: at.left + width, bottom: at.top + height };
        try {
          await ps.imaging.putPixels({ documentID: doc.id, layerID: layer.id, imageData: pixels, replace: true, targetBounds, commandName: plan.historyName });
          await ps.imaging.putLayerMask({ documentID: doc.id, layerID: layer.id, imageData: mask, replace: true, targetBounds, commandName: plan.historyName });
        } finally {
          await pixels.dispose();
          await mask.dispose();
        }
        result.layerIDs.push(layer.id);
        result.offsets.push(at);
      }
    } catch (err) {
      await context.hostControl.resumeHistory(suspension, false);
      throw err instanceof PanelError ? err : new PanelError('photoshop_error', `Photoshop refused to add the layers (${err instanceof Error ? err.message : String(err)}); nothing was changed.`);
    }
    await context.hostControl.resumeHistory(suspension, true);
    return result;
  }, { commandName: plan.historyName });
}

async function growCanvas(doc: PsDocument, m: { left: number; top: number; right: number; bottom: number }): Promise<void> {
  const w = doc.width;
  const h = doc.height;
  // Two anchored resizes express any four margins: right/bottom first, then left/top.
  if (m.right > 0 || m.bottom > 0) await doc.resizeCanvas(w + m.right, h + m.bottom, 'top-left');
  if (m.left > 0 || m.top > 0) await doc.resizeCanvas(w + m.right + m.left, h + m.bottom + m.top, 'bottom-right');
}
