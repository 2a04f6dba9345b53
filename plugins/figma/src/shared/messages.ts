/**
 * The wire between the sandbox (code.js, Figma's document API, no DOM) and the UI iframe (ui.html,
 * DOM, engine). Plain structured-clone data only: Uint8Array travels as is through postMessage.
 */

/** Figma's 2×3 affine matrix ([[a, c, tx], [b, d, ty]]), in the parent's coordinates. */
export type Matrix2x3 = [[number, number, number], [number, number, number]];

export type Mode = 'edit' | 'erase' | 'outpaint';

export interface Margins {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Where an applied result goes: a new rectangle with this transform and size, inserted above `sourceId`. */
export interface Placement {
  /** The node the result covers (the image node, or the canvas frame for outpaint). */
  sourceId: string;
  /** The node the result is inserted into. */
  parentId: string;
  /** Insert at this index in the parent (just above the source image). */
  index: number;
  relativeTransform: Matrix2x3;
  /** Size in Figma units (the result image is stretched to it). */
  width: number;
  height: number;
  /** Shapes used as the mask: hidden (not deleted) on apply. */
  maskIds: string[];
}

/** What the sandbox found in the selection (sent on every selection change). */
export type SelectionState =
  | { ok: true; kind: 'masked' | 'outpaint'; description: string; pixels: { width: number; height: number }; scale: number }
  | { ok: false; message: string };

/** 8-bit mask, row-major, 255 = edit. */
export interface RawMask {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Settings {
  bridgeUrl: string;
  token: string;
  /** auto: in the iframe when the runtime files are on the bridge, else on the bridge. */
  engine: 'auto' | 'iframe' | 'bridge';
  device: 'auto' | 'webgpu' | 'wasm';
  /** Pseudo-pack on the bridge that holds onnxruntime-web's .wasm (see README). */
  runtimePack: string;
  candidates: number;
  steps: number;
  mode: Mode;
  prompt: string;
  /**
   * "Keep my choices" (off by default): on Apply, send the applied candidate to the bridge, which
   * records it locally if it runs with --record-preferences (docs/preferences.md).
   */
  recordPreferences: boolean;
}

export const DEFAULT_SETTINGS: Settings = {
  bridgeUrl: 'http://127.0.0.1:7860',
  token: '',
  engine: 'auto',
  device: 'auto',
  runtimePack: 'onnxruntime-web',
  candidates: 2,
  steps: 8,
  mode: 'edit',
  prompt: '',
  recordPreferences: false,
};

export type SandboxToUi =
  | { type: 'settings'; settings: Partial<Settings> }
  | { type: 'selection'; state: SelectionState }
  | {
      type: 'source';
      requestId: number;
      mode: Mode;
      /** PNG of the image node at `scale` (long side ≤ 4096 including the outpaint canvas). */
      image: Uint8Array;
      mask: RawMask | null;
      expand: Margins | null;
      scale: number;
      placement: Placement;
    }
  | { type: 'refusal'; requestId: number; message: string }
  | { type: 'applied'; nodeId: string; name: string }
  | { type: 'apply-failed'; message: string };

export type UiToSandbox =
  | { type: 'ready' }
  | { type: 'prepare'; requestId: number; mode: Mode }
  | { type: 'apply'; png: Uint8Array; width: number; height: number; placement: Placement; candidate: CandidateLabel }
  | { type: 'save-settings'; settings: Settings }
  | { type: 'notify'; message: string };

/** Figma's createImage limit. */
export const MAX_SIDE = 4096;

/**
 * What the applied node is named from: the sandbox names it with core's candidateLayerName, the
 * one format of every host (`edit #2 “a red heart” · seed 43`).
 */
export interface CandidateLabel {
  mode: Mode;
  prompt: string;
  /** The candidate's place in the UI's list, 1 = best ranked. */
  rank: number;
  seed: number;
}
