/**
 * Failures of the bridge's HTTP API as the SDK's typed errors: an error body `{error:{code,
 * message}}` becomes the SdkError it was on the bridge (same code, same message); a connection
 * that fails says the bridge is not running and how to start it (network_unavailable).
 */
import { SdkError, deserializeError, isErrorCode } from '../protocol/errors';
import type { FetchResponse } from './fetch';

/** How a user starts the bridge (and where its token is): appended to connection failures. */
export const START_BRIDGE_HELP = 'start it with `npx byteedit serve` (it listens on http://127.0.0.1:7860 and writes its token to bridge.json under your config directory)';

/** The bridge did not answer at all (refused, reset, DNS, CORS refusal, blocked by the host). */
export function bridgeUnreachable(baseUrl: string, cause: unknown): SdkError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new SdkError('network_unavailable', `the byteedit bridge is not running at ${baseUrl} (${why}): ${START_BRIDGE_HELP}`, { cause });
}

/** Codes for answers without an error body (something other than the bridge, or a proxy). */
const CODE_BY_STATUS: Record<number, 'unauthorized' | 'not_found' | 'method_not_allowed' | 'body_too_large' | 'queue_full' | 'shutting_down'> = {
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  429: 'queue_full',
  503: 'shutting_down',
};

/** The SdkError for a non-2xx answer, read from its `{error:{code,message}}` body when it has one. */
export async function errorFromResponse(res: FetchResponse, url: string): Promise<SdkError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON: described from the status below.
  }
  const wire = body && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  if (wire && typeof wire === 'object' && typeof (wire as { message?: unknown }).message === 'string') {
    const { code, message } = wire as { code?: unknown; message: string };
    // A code from a newer bridge is kept in the message (the SDK's code becomes `internal`).
    return isErrorCode(code) ? deserializeError(wire) : new SdkError('internal', `${message} (bridge error code ${String(code)})`);
  }
  return new SdkError(CODE_BY_STATUS[res.status] ?? 'internal', `${url} answered HTTP ${res.status} without a byteedit error; is the byteedit bridge what listens there?`);
}
