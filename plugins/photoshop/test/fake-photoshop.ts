/**
 * A FAKE of the Photoshop UXP API subset in src/ps-api.ts, written from Adobe's reference (the
 * imaging API of Photoshop 24.4+, core.executeAsModal, Document.createPixelLayer/resizeCanvas,
 * Selection.bounds of 25.0+). It is not Photoshop: it keeps RGBA layers the size of the canvas,
 * composites them with "normal" blending, and logs every call so tests can check bounds, offsets,
 * modality and history. Behaviour chosen where the reference is silent is marked ASSUMPTION.
 */
import { encode as encodeJpeg } from 'jpeg-js';
import type { PhotoshopSubset, PsBounds, PsDocument, PsExecutionContext, PsImageData, PsLayer, UxpSubset } from '../src/ps-api';

export interface FakeCall {
  fn: string;
  args: Record<string, unknown>;
  modal: boolean;
}

export class FakeImageData implements PsImageData {
  disposed = false;
  constructor(
    readonly width: number,
    readonly height: number,
    readonly components: number,
    readonly data: Uint8Array,
    readonly colorSpace: string,
    readonly componentSize: 8 | 16 | 32 = 8,
  ) {
    if (data.length !== width * height * components) throw new Error(`FakeImageData: ${data.length} bytes for ${width}x${height}x${components}`);
  }
  get hasAlpha(): boolean {
    return this.colorSpace === 'RGB' ? this.components === 4 : this.components === 2;
  }
  async getData(): Promise<Uint8Array> {
    if (this.disposed) throw new Error('getData after dispose');
    return this.data.slice();
  }
  dispose(): void {
    this.disposed = true;
  }
}

export class FakeLayer implements PsLayer {
  /** RGBA over the whole canvas. */
  pixels: Uint8Array;
  /** Layer mask over the whole canvas, or null (no mask). */
  mask: Uint8Array | null = null;
  constructor(
    readonly id: number,
    public name: string,
    width: number,
    height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 4);
  }
}

export interface FakeDocumentOptions {
  width: number;
  height: number;
  mode?: string;
  bitsPerChannel?: string;
  /** Photoshop 25+ exposes document.selection; 24.x does not. */
  version?: 24 | 25;
  /** Background pixels (RGBA, width*height*4); default an opaque gradient. */
  background?: Uint8Array;
}

export class FakeDocument implements PsDocument {
  readonly title = 'Untitled-1';
  width: number;
  height: number;
  readonly mode: string;
  readonly bitsPerChannel: string;
  /** Bottom to top. */
  layers: FakeLayer[] = [];
  active: FakeLayer | null = null;
  /** The selection over the canvas (0..255) or null. */
  selectionMask: Uint8Array | null = null;
  readonly history: string[] = [];
  private readonly hasSelectionApi: boolean;
  constructor(
    readonly ps: FakePhotoshop,
    readonly id: number,
    options: FakeDocumentOptions,
  ) {
    this.width = options.width;
    this.height = options.height;
    this.mode = options.mode ?? 'RGBColorMode';
    this.bitsPerChannel = options.bitsPerChannel ?? 'bitDepth8';
    this.hasSelectionApi = (options.version ?? 25) >= 25;
    const bg = new FakeLayer(ps.nextId(), 'Background', this.width, this.height);
    bg.pixels = options.background ? options.background.slice() : gradient(this.width, this.height);
    this.layers.push(bg);
    this.active = bg;
  }

  get activeLayers(): PsLayer[] {
    return this.active ? [this.active] : [];
  }

  get selection(): { bounds: PsBounds | null } | undefined {
    if (!this.hasSelectionApi) return undefined;
    return { bounds: this.selectionMask ? nonZero(this.width, this.height, this.selectionMask) : null };
  }

  /** Selects a rectangle; `feather` > 0 ramps the edge (a soft selection). */
  selectRect(b: PsBounds, feather = 0): void {
    const m = new Uint8Array(this.width * this.height);
    for (let y = b.top; y < b.bottom; y++) {
      for (let x = b.left; x < b.right; x++) {
        const d = Math.min(x - b.left, b.right - 1 - x, y - b.top, b.bottom - 1 - y);
        m[y * this.width + x] = feather > 0 && d < feather ? Math.round((255 * (d + 1)) / (feather + 1)) : 255;
      }
    }
    this.selectionMask = m;
  }

