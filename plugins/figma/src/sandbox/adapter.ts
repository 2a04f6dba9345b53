/**
 * The Figma adapter: selection → (image PNG, mask, margins, placement) and result → a new node.
 * It talks to Figma only through `FigmaApi`, the subset of the plug-in API it uses, so the tests
 * run it against a fake (test/fake-figma.ts) and code.ts passes the real `figma` global.
 */
import { candidateLayerName, readImageSize } from '@byteedit/core';
import { MAX_SIDE, type Margins, type Matrix2x3, type Mode, type Placement, type RawMask, type SandboxToUi, type SelectionState, type UiToSandbox } from '../shared/messages';
import { chooseScale, isEmpty, isTranslation, unionMask, type Box } from './geometry';
import { REFUSALS } from './refusals';

/** Exactly the part of Figma's PluginAPI this adapter uses (the real `figma` satisfies it). */
export interface FigmaApi {
  readonly currentPage: { selection: ReadonlyArray<SceneNode> };
  getImageByHash(hash: string): { getSizeAsync(): Promise<{ width: number; height: number }> } | null;
  createImage(data: Uint8Array): { readonly hash: string };
  createRectangle(): RectangleNode;
  getNodeByIdAsync(id: string): Promise<BaseNode | null>;
  commitUndo(): void;
}

type Refusal = { ok: false; message: string };
interface Masked {
  ok: true;
  kind: 'masked';
  image: SceneNode;
  hash: string;
  masks: SceneNode[];
}
interface Outpaint {
  ok: true;
  kind: 'outpaint';
  image: SceneNode;
  hash: string;
  frame: FrameNode;
}
export type Analysis = Refusal | Masked | Outpaint;

const MASK_TYPES = new Set(['RECTANGLE', 'ELLIPSE', 'POLYGON', 'STAR', 'VECTOR', 'LINE', 'BOOLEAN_OPERATION', 'TEXT', 'GROUP', 'FRAME', 'INSTANCE', 'COMPONENT']);

function imageHashOf(node: SceneNode): string | null {
  if (!('fills' in node) || !Array.isArray(node.fills)) return null;
  for (const p of node.fills as readonly Paint[]) {
    if (p.type === 'IMAGE' && p.visible !== false && p.imageHash) return p.imageHash;
  }
  return null;
}

function absBox(node: SceneNode): Box {
  const t = node.absoluteTransform;
  return { x: t[0][2], y: t[1][2], width: node.width, height: node.height };
}

function childIndex(node: BaseNode): number {
  const parent = node.parent;
  return parent ? parent.children.indexOf(node as SceneNode) : -1;
}

function isAbove(shape: SceneNode, image: SceneNode): boolean {
  for (let p = shape.parent; p; p = p.parent) if (p.id === image.id) return true; // painted over the frame's fill
  if (!shape.parent || !image.parent || shape.parent.id !== image.parent.id) return false;
  return childIndex(shape) > childIndex(image);
}

