/**
 * Typed errors with stable codes. Every failure the SDK reports to a user or a host is an SdkError;
 * across comlink and HTTP it travels as `{code, message}` and is rebuilt on the other side.
 * Messages say what went wrong and what to do about it. This is the one list of codes: the bridge's
 * HTTP layer uses the transport codes below and declares none of its own.
 */

export const ERROR_CODES = [
  'invalid_argument',
  'image_not_found',
  'image_unreadable',
  'image_too_large',
  'mask_size_mismatch',
  'mask_empty',
  'pack_not_found',
  'pack_file_missing',
  'pack_invalid',
  'model_layout_unsupported',
  'mode_unsupported',
  'device_unavailable',
  'job_not_found',
  'cancelled',
  'output_unwritable',
  'worker_crashed',
  // Pack downloads (core/src/download): the finer kind travels as DownloadError.failure.
  'network_unavailable',
  'download_failed',
  'checksum_mismatch',
  'disk_full',
  'pack_locked',
  'internal',
  // Transport codes: the bridge's HTTP layer (plugins/gimp-bridge), rebuilt like the others.
  'unauthorized',
  'forbidden_host',
  'forbidden_origin',
  'body_too_large',
  'malformed_request',
  'queue_full',
  'shutting_down',
  'not_found',
  'method_not_allowed',
  'body_timeout',
  'too_many_uploads',
  'result_not_ready',
  'result_gone',
  'preferences_off',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SerializedError {
  code: ErrorCode;
  message: string;
}

/** Marks every SdkError, whichever copy of core made it (see Symbol.hasInstance below). */
const BRAND = Symbol.for('byteedit.SdkError');

export class SdkError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SdkError';
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `err instanceof SdkError` holds for an SdkError from any bundle of core: the package's entries
   * (`.`, `./browser`, `./http`) are separate bundles, each with its own class, and a host that
   * mixes them must still recognise the errors. Subclasses keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== SdkError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Turns anything thrown into the wire form; unknown errors become `internal`. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof SdkError) return error.toJSON();
  if (error && typeof error === 'object' && isErrorCode((error as { code?: unknown }).code)) {
    return { code: (error as SerializedError).code, message: String((error as { message?: unknown }).message) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'internal', message };
}

/** Rebuilds the typed error on the receiving side of a boundary. */
export function deserializeError(wire: unknown): SdkError {
  if (wire && typeof wire === 'object') {
    const { code, message } = wire as { code?: unknown; message?: unknown };
    return new SdkError(isErrorCode(code) ? code : 'internal', typeof message === 'string' ? message : 'unknown error');
  }
  return new SdkError('internal', String(wire));
}