  async createPixelLayer(options: { name?: string } = {}): Promise<PsLayer | null> {
    this.ps.record('createPixelLayer', { documentID: this.id, ...options });
    this.ps.requireModal('createPixelLayer');
    const layer = new FakeLayer(this.ps.nextId(), options.name ?? `Layer ${this.layers.length}`, this.width, this.height);
    // New layers go above the active one and become active, as in Photoshop.
    const at = this.active ? this.layers.indexOf(this.active) + 1 : this.layers.length;
    this.layers.splice(at, 0, layer);
    this.active = layer;
    this.ps.changed(this, 'New Layer');
    return layer;
  }

  async resizeCanvas(width: number, height: number, anchor = 'middle-center'): Promise<void> {
    this.ps.record('resizeCanvas', { documentID: this.id, width, height, anchor });
    this.ps.requireModal('resizeCanvas');
    const [ax, ay] = { 'top-left': [0, 0], 'bottom-right': [1, 1], 'middle-center': [0.5, 0.5] }[anchor] ?? [0.5, 0.5];
    const dx = Math.round((width - this.width) * ax!);
    const dy = Math.round((height - this.height) * ay!);
    for (const layer of this.layers) {
      layer.pixels = moveInto(layer.pixels, this.width, this.height, width, height, dx, dy, 4);
      if (layer.mask) layer.mask = moveInto(layer.mask, this.width, this.height, width, height, dx, dy, 1);
    }
    if (this.selectionMask) this.selectionMask = moveInto(this.selectionMask, this.width, this.height, width, height, dx, dy, 1);
    this.width = width;
    this.height = height;
    this.ps.changed(this, 'Canvas Size');
  }

  changed(name: string): void {
    this.ps.changed(this, name);
  }

  layerById(id: number): FakeLayer {
    const layer = this.layers.find((l) => l.id === id);
    if (!layer) throw new Error(`FakePhotoshop: no layer ${id} in document ${this.id}`);
    return layer;
  }

  /**
   * Normal-blend composite of all layers (with their masks), RGBA: what the document shows. With
   * `only`, of just those layers (kept in stacking order), as when the others are hidden.
   */
  composite(only?: FakeLayer[]): Uint8Array {
    const out = new Uint8Array(this.width * this.height * 4);
    for (const layer of only ? this.layers.filter((l) => only.includes(l)) : this.layers) {
      for (let i = 0, p = 0; p < this.width * this.height; p++, i += 4) {
        const a = (layer.pixels[i + 3]! / 255) * (layer.mask ? layer.mask[p]! / 255 : 1);
        if (a === 0) continue;
        const ob = out[i + 3]! / 255;
        const oa = a + ob * (1 - a);
        for (let k = 0; k < 3; k++) out[i + k] = Math.round((layer.pixels[i + k]! * a + out[i + k]! * ob * (1 - a)) / oa);
        out[i + 3] = Math.round(oa * 255);
      }
    }
    return out;
  }

  snapshot(): unknown {
    return { width: this.width, height: this.height, layers: this.layers.map((l) => ({ l, pixels: l.pixels.slice(), mask: l.mask?.slice() ?? null, name: l.name })), active: this.active };
  }

  restore(s: unknown): void {
    const snap = s as { width: number; height: number; layers: { l: FakeLayer; pixels: Uint8Array; mask: Uint8Array | null; name: string }[]; active: FakeLayer | null };
    this.width = snap.width;
    this.height = snap.height;
    this.layers = snap.layers.map((x) => {
      x.l.pixels = x.pixels;
      x.l.mask = x.mask;
      x.l.name = x.name;
      return x.l;
    });
    this.active = snap.active;
  }
}

export class FakePhotoshop implements PhotoshopSubset {
  readonly calls: FakeCall[] = [];
  documents: FakeDocument[] = [];
  activeDoc: FakeDocument | null = null;
  /** Set to make the named imaging call throw (simulates a Photoshop failure). */
  failOn: string | null = null;
  private ids = 100;
  private modalDepth = 0;
  private suspended = new Map<number, { doc: FakeDocument; name: string; snapshot: unknown }>();

  nextId(): number {
    return ++this.ids;
  }

  openDocument(options: FakeDocumentOptions): FakeDocument {
    const doc = new FakeDocument(this, this.nextId(), options);
    this.documents.push(doc);
    this.activeDoc = doc;
    return doc;
  }

