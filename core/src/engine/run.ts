/** Conveniences over EngineApi: run one job to completion, and assemble a candidate's full canvas. */
import { padImage, pasteImage } from '../image/ops';
import type { RgbaImage } from '../image/image';
import type { Candidate, EditRequest, EngineApi, JobEvent, JobHandle, JobSummary } from '../protocol/events';

export interface JobResult {
  jobId: string;
  summary: JobSummary;
  /** In ranking order (best first). */
  candidates: Candidate[];
}

/**
 * Submits `request` and resolves when it finishes; rejects with the job's SdkError (code
 * `cancelled` when cancelled). `onEvent` sees every event of this job.
 */
export async function runEdit(engine: EngineApi, request: EditRequest, onEvent?: (event: JobEvent) => void): Promise<JobResult> {
  return jobResult(await engine.submit(request), onEvent);
}

/** Follows a submitted job to its end: its summary and its candidates in ranking order. */
export async function jobResult(handle: JobHandle, onEvent?: (event: JobEvent) => void): Promise<JobResult> {
  const candidates = new Map<number, Candidate>();
  for await (const e of handle.events) {
    onEvent?.(e);
    if (e.type === 'candidate') candidates.set(e.candidate.index, e.candidate);
  }
  const summary = await handle.done;
  return { jobId: handle.id, summary, candidates: summary.ranking.map((i) => candidates.get(i)!).filter(Boolean) };
}

/** The full output canvas for one candidate: the source (padded for outpaint) with the patch pasted. */
export function composeCandidate(source: RgbaImage, summary: Pick<JobSummary, 'canvas' | 'sourceOffset'>, candidate: Pick<Candidate, 'region' | 'patch'>): RgbaImage {
  const out = padImage(source, summary.canvas.width, summary.canvas.height, summary.sourceOffset.x, summary.sourceOffset.y);
  pasteImage(out, candidate.patch, candidate.region.x, candidate.region.y);
  return out;
}
