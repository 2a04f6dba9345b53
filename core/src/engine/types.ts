/**
 * The engine's public data: requests in, events out. Everything here is plain serializable data
 * (typed arrays included), so the same interface works in-process, in a Web Worker, in a Node
 * worker_thread and behind the bridge's HTTP API. A bug report is a serialized EditRequest.
 */
import type { CanvasSpace, Rect, Size } from '../image/geometry';
import type { Mask, RgbaImage } from '../image/image';
import type { SerializedError } from '../util/errors';
import type { SchedulerName } from '../samplers/types';
import type { DeviceChoice, DeviceFallback, DeviceStatus } from '../runtime/types';
import type { RankWeights } from '../rewards/types';

export type EditMode = 'edit' | 'erase' | 'outpaint';
export const EDIT_MODES: readonly EditMode[] = ['edit', 'erase', 'outpaint'];

export interface Margins {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface EditRequest {
  image: RgbaImage;
  /** White (255) where to edit. Required for edit and erase; for outpaint the new area is the mask. */
  mask?: Mask;
  mode: EditMode;
  prompt?: string;
  negativePrompt?: string;
  /** Outpaint margins in pixels. */
  expand?: Margins;
  /** Pack reference understood by the engine's pack resolver (a folder path or URL); default pack when absent. */
  pack?: string;
  steps?: number;
  guidance?: number;
  scheduler?: SchedulerName;
  /** img2img strength, 0 < s <= 1: 1 starts from pure noise. */
  strength?: number;
  /** Number of candidates K; seeds are seed, seed+1, ... (each recorded). */
  candidates?: number;
  seed?: number;
  /** Match the generated region's Lab mean/std to a ring around it (default true). */
  colorMatch?: boolean;
  /** color-match (default), poisson (gradient-domain blending into the surroundings) or none. */
  blend?: 'color-match' | 'poisson' | 'none';
  /** Emit a preview every N steps (0 = never). Default: every step when listened to cheaply. */
  previewEvery?: number;
  /** Maximum source pixels (default 64 MP). */
  maxPixels?: number;
  /** Score candidates with the pack's reward models and the analytic coherence (default true). */
  rewards?: boolean;
  /** Ranking weights (normalized within the job); defaults depend on the mode. */
  rank?: RankWeights;
  /** A pack whose `rewards` section scores candidates, when the generation pack has none. */
  rewardPack?: string;
  /**
   * `diffusion` (the pack), `fill` (model-free PatchMatch: erase and outpaint), or `auto`
   * (default): diffusion when the pack supports the mode, else fill for erase/outpaint.
   */
  engine?: 'auto' | 'diffusion' | 'fill';
  /** Diffusion erase/outpaint: PatchMatch-fill the hole first, then denoise from `strength` (default 0.6). */
  prefill?: boolean;
  /**
   * How the K candidates are searched: `best-of-n` (independent samples, ranked) or `guided`
   * (particles resampled by reward at 25 % and 50 % of the steps; same UNet budget).
   */
  search?: 'best-of-n' | 'guided';
}

export interface Candidate {
  index: number;
  seed: number;
  /** Where the patch sits on the output canvas. */
  region: Rect<CanvasSpace>;
  /** Final pixels of `region` (generated content composited through the compositing mask). */
  patch: RgbaImage;
  /** The compositing mask over `region` (0 = the source pixel is kept byte-identical). */
  mask: Mask;
  scores?: Record<string, number>;
}

export interface JobTimings {
  /** Milliseconds. */
  queuedMs: number;
  loadMs: number;
  encodeMs: number;
  denoiseMs: number;
  decodeMs: number;
  totalMs: number;
}

export interface JobSummary {
  jobId: string;
  canvas: Size<CanvasSpace>;
  /** Where the source image's top-left pixel sits on the canvas (non-zero for outpaint). */
  sourceOffset: { x: number; y: number };
  seeds: number[];
  device: string;
  /** The device asked for, the one used, and the checked devices passed over with why. */
  deviceChoice: DeviceChoice;
  pack: { name: string; version: string; kind: string };
  /** Which engine made the candidates. */
  engine: 'diffusion' | 'patchmatch';
  steps: number;
  timings: JobTimings;
  /** Candidate order, best first (index order when nothing was scored). */
  ranking: number[];
  /** Combined within-job score per candidate index (weighted z-scores of the rewards). */
  rankScores: number[];
  rankWeights: Record<string, number>;
  /** Where each reward came from, e.g. {alignment: "pack byteedit-small (image-text cosine)"}. */
  rewardSources: Record<string, string>;
}

export type JobEvent =
  | { type: 'queued'; jobId: string; position: number }
  | { type: 'started'; jobId: string; device: string; candidates: number; steps: number; fallbacks?: DeviceFallback[] }
  | { type: 'progress'; jobId: string; candidate: number; step: number; total: number; done: number; of: number }
  | { type: 'preview'; jobId: string; candidate: number; step: number; image: RgbaImage }
  | { type: 'candidate'; jobId: string; candidate: Candidate }
  | { type: 'finished'; jobId: string; summary: JobSummary }
  | { type: 'error'; jobId: string; error: SerializedError }
  | { type: 'cancelled'; jobId: string };

export type JobEventType = JobEvent['type'];

export interface Capabilities {
  version: string;
  runtime: 'node' | 'browser';
  devices: DeviceStatus[];
  /** What the engine's device setting resolves to here (auto: the first device that passes its check). */
  deviceChoice: DeviceChoice;
  modes: EditMode[];
  schedulers: SchedulerName[];
  maxPixels: number;
}

export type JobListener = (event: JobEvent) => void;

/** What every engine implementation offers: in-process, worker-backed, or remote (bridge). */
export interface EngineApi {
  enqueue(request: EditRequest): Promise<string>;
  /** Subscribe to all jobs' events; returns an unsubscribe function. */
  subscribe(listener: JobListener): Promise<() => void>;
  /** Cancels a queued or running job (takes effect between denoising steps). False if unknown or done. */
  cancel(jobId: string): Promise<boolean>;
  capabilities(): Promise<Capabilities>;
  dispose(): Promise<void>;
}