  get app(): { activeDocument: PsDocument | null } {
    return { activeDocument: this.activeDoc };
  }

  record(fn: string, args: Record<string, unknown>): void {
    this.calls.push({ fn, args, modal: this.modalDepth > 0 });
  }

  callsOf(fn: string): FakeCall[] {
    return this.calls.filter((c) => c.fn === fn);
  }

  requireModal(fn: string): void {
    // The reference: document-changing calls outside executeAsModal throw.
    if (this.modalDepth === 0) throw new Error(`${fn}: Error: Event: ${fn} may modify the state of Photoshop. Such events are only allowed from inside a modal scope`);
  }

  /** A change creates its own history state unless the document's history is suspended. */
  changed(doc: FakeDocument, name: string): void {
    if (![...this.suspended.values()].some((s) => s.doc === doc)) doc.history.push(name);
  }

  readonly core = {
    executeAsModal: async <T>(target: (context: PsExecutionContext) => Promise<T>, options: { commandName: string }): Promise<T> => {
      this.record('executeAsModal', { commandName: options.commandName });
      this.modalDepth++;
      const context: PsExecutionContext = {
        isCancelled: false,
        hostControl: {
          suspendHistory: async ({ documentID, name }) => {
            this.record('suspendHistory', { documentID, name });
            const doc = this.documents.find((d) => d.id === documentID);
            if (!doc) throw new Error(`suspendHistory: no document ${documentID}`);
            const id = this.nextId();
            this.suspended.set(id, { doc, name, snapshot: doc.snapshot() });
            return { historySuspensionID: id };
          },
          resumeHistory: async ({ historySuspensionID, finalName }, commit = true) => {
            this.record('resumeHistory', { historySuspensionID, commit });
            const s = this.suspended.get(historySuspensionID);
            if (!s) throw new Error(`resumeHistory: unknown suspension ${historySuspensionID}`);
            this.suspended.delete(historySuspensionID);
            if (commit) s.doc.history.push(finalName ?? s.name);
            else s.doc.restore(s.snapshot);
          },
        },
      };
      try {
        return await target(context);
      } finally {
        this.modalDepth--;
        // ASSUMPTION (as documented): a suspension left open when the modal scope ends is committed.
        for (const [id, s] of this.suspended) {
          if (this.modalDepth === 0) {
            this.suspended.delete(id);
            s.doc.history.push(s.name);
          }
        }
      }
    },
  };

