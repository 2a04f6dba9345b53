/**
 * The subset of Photoshop's UXP API (the `photoshop` and `uxp` modules) that this panel uses, and
 * nothing more. The adapter is written against these interfaces, so the tests can pass a fake
 * and the panel passes the real modules; `types-check.ts` makes the compiler prove that the real
 * typings (@types/photoshop) still satisfy them. Names and shapes follow the Photoshop UXP
 * reference (imaging API, minVersion 24.4; core.executeAsModal; Document DOM).
 */

/** Photoshop's pixel bounds: right and bottom are exclusive. */
export interface PsBounds {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface PsImageData {
  width: number;
  height: number;
  components: number;
  componentSize: 8 | 16 | 32;
  hasAlpha: boolean;
  getData(options: { chunky?: boolean }): Promise<Uint8Array | Uint16Array | Float32Array>;
  dispose(): Promise<void> | void;
}

export interface PsPixelsResult {
  imageData: PsImageData;
  sourceBounds: PsBounds;
}

export interface PsImaging {
  getPixels(options: { documentID?: number; layerID?: number; sourceBounds?: PsBounds; componentSize?: 8 | 16 | 32; colorSpace?: string }): Promise<PsPixelsResult>;
  getSelection(options: { documentID?: number; sourceBounds?: PsBounds }): Promise<PsPixelsResult>;
  putPixels(options: { documentID?: number; layerID: number; imageData: PsImageData; replace?: boolean; targetBounds?: PsBounds; commandName?: string }): Promise<void>;
  putLayerMask(options: { documentID?: number; layerID: number; imageData: PsImageData; replace?: boolean; targetBounds?: PsBounds; commandName?: string }): Promise<void>;
  createImageDataFromBuffer(buffer: Uint8Array, options: { width: number; height: number; components: number; chunky?: boolean; colorProfile?: string; colorSpace: string }): Promise<PsImageData>;
  /** JPEG only; with base64 it resolves to a string for a data: URL (the documented way to show pixels in <img>). */
  encodeImageData(options: { imageData: PsImageData; base64?: boolean }): Promise<number[] | string>;
}

export interface PsLayer {
  readonly id: number;
  name: string;
}

export interface PsDocument {
  readonly id: number;
  readonly title: string;
  readonly width: number;
  readonly height: number;
  /** e.g. "RGBColorMode" (constants.DocumentMode.RGB). */
  readonly mode: string;
  /** "bitDepth8" | "bitDepth16" | "bitDepth32" (constants.BitsPerChannelType). */
  readonly bitsPerChannel: string;
  readonly activeLayers: ArrayLike<PsLayer>;
  /** Photoshop 25.0+: `bounds` is null without a selection. Absent on 24.x. */
  readonly selection?: { readonly bounds: PsBounds | null };
  createPixelLayer(options?: { name?: string }): Promise<PsLayer | null>;
  resizeCanvas(width: number, height: number, anchor?: string): Promise<void>;
}

export interface PsExecutionContext {
  isCancelled: boolean;
  hostControl: {
    suspendHistory(params: { documentID: number; name: string }): Promise<{ historySuspensionID: number }>;
    resumeHistory(params: { historySuspensionID: number; finalName?: string }, commit?: boolean): Promise<void>;
  };
}

export interface PhotoshopSubset {
  app: { readonly activeDocument: PsDocument | null };
  core: {
    executeAsModal<T>(target: (context: PsExecutionContext) => Promise<T>, options: { commandName: string }): Promise<T>;
  };
  imaging: PsImaging;
}

export interface UxpFile {
  read(options?: object): Promise<string | ArrayBuffer>;
}

/**
 * The `uxp` module subset: the user picks the bridge's token file (permission localFileSystem:
 * "request"); a persistent token lets the panel re-read that same file after the bridge restarts.
 */
export interface UxpSubset {
  storage: {
    localFileSystem: {
      getFileForOpening(options?: { types?: string[]; allowMultiple?: boolean }): Promise<UxpFile | null | undefined | unknown[]>;
      createPersistentToken?(entry: UxpFile): Promise<string>;
      getEntryForPersistentToken?(token: string): Promise<UxpFile>;
    };
  };
}

export const DOCUMENT_MODE_RGB = 'RGBColorMode';
export const BIT_DEPTH_8 = 'bitDepth8';
