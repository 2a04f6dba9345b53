/**
 * From parsed job input to an EditRequest: pack names are resolved to this bridge's pack folders,
 * headers are checked (signature, IHDR, size caps, image/mask agreement) before any pixels are
 * decoded, then the SDK's codecs decode, in a codec worker (codec-pool.ts) so that a large upload
 * never stalls the server's event loop. The request is the parsed fields as they are, plus pixels.
 */
import type { DecodedUpload } from './codec-protocol';
import type { EditRequest } from './core';
import { HttpError, toHttpError } from './errors';
import type { JobInput } from './job-request';
import { checkPngHeader } from './png-header';

export type UploadDecoder = (image: Uint8Array, mask: Uint8Array | undefined, maxPixels: number) => Promise<DecodedUpload>;

/** Request fields that name a pack: over the network they are names this bridge serves, never paths. */
export const PACK_NAME_FIELDS = ['pack', 'rewardPack', 'inpaintPack'] as const;

export interface RequestContext {
  /** The bridge's own pixel cap; a request's maxPixels can lower it, never raise it. */
  maxPixels: number;
  /** A pack name → its folder (throws 404 pack_not_found); undefined → the default pack's folder. */
  packDir(name: string | undefined): string | undefined;
  decode: UploadDecoder;
}

export async function buildEditRequest(input: JobInput, context: RequestContext): Promise<EditRequest> {
  const { params } = input;
  const pack = context.packDir(params.pack);
  const rewardPack = params.rewardPack === undefined ? undefined : context.packDir(params.rewardPack);
  const inpaintPack = params.inpaintPack === undefined ? undefined : context.packDir(params.inpaintPack);
  const maxPixels = Math.min(params.maxPixels ?? context.maxPixels, context.maxPixels);
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
  let pixels: DecodedUpload;
  try {
    pixels = await context.decode(input.image, input.mask, maxPixels);
  } catch (err) {
    const http = toHttpError(err);
    // A PNG whose header passed but whose data does not decode is malformed input, not a server fault.
    if (http.status === 500) throw new HttpError(400, 'image_unreadable', `image data could not be decoded (${http.message}); re-export it as PNG`);
    throw http;
  }
  if (pixels.mask && !pixels.mask.bounds && params.mode !== 'outpaint') {
    throw new HttpError(422, 'mask_empty', `the mask is black everywhere, so there is nothing to ${params.mode}; paint the area white (or select it) and try again`);
  }
  // Previews cost an encode per step over the worker boundary: only for clients that ask.
  const request: EditRequest = { ...params, image: pixels.image, pack, maxPixels, previewEvery: params.previewEvery ?? 0 };
  if (pixels.mask) request.mask = pixels.mask;
  if (pack === undefined) delete request.pack;
  if (rewardPack !== undefined) request.rewardPack = rewardPack;
  if (inpaintPack !== undefined) request.inpaintPack = inpaintPack;
  return request;
}