/** Classifies the selection: an image with mask shapes, or a frame to outpaint, or a refusal. */
export function analyzeSelection(selection: ReadonlyArray<SceneNode>): Analysis {
  if (selection.length === 0) return { ok: false, message: REFUSALS.nothingSelected };
  const images = selection.filter((n) => imageHashOf(n) !== null);
  const others = selection.filter((n) => imageHashOf(n) === null);

  // Outpaint: a frame without an image fill whose image child is smaller than it.
  const frames = others.filter((n): n is FrameNode => n.type === 'FRAME');
  if (frames.length === 1 && others.length === 1 && images.every((i) => i.parent?.id === frames[0]!.id)) {
    const frame = frames[0]!;
    const inner = frame.children.filter((c) => imageHashOf(c) !== null);
    if (inner.length > 1) return { ok: false, message: REFUSALS.outpaintManyImages(frame.name) };
    const image = inner[0];
    if (image) {
      if (!isTranslation(frame.absoluteTransform)) return { ok: false, message: REFUSALS.rotated(frame.name) };
      if (!isTranslation(image.relativeTransform)) return { ok: false, message: REFUSALS.rotated(image.name) };
      const x = image.relativeTransform[0][2];
      const y = image.relativeTransform[1][2];
      if (x < 0 || y < 0 || x + image.width > frame.width + 1e-6 || y + image.height > frame.height + 1e-6) return { ok: false, message: REFUSALS.outpaintImageOutside(frame.name) };
      if (frame.width <= image.width && frame.height <= image.height) return { ok: false, message: REFUSALS.outpaintNotLarger(frame.name) };
      return { ok: true, kind: 'outpaint', image, hash: imageHashOf(image)!, frame };
    }
  }

  if (images.length === 0) return { ok: false, message: REFUSALS.noImage };
  if (images.length > 1) return { ok: false, message: REFUSALS.manyImages };
  const image = images[0]!;
  if (image.type !== 'RECTANGLE' && image.type !== 'FRAME') return { ok: false, message: REFUSALS.imageOnOtherShape(image.name) };
  if (!isTranslation(image.absoluteTransform)) return { ok: false, message: REFUSALS.rotated(image.name) };
  if (others.length === 0) return { ok: false, message: REFUSALS.noMask };
  for (const s of others) {
    if (!MASK_TYPES.has(s.type)) return { ok: false, message: REFUSALS.notAShape(s.name, s.type) };
    if (!s.visible) return { ok: false, message: REFUSALS.hiddenShape(s.name) };
    if (!isAbove(s, image)) return { ok: false, message: REFUSALS.notAbove(s.name) };
  }
  return { ok: true, kind: 'masked', image, hash: imageHashOf(image)!, masks: others };
}

async function imagePixels(figma: FigmaApi, hash: string): Promise<{ width: number; height: number } | null> {
  const img = figma.getImageByHash(hash);
  return img ? img.getSizeAsync() : null;
}

async function scaleFor(figma: FigmaApi, a: Masked | Outpaint): Promise<number> {
  const canvas = a.kind === 'outpaint' ? a.frame : a.image;
  return chooseScale(a.image, await imagePixels(figma, a.hash), canvas);
}

/** What the UI shows before Generate: kind, pixel size at the export scale, or the refusal. */
export async function describeSelection(figma: FigmaApi): Promise<SelectionState> {
  const a = analyzeSelection(figma.currentPage.selection);
  if (!a.ok) return a;
  const scale = await scaleFor(figma, a);
  const canvas = a.kind === 'outpaint' ? a.frame : a.image;
  const pixels = { width: Math.round(canvas.width * scale), height: Math.round(canvas.height * scale) };
  const description =
    a.kind === 'outpaint' ? `Outpaint "${a.image.name}" to frame "${a.frame.name}"` : `"${a.image.name}" with ${a.masks.length} mask shape${a.masks.length === 1 ? '' : 's'}`;
  return { ok: true, kind: a.kind, description, pixels, scale };
}

export type SourceMessage = Extract<SandboxToUi, { type: 'source' }>;

