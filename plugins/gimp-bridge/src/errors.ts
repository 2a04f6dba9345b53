/**
 * HTTP errors. Every code is one of core's ERROR_CODES: domain failures keep the SDK's codes
 * (image_unreadable, mask_size_mismatch, …), the HTTP layer uses core's transport codes (auth,
 * host check, queue full, …), so a client rebuilds any of them as a typed SdkError. Every error
 * body is `{error:{code,message}}` and the message says what to do.
 */
import { serializeError, type ErrorCode } from './core';

/** Kept for callers of the bridge's API: the bridge has no codes of its own any more. */
export type BridgeErrorCode = ErrorCode;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** HTTP status for an SDK error code raised while validating or decoding a request. */
const STATUS_BY_SDK_CODE: Partial<Record<ErrorCode, number>> = {
  invalid_argument: 400,
  image_unreadable: 400,
  image_too_large: 422,
  mask_size_mismatch: 422,
  mask_empty: 422,
  mode_unsupported: 422,
  pack_not_found: 404,
  pack_file_missing: 404,
  job_not_found: 404,
};

export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const wire = serializeError(error);
  return new HttpError(STATUS_BY_SDK_CODE[wire.code] ?? 500, wire.code, wire.message);
}