  readonly imaging = {
    getPixels: async (o: { documentID?: number; layerID?: number; sourceBounds?: PsBounds; componentSize?: 8 | 16 | 32; colorSpace?: string }) => {
      this.record('getPixels', { ...o });
      this.maybeFail('getPixels');
      const doc = this.doc(o.documentID);
      const depth = o.componentSize ?? (doc.bitsPerChannel === 'bitDepth8' ? 8 : doc.bitsPerChannel === 'bitDepth16' ? 16 : 32);
      if (depth !== 8) throw new Error('FakePhotoshop: only 8-bit pixel data is modelled');
      let rgba: Uint8Array;
      let area: PsBounds = { left: 0, top: 0, right: doc.width, bottom: doc.height };
      if (o.layerID !== undefined) {
        const layer = doc.layerById(o.layerID);
        rgba = layer.pixels;
        // The reference: bounds are trimmed to the region that holds pixel data.
        const alpha = new Uint8Array(doc.width * doc.height).map((_, p) => layer.pixels[p * 4 + 3]!);
        const b = nonZero(doc.width, doc.height, alpha);
        if (!b) throw new Error('getPixels: the layer has no pixels');
        area = b;
      } else {
        rgba = doc.composite();
      }
      const bounds = trim(o.sourceBounds ?? area, area);
      if (!bounds) throw new Error('getPixels: the requested bounds hold no pixels');
      // ASSUMPTION: a composite whose every pixel is opaque comes back as RGB (3 components), as a flattened document does.
      const cropped = crop(rgba, doc.width, bounds, 4);
      const opaque = o.layerID === undefined && cropped.every((v, i) => i % 4 !== 3 || v === 255);
      const data = opaque ? cropped.filter((_, i) => i % 4 !== 3) : cropped;
      return { imageData: new FakeImageData(bounds.right - bounds.left, bounds.bottom - bounds.top, opaque ? 3 : 4, data, 'RGB'), sourceBounds: bounds };
    },
    getSelection: async (o: { documentID?: number; sourceBounds?: PsBounds }) => {
      this.record('getSelection', { ...o });
      this.maybeFail('getSelection');
      const doc = this.doc(o.documentID);
      const sel = doc.selectionMask ?? new Uint8Array(doc.width * doc.height);
      const canvas = { left: 0, top: 0, right: doc.width, bottom: doc.height };
      // ASSUMPTION: without sourceBounds, the selection's own extent is returned (the whole canvas when empty).
      const requested = o.sourceBounds ?? nonZero(doc.width, doc.height, sel) ?? canvas;
      const bounds = trim(requested, canvas);
      if (!bounds) throw new Error('getSelection: bounds outside the canvas');
      return { imageData: new FakeImageData(bounds.right - bounds.left, bounds.bottom - bounds.top, 1, crop(sel, doc.width, bounds, 1), 'Grayscale'), sourceBounds: bounds };
    },
    putPixels: async (o: { documentID?: number; layerID: number; imageData: PsImageData; replace?: boolean; targetBounds?: PsBounds; commandName?: string }) => {
      this.record('putPixels', { ...o, imageData: describe(o.imageData) });
      this.requireModal('putPixels');
      this.maybeFail('putPixels');
      const doc = this.doc(o.documentID);
      const layer = doc.layerById(o.layerID);
      const img = o.imageData as FakeImageData;
      if (img.components !== 4 || img.colorSpace !== 'RGB') throw new Error('putPixels: the fake models RGBA data only');
      if (o.replace !== false) layer.pixels.fill(0);
      paste(layer.pixels, doc.width, doc.height, img.data, img.width, img.height, o.targetBounds ?? { left: 0, top: 0, right: img.width, bottom: img.height }, 4);
      doc.changed(o.commandName ?? 'Put Pixels');
    },
    putLayerMask: async (o: { documentID?: number; layerID: number; imageData: PsImageData; replace?: boolean; targetBounds?: PsBounds; commandName?: string }) => {
      this.record('putLayerMask', { ...o, imageData: describe(o.imageData) });
      this.requireModal('putLayerMask');
      this.maybeFail('putLayerMask');
      const doc = this.doc(o.documentID);
      const layer = doc.layerById(o.layerID);
      const img = o.imageData as FakeImageData;
      if (img.components !== 1 || img.colorSpace !== 'Grayscale') throw new Error('putLayerMask: mask data must be one grayscale component');
      // ASSUMPTION: a layer without a mask gets one; outside targetBounds it hides (0).
      if (!layer.mask || o.replace !== false) layer.mask = new Uint8Array(doc.width * doc.height);
      paste(layer.mask, doc.width, doc.height, img.data, img.width, img.height, o.targetBounds ?? { left: 0, top: 0, right: img.width, bottom: img.height }, 1);
      doc.changed(o.commandName ?? 'Put Layer Mask');
    },
    createImageDataFromBuffer: async (buffer: Uint8Array, o: { width: number; height: number; components: number; chunky?: boolean; colorProfile?: string; colorSpace: string }) => {
      this.record('createImageDataFromBuffer', { width: o.width, height: o.height, components: o.components, colorSpace: o.colorSpace, chunky: o.chunky, colorProfile: o.colorProfile });
      if (buffer.length !== o.width * o.height * o.components) throw new Error(`createImageDataFromBuffer: ${buffer.length} elements for ${o.width}x${o.height}x${o.components}`);
      return new FakeImageData(o.width, o.height, o.components, buffer.slice(), o.colorSpace);
    },
    encodeImageData: async (o: { imageData: PsImageData; base64?: boolean }) => {
      this.record('encodeImageData', { imageData: describe(o.imageData), base64: o.base64 });
      const img = o.imageData as FakeImageData;
      if (img.disposed) throw new Error('encodeImageData: image data was disposed');
      const rgba = img.components === 4 ? img.data : img.components === 3 ? expand(img.data) : null;
      if (!rgba) throw new Error('encodeImageData: the fake encodes RGB(A) only');
      // A real JPEG (jpeg-js), as the reference says the encoder makes.
      const jpeg = encodeJpeg({ width: img.width, height: img.height, data: Buffer.from(rgba) }, 80).data;
      return o.base64 ? Buffer.from(jpeg).toString('base64') : Array.from(jpeg);
    },
  };

