/**
 * GET /v1/jobs/{id}/results/{n}: one candidate's pixels as the patch, its compositing mask or the
 * full output canvas, PNG or raw rows. Encoding (and composing, for part=full) runs in a codec
 * worker; the headers say the size and where the pixels sit on the canvas.
 */
import type { ServerResponse } from 'node:http';
import type { CodecPool } from './codec-pool';
import { HttpError } from './errors';
import { sendBytes } from './http-util';
import { isTerminal, type JobRecord } from './job-store';

export async function sendResult(res: ServerResponse, job: JobRecord, n: number, query: URLSearchParams, cors: Record<string, string>, codecs: CodecPool): Promise<void> {
  const part = query.get('part') ?? 'patch';
  const format = query.get('format') ?? 'png';
  if (!['patch', 'mask', 'full'].includes(part)) throw new HttpError(400, 'invalid_argument', `part must be patch, mask or full, got "${part}"`);
  if (!['png', 'raw'].includes(format)) throw new HttpError(400, 'invalid_argument', `format must be png or raw, got "${format}"`);
  const candidate = job.candidates.get(n);
  if (!candidate) {
    if (!isTerminal(job.state)) throw new HttpError(409, 'result_not_ready', `candidate ${n} of job ${job.id} is not ready yet; wait for its "candidate" event`);
    throw new HttpError(404, 'not_found', `job ${job.id} has no candidate ${n} (state ${job.state}); candidates: ${[...job.candidates.keys()].join(', ') || 'none'}`);
  }
  const headers = { ...cors, 'X-Region-X': String(candidate.region.x), 'X-Region-Y': String(candidate.region.y) };
  if (part === 'mask') {
    const mask = candidate.mask;
    const dims = { 'X-Image-Width': String(mask.width), 'X-Image-Height': String(mask.height) };
    if (format === 'raw') sendBytes(res, 'application/octet-stream', mask.data, { ...headers, ...dims });
    else sendBytes(res, 'image/png', await codecs.encodeGrayPng(mask.width, mask.height, mask.data), { ...headers, ...dims });
    return;
  }
  if (part === 'full') {
    if (!job.summary) {
      if (!isTerminal(job.state)) throw new HttpError(409, 'result_not_ready', `the full image of job ${job.id} needs the finished job; wait for its "finished" event`);
      // Cancelled or failed: it will never finish, so waiting would be forever.
      const why = job.state === 'cancelled' ? 'was cancelled' : `failed (${job.error?.code ?? 'error'})`;
      throw new HttpError(410, 'result_gone', `job ${job.id} ${why} before it finished, so it has no full image and never will; fetch this candidate with part=patch and part=mask, or submit the job again`);
    }
    // Decode, compose and encode: seconds for a large canvas, so in a codec worker.
    const full = await codecs.full(job.sourcePng, job.summary, candidate, format === 'raw' ? 'raw' : 'png');
    const dims = { 'X-Image-Width': String(full.width), 'X-Image-Height': String(full.height), 'X-Region-X': '0', 'X-Region-Y': '0' };
    sendBytes(res, format === 'raw' ? 'application/octet-stream' : 'image/png', full.bytes, { ...headers, ...dims });
    return;
  }
  const image = candidate.patch;
  const dims = { 'X-Image-Width': String(image.width), 'X-Image-Height': String(image.height) };
  if (format === 'raw') sendBytes(res, 'application/octet-stream', image.data, { ...headers, ...dims });
  else sendBytes(res, 'image/png', await codecs.encodePng(image), { ...headers, ...dims });
}
