/**
 * Download failures. Each is an SdkError (so it crosses comlink/HTTP as {code, message}) that also
 * carries a finer `failure` kind, mapped to a stable SDK code below.
 */
import { SdkError, type ErrorCode } from '../util/errors';

export type DownloadFailure =
  | 'network' // host unreachable, connection refused/reset too often, DNS failure, idle timeout
  | 'http_not_found' // 404 from the hub: wrong repo, file or revision
  | 'http_auth' // 401/403: gated or private repo, HF_TOKEN missing or refused
  | 'http_status' // any other non-success status after retries
  | 'checksum_mismatch' // sha256 of a downloaded file differs from the catalog/hub value
  | 'size_mismatch' // server sent a different number of bytes than the catalog lists
  | 'disk_full' // ENOSPC/EDQUOT while writing
  | 'locked' // another process holds the pack lock and we were told not to wait
  | 'not_downloadable' // catalog entry has no hub source (built locally by a recipe)
  | 'verify_failed'; // the assembled pack failed its layout/signature checks

const CODE_FOR: Readonly<Record<DownloadFailure, ErrorCode>> = Object.freeze({
  network: 'network_unavailable',
  http_not_found: 'pack_not_found',
  http_auth: 'download_failed',
  http_status: 'download_failed',
  checksum_mismatch: 'checksum_mismatch',
  size_mismatch: 'checksum_mismatch',
  disk_full: 'disk_full',
  locked: 'pack_locked',
  not_downloadable: 'invalid_argument',
  verify_failed: 'pack_invalid',
});

export class DownloadError extends SdkError {
  readonly failure: DownloadFailure;

  constructor(failure: DownloadFailure, message: string, options?: { cause?: unknown }) {
    super(CODE_FOR[failure], message, options);
    this.name = 'DownloadError';
    this.failure = failure;
  }
}

/** Filesystem errors while writing a download: disk full becomes its own failure, others are internal. */
export function fsWriteError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new DownloadError('disk_full', `no space left on the device while writing ${path}; free some space (or set BYTEEDIT_CACHE_DIR to a bigger disk) and run the pull again: finished bytes are kept`, { cause: err });
  }
  if (err instanceof SdkError) return err;
  return new SdkError('output_unwritable', `cannot write ${path} (${code ?? String(err)})`, { cause: err });
}
