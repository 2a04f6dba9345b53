/**
 * The bridge's wire forms (plugins/gimp-bridge/openapi.yaml) back into JobEvents. SSE `data:` is
 * one JSON object per event; `candidate` carries only the region, seed and scores, so its pixels
 * are fetched from the results endpoint as raw rows (part=patch and part=mask, format=raw: no
 * PNG decoding on the host) and the host gets the same Candidate as from a local engine.
 * `preview` carries a base64 PNG.
 */
import { SdkError } from '../protocol/errors';
import type { Candidate, JobEvent, JobSummary } from '../protocol/events';
import type { SerializedError } from '../protocol/errors';
import type { DeviceFallback } from '../protocol/unions';
import { decodeImage } from '../image/codecs';
import type { CanvasSpace, Rect } from '../image/geometry';
import { createImage, withBounds } from '../image/image';
import { decodeBase64 } from './base64';
import type { BridgeTransport } from './transport';

export const WIRE_EVENT_TYPES = ['queued', 'started', 'progress', 'preview', 'candidate', 'finished', 'error', 'cancelled'] as const;
export type WireEventType = (typeof WIRE_EVENT_TYPES)[number];

/** The `candidate` event and the job's `candidates[]` on the wire. */
export interface WireCandidate {
  index: number;
  seed: number;
  region: { x: number; y: number; width: number; height: number };
  scores?: Record<string, number>;
}

/** GET /v1/jobs/{id}, the fields the polling fallback reads. */
export interface WireJob {
  id: string;
  state: 'queued' | 'running' | 'finished' | 'error' | 'cancelled';
  position?: number;
  device?: string;
  progress?: { fraction: number; candidate?: number; step?: number; total?: number; done?: number; of?: number };
  candidates?: WireCandidate[];
  summary?: JobSummary;
  error?: SerializedError;
}

type Obj = Record<string, unknown>;

function malformed(what: string, detail: string): SdkError {
  return new SdkError('internal', `the bridge sent a malformed ${what} (${detail}); update the bridge and the plug-in to the same byteedit version`);
}

const int = (o: Obj, k: string, what: string): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw malformed(what, `${k} is ${JSON.stringify(v)}`);
  return v;
};

export function parseWireData(data: string, what: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    throw malformed(what, 'not JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw malformed(what, 'not a JSON object');
  return v as Obj;
}

export function wireCandidate(o: Obj): WireCandidate {
  const r = o.region as Obj | undefined;
  if (!r || typeof r !== 'object') throw malformed('candidate', 'no region');
  const region = { x: int(r, 'x', 'candidate region'), y: int(r, 'y', 'candidate region'), width: int(r, 'width', 'candidate region'), height: int(r, 'height', 'candidate region') };
  const scores = o.scores && typeof o.scores === 'object' ? (o.scores as Record<string, number>) : undefined;
  return { index: int(o, 'index', 'candidate'), seed: int(o, 'seed', 'candidate'), region, ...(scores ? { scores } : {}) };
}

/**
 * A wire event without pixels as the JobEvent it was; null for `candidate` and `preview` (see
 * fetchCandidate and previewEvent) and for event names this client does not know (newer bridges).
 */
export function plainEvent(jobId: string, type: string, o: Obj): JobEvent | null {
  switch (type) {
    case 'queued':
      return { type, jobId, position: int(o, 'position', 'queued event') };
    case 'started': {
      const device = typeof o.device === 'string' ? o.device : 'unknown';
      const fallbacks = Array.isArray(o.fallbacks) ? (o.fallbacks as DeviceFallback[]) : undefined;
      return { type, jobId, device, candidates: int(o, 'candidates', 'started event'), steps: int(o, 'steps', 'started event'), ...(fallbacks ? { fallbacks } : {}) };
    }
    case 'progress':
      return { type, jobId, candidate: int(o, 'candidate', 'progress event'), step: int(o, 'step', 'progress event'), total: int(o, 'total', 'progress event'), done: int(o, 'done', 'progress event'), of: int(o, 'of', 'progress event') };
    case 'finished':
      if (!o.summary || typeof o.summary !== 'object') throw malformed('finished event', 'no summary');
      return { type, jobId, summary: o.summary as JobSummary };
    case 'error': {
      const e = (o.error ?? {}) as Obj;
      return { type, jobId, error: { code: (typeof e.code === 'string' ? e.code : 'internal') as SerializedError['code'], message: typeof e.message === 'string' ? e.message : 'the job failed on the bridge' } };
    }
    case 'cancelled':
      return { type, jobId };
    default:
      return null;
  }
}

/** A `preview` event: the PNG decoded into the RgbaImage a local engine would have sent. */
export function previewEvent(jobId: string, o: Obj): JobEvent {
  if (typeof o.png !== 'string') throw malformed('preview event', 'no png');
  let image;
  try {
    image = decodeImage(decodeBase64(o.png));
  } catch (err) {
    throw malformed('preview event', err instanceof Error ? err.message : String(err));
  }
  return { type: 'preview', jobId, candidate: int(o, 'candidate', 'preview event'), step: int(o, 'step', 'preview event'), image };
}

/** One candidate with its pixels: the raw patch (RGBA8) and compositing mask (8-bit) of its region. */
export async function fetchCandidate(transport: BridgeTransport, jobId: string, c: WireCandidate): Promise<Candidate> {
  const path = `/v1/jobs/${encodeURIComponent(jobId)}/results/${c.index}`;
  const [patchRes, maskRes] = await Promise.all([transport.request(`${path}?part=patch&format=raw`), transport.request(`${path}?part=mask&format=raw`)]);
  const [patch, mask] = await Promise.all([patchRes.arrayBuffer(), maskRes.arrayBuffer()]);
  const { width, height } = c.region;
  if (patch.byteLength !== width * height * 4 || mask.byteLength !== width * height) {
    throw malformed(`result of candidate ${c.index}`, `${patch.byteLength} patch and ${mask.byteLength} mask bytes for a ${width}x${height} region`);
  }
  return {
    index: c.index,
    seed: c.seed,
    region: c.region as Rect<CanvasSpace>,
    patch: createImage(width, height, new Uint8ClampedArray(patch)),
    mask: withBounds<CanvasSpace>(width, height, new Uint8Array(mask)),
    ...(c.scores ? { scores: c.scores } : {}),
  };
}
