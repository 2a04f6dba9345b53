/**
 * From validated job input to an EditRequest: headers are checked (signature, IHDR, size caps,
 * image/mask agreement) before any pixels are decoded, then the SDK's codecs decode, in a codec
 * worker (codec-pool.ts) so that a large upload never stalls the server's event loop.
 */
import type { DecodedUpload } from './codec-protocol';
import type { EditRequest } from './core';
import { HttpError, toHttpError } from './errors';
import type { JobInput } from './job-request';
import { checkPngHeader } from './png-header';

export type UploadDecoder = (image: Uint8Array, mask: Uint8Array | undefined, maxPixels: number) => Promise<DecodedUpload>;

export async function buildEditRequest(input: JobInput, maxPixels: number, packDir: string | undefined, decode: UploadDecoder): Promise<EditRequest> {
  const { params } = input;
  const size = checkPngHeader(input.image, 'image', maxPixels);
  if (input.mask) {
    const m = checkPngHeader(input.mask, 'mask', maxPixels);
    if (m.width !== size.width || m.height !== size.height) {
      throw new HttpError(422, 'mask_size_mismatch', `mask is ${m.width}x${m.height} but image is ${size.width}x${size.height}; send a mask with exactly the image's size`);
    }
  } else if (params.mode !== 'outpaint') {
    throw new HttpError(400, 'invalid_argument', `mode "${params.mode}" needs a mask (white where to ${params.mode}); send "mask" as a PNG of the image's size`);
  }
  if (params.expand) {
    const e = params.expand;
    const canvas = (size.width + e.left + e.right) * (size.height + e.top + e.bottom);
    if (canvas > maxPixels) {
      throw new HttpError(422, 'image_too_large', `the expanded canvas would have ${canvas} pixels; this bridge accepts at most ${maxPixels}: use smaller margins or a smaller image`);
    }
  }
  let request: EditRequest;
  try {
    const { image, mask } = await decode(input.image, input.mask, maxPixels);
    if (mask && !mask.bounds && params.mode !== 'outpaint') {
      throw new HttpError(422, 'mask_empty', `the mask is black everywhere, so there is nothing to ${params.mode}; paint the area white (or select it) and try again`);
    }
    request = {
      image,
      mask,
      mode: params.mode,
      prompt: params.prompt,
      negativePrompt: params.negativePrompt,
      expand: params.expand,
      pack: packDir,
      steps: params.steps,
      guidance: params.guidance,
      scheduler: params.scheduler as EditRequest['scheduler'],
      strength: params.strength,
      candidates: params.candidates,
      seed: params.seed,
      colorMatch: params.colorMatch,
      previewEvery: params.previewEvery ?? 0,
      maxPixels,
    };
  } catch (err) {
    const http = toHttpError(err);
    // A PNG whose header passed but whose data does not decode is malformed input, not a server fault.
    if (http.status === 500) throw new HttpError(400, 'image_unreadable', `image data could not be decoded (${http.message}); re-export it as PNG`);
    throw http;
  }
  // Ranking weights (reward name → weight) go to the engine as `rank`; the cast keeps this
  // compiling against cores from before the field existed.
  if (params.rankWeights) (request as EditRequest & { rank?: Record<string, number> }).rank = params.rankWeights;
  // Dropping undefined keys keeps the request a clean serializable bug report.
  for (const key of Object.keys(request) as (keyof EditRequest)[]) if (request[key] === undefined) delete request[key];
  return request;
}