/** Exports the image (and mask shapes) for a job in `mode`; a refusal when the selection does not fit. */
export async function prepareSource(figma: FigmaApi, requestId: number, mode: Mode): Promise<SourceMessage | Extract<SandboxToUi, { type: 'refusal' }>> {
  const a = analyzeSelection(figma.currentPage.selection);
  if (!a.ok) return { type: 'refusal', requestId, message: a.message };
  if (mode === 'outpaint' && a.kind !== 'outpaint') return { type: 'refusal', requestId, message: REFUSALS.outpaintNeedsFrame };
  if (mode !== 'outpaint' && a.kind !== 'masked') return { type: 'refusal', requestId, message: REFUSALS.maskedNeedsShapes };
  const scale = await scaleFor(figma, a);
  // useAbsoluteBounds: exactly the node's box, so pixel (0,0) is the node's top-left corner.
  const image = await a.image.exportAsync({ format: 'PNG', constraint: { type: 'SCALE', value: scale }, useAbsoluteBounds: true });
  const size = readImageSize(image);
  if (!size) throw new Error(`Figma exported "${a.image.name}" in an unexpected format`);

  if (a.kind === 'outpaint') {
    const f = a.frame;
    const cw = Math.round(f.width * scale);
    const ch = Math.round(f.height * scale);
    if (cw > MAX_SIDE || ch > MAX_SIDE) return { type: 'refusal', requestId, message: REFUSALS.tooLarge(cw, ch) };
    const left = Math.round(a.image.relativeTransform[0][2] * scale);
    const top = Math.round(a.image.relativeTransform[1][2] * scale);
    const expand: Margins = { left, top, right: Math.max(0, cw - left - size.width), bottom: Math.max(0, ch - top - size.height) };
    const identity: Matrix2x3 = [
      [1, 0, 0],
      [0, 1, 0],
    ];
    const placement: Placement = { sourceId: f.id, parentId: f.id, index: childIndex(a.image) + 1, relativeTransform: identity, width: f.width, height: f.height, maskIds: [] };
    return { type: 'source', requestId, mode, image, mask: null, expand, scale, placement };
  }

  const box = absBox(a.image);
  const shapes: { png: Uint8Array; bounds: Box }[] = [];
  for (const s of a.masks) {
    const bounds = 'absoluteRenderBounds' in s ? s.absoluteRenderBounds : null;
    if (!bounds) continue; // renders nothing (e.g. an empty group)
    shapes.push({ png: await s.exportAsync({ format: 'PNG', constraint: { type: 'SCALE', value: scale } }), bounds });
  }
  const mask: RawMask = unionMask(size.width, size.height, box, scale, shapes);
  if (isEmpty(mask)) return { type: 'refusal', requestId, message: REFUSALS.maskOutside };
  const t = a.image.relativeTransform;
  const placement: Placement = {
    sourceId: a.image.id,
    parentId: a.image.parent!.id,
    index: childIndex(a.image) + 1,
    relativeTransform: [
      [t[0][0], t[0][1], t[0][2]],
      [t[1][0], t[1][1], t[1][2]],
    ],
    width: a.image.width,
    height: a.image.height,
    maskIds: a.masks.map((m) => m.id),
  };
  return { type: 'source', requestId, mode, image, mask, expand: null, scale, placement };
}

type ApplyMessage = Extract<UiToSandbox, { type: 'apply' }>;

/**
 * Writes one result: a new rectangle with an IMAGE fill, the source's transform and size, just
 * above the source, named like every host names a candidate (core's candidateLayerName); mask
 * shapes hidden; one undo step (commitUndo) per apply.
 */
export async function applyResult(figma: FigmaApi, msg: ApplyMessage): Promise<Extract<SandboxToUi, { type: 'applied' | 'apply-failed' }>> {
  if (msg.width > MAX_SIDE || msg.height > MAX_SIDE) return { type: 'apply-failed', message: REFUSALS.tooLarge(msg.width, msg.height) };
  const p = msg.placement;
  const parent = await figma.getNodeByIdAsync(p.parentId);
  const source = await figma.getNodeByIdAsync(p.sourceId);
  if (!parent || !source || !('insertChild' in parent) || (source.id !== parent.id && source.parent?.id !== parent.id)) {
    return { type: 'apply-failed', message: REFUSALS.sourceGone };
  }
  // The source may have moved in the layer list since the job started: stay just above it.
  const index = source.id === parent.id ? Math.min(p.index, parent.children.length) : childIndex(source) + 1;
  const image = figma.createImage(msg.png);
  const rect = figma.createRectangle();
  rect.name = candidateLayerName({ mode: msg.candidate.mode, prompt: msg.candidate.prompt, index: msg.candidate.rank, seed: msg.candidate.seed });
  (parent as ChildrenMixin).insertChild(index, rect);
  rect.resize(p.width, p.height);
  rect.relativeTransform = p.relativeTransform;
  rect.fills = [{ type: 'IMAGE', imageHash: image.hash, scaleMode: 'FILL' }];
  for (const id of p.maskIds) {
    const m = await figma.getNodeByIdAsync(id);
    if (m && 'visible' in m) m.visible = false;
  }
  figma.currentPage.selection = [rect];
  figma.commitUndo();
  return { type: 'applied', nodeId: rect.id, name: rect.name };
}