  private doc(id: number | undefined): FakeDocument {
    const doc = id === undefined || id < 0 ? this.activeDoc : this.documents.find((d) => d.id === id);
    if (!doc) throw new Error(`FakePhotoshop: no document ${id}`);
    return doc;
  }

  private maybeFail(fn: string): void {
    if (this.failOn === fn) throw new Error(`${fn} failed (simulated)`);
  }
}

/**
 * A FAKE `uxp` module: the file picker returns a file whose text is `files[path]` (null: the user
 * cancelled); persistent tokens map back to the path, and reading a deleted file throws.
 */
export function fakeUxp(fileText: string | null): UxpSubset & { picks: number; files: Map<string, string> } {
  const files = new Map<string, string>();
  if (fileText !== null) files.set('bridge.json', fileText);
  const entry = (path: string): { path: string; read(): Promise<string> } => ({
    path,
    read: async () => {
      const text = files.get(path);
      if (text === undefined) throw new Error(`Could not find file ${path}`);
      return text;
    },
  });
  const fake = {
    picks: 0,
    files,
    storage: {
      localFileSystem: {
        getFileForOpening: async () => {
          fake.picks++;
          return fileText === null ? null : entry('bridge.json');
        },
        createPersistentToken: async (e: unknown) => `token:${(e as { path: string }).path}`,
        getEntryForPersistentToken: async (token: string) => {
          if (!token.startsWith('token:')) throw new ReferenceError('token is not defined');
          return entry(token.slice(6));
        },
      },
    },
  };
  return fake;
}

function expand(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array((rgb.length / 3) * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) out.set([rgb[i]!, rgb[i + 1]!, rgb[i + 2]!, 255], j);
  return out;
}

function describe(img: PsImageData): Record<string, unknown> {
  return { width: img.width, height: img.height, components: img.components };
}

export function gradient(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      data[o] = (x * 255) / Math.max(1, width - 1);
      data[o + 1] = (y * 255) / Math.max(1, height - 1);
      data[o + 2] = ((x + y) * 7) & 255;
      data[o + 3] = 255;
    }
  }
  return data;
}

export function nonZero(width: number, height: number, data: Uint8Array): PsBounds | null {
  let l = width;
  let t = height;
  let r = -1;
  let b = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[y * width + x]) {
        l = Math.min(l, x);
        r = Math.max(r, x);
        t = Math.min(t, y);
        b = y;
      }
    }
  }
  return r < 0 ? null : { left: l, top: t, right: r + 1, bottom: b + 1 };
}

function trim(b: PsBounds, area: PsBounds): PsBounds | null {
  const r = { left: Math.max(b.left, area.left), top: Math.max(b.top, area.top), right: Math.min(b.right, area.right), bottom: Math.min(b.bottom, area.bottom) };
  return r.right > r.left && r.bottom > r.top ? r : null;
}

export function crop(src: Uint8Array, srcWidth: number, b: PsBounds, channels: number): Uint8Array {
  const w = b.right - b.left;
  const out = new Uint8Array(w * (b.bottom - b.top) * channels);
  for (let y = b.top; y < b.bottom; y++) out.set(src.subarray((y * srcWidth + b.left) * channels, (y * srcWidth + b.right) * channels), (y - b.top) * w * channels);
  return out;
}

function paste(dst: Uint8Array, dw: number, dh: number, src: Uint8Array, sw: number, sh: number, at: PsBounds, channels: number): void {
  if (at.right - at.left !== sw || at.bottom - at.top !== sh) throw new Error(`targetBounds ${JSON.stringify(at)} do not match ${sw}x${sh} image data`);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const tx = at.left + x;
      const ty = at.top + y;
      if (tx < 0 || ty < 0 || tx >= dw || ty >= dh) continue;
      for (let k = 0; k < channels; k++) dst[(ty * dw + tx) * channels + k] = src[(y * sw + x) * channels + k]!;
    }
  }
}

function moveInto(src: Uint8Array, w: number, h: number, nw: number, nh: number, dx: number, dy: number, channels: number): Uint8Array {
  const out = new Uint8Array(nw * nh * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const tx = x + dx;
      const ty = y + dy;
      if (tx < 0 || ty < 0 || tx >= nw || ty >= nh) continue;
      for (let k = 0; k < channels; k++) out[(ty * nw + tx) * channels + k] = src[(y * w + x) * channels + k]!;
    }
  }
  return out;
}
