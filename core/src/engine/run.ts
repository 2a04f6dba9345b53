/** Conveniences over EngineApi: run one job to completion, and assemble a candidate's full canvas. */
import { SdkError, deserializeError } from '../util/errors';
import { padImage, pasteImage } from '../image/ops';
import type { RgbaImage } from '../image/image';
import type { Candidate, EditRequest, EngineApi, JobEvent, JobSummary } from './types';

export interface JobResult {
  jobId: string;
  summary: JobSummary;
  /** In ranking order (best first). */
  candidates: Candidate[];
}

/**
 * Enqueues `request` and resolves when it finishes; rejects with the job's SdkError (code
 * `cancelled` when cancelled). `onEvent` sees every event of this job.
 */
export async function runEdit(engine: EngineApi, request: EditRequest, onEvent?: (event: JobEvent) => void): Promise<JobResult> {
  const candidates: Candidate[] = [];
  const early: JobEvent[] = [];
  let jobId: string | null = null;
  let settle: ((e: JobEvent) => void) | null = null;
  const done = new Promise<JobEvent>((res) => (settle = res));
  const handle = (e: JobEvent): void => {
    onEvent?.(e);
    if (e.type === 'candidate') candidates.push(e.candidate);
    if (e.type === 'finished' || e.type === 'error' || e.type === 'cancelled') settle!(e);
  };
  const unsubscribe = await engine.subscribe((e) => {
    if (jobId === null) early.push(e);
    else if (e.jobId === jobId) handle(e);
  });
  try {
    jobId = await engine.enqueue(request);
    for (const e of early.splice(0)) if (e.jobId === jobId) handle(e);
    const end = await done;
    if (end.type === 'error') throw deserializeError(end.error);
    if (end.type === 'cancelled') throw new SdkError('cancelled', 'the job was cancelled');
    const summary = (end as Extract<JobEvent, { type: 'finished' }>).summary;
    const byIndex = new Map(candidates.map((c) => [c.index, c]));
    return { jobId, summary, candidates: summary.ranking.map((i) => byIndex.get(i)!).filter(Boolean) };
  } finally {
    unsubscribe();
  }
}

/** The full output canvas for one candidate: the source (padded for outpaint) with the patch pasted. */
export function composeCandidate(source: RgbaImage, summary: Pick<JobSummary, 'canvas' | 'sourceOffset'>, candidate: Pick<Candidate, 'region' | 'patch'>): RgbaImage {
  const out = padImage(source, summary.canvas.width, summary.canvas.height, summary.sourceOffset.x, summary.sourceOffset.y);
  pasteImage(out, candidate.patch, candidate.region.x, candidate.region.y);
  return out;
}
