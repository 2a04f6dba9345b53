/**
 * What travels between a host and an engine: the request, the job's events, its summary and the
 * engine interface every implementation offers (in-process, worker thread, browser worker, the HTTP
 * client of the bridge). Plain serializable data, typed arrays included: a bug report is a
 * serialized EditRequest.
 */
import type { CanvasSpace, Rect, Size } from '../image/geometry';
import type { Mask, RgbaImage } from '../image/image';
import type { SerializedError } from './errors';
import type { RequestParams } from './fields';
import type { DeviceChoice, DeviceFallback, DeviceStatus, EditMode, ImageDomain, SchedulerName } from './unions';

export interface EditRequest extends RequestParams {
  image: RgbaImage;
  /** White (255) where to edit. Required for edit and erase; for outpaint the new area is the mask. */
  mask?: Mask;
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

/** Why a job ran on the engine it ran on (the plan's choice), for `--json`, the bridge's job info and the hosts' UIs. */
export interface EngineRoute {
  engine: 'diffusion' | 'fill' | 'inpaint';
  /** One sentence: what was chosen and why. */
  reason: string;
  /** The image's domain as routing saw it: said by the request, or judged from the pixels (with the flat share). */
  domain?: { domain: ImageDomain; from: 'request' | 'pixels'; flat?: number };
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
  /** Which engine made the candidates: the pack's diffusion models, the model-free PatchMatch fill, or an erase pack's network. */
  engine: 'diffusion' | 'patchmatch' | 'inpaint';
  /** Why that engine (and, with prefill, what pre-filled the hole). */
  route: EngineRoute & { prefill?: 'fill' | 'inpaint'; inpaintPack?: string };
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

/** An event without its job id, as a job's runner emits it (the queue stamps the id). */
export type JobEventBody = JobEvent extends infer E ? (E extends { jobId: string } ? Omit<E, 'jobId'> : never) : never;

export const TERMINAL_EVENTS: readonly JobEventType[] = ['finished', 'error', 'cancelled'];

export function isTerminalEvent(event: { type: JobEventType }): boolean {
  return event.type === 'finished' || event.type === 'error' || event.type === 'cancelled';
}

/** One submitted job. Nothing is missed by subscribing late: `events` starts at `queued`. */
export interface JobHandle {
  readonly id: string;
  /**
   * Every event of this job, from `queued` to its terminal event (finished, error or cancelled), in
   * order; each iteration starts from the beginning. Previews are the exception: an iteration that
   * falls behind sees only the latest preview of each candidate.
   */
  readonly events: AsyncIterable<JobEvent>;
  /** The summary; rejects with the job's SdkError (code `cancelled` when it was cancelled). */
  readonly done: Promise<JobSummary>;
  /** Cancels the job if queued or running (a running one stops between denoising steps). False once it has ended. */
  cancel(): Promise<boolean>;
}

/** What every engine implementation offers: in-process, worker-backed, or remote (bridge). */
export interface EngineApi {
  /** Checks the request up front (rejects with invalid_argument and the like) and queues it. */
  submit(request: EditRequest): Promise<JobHandle>;
  capabilities(): Promise<Capabilities>;
  /** Cancels every job and releases the engine. */
  dispose(): Promise<void>;
}
