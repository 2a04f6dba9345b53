/**
 * Typed panel errors. Every refusal says what happened and what to do; the code lets the UI pick
 * the matching help (for example the bridge instructions when the bridge is not running). What
 * the bridge refuses arrives as core's SdkError (from @byteedit/core/http) with the bridge's code;
 * `errorCode` reads either kind.
 */
export type PanelErrorCode =
  | 'no_document'
  | 'no_selection'
  | 'unsupported_depth'
  | 'unsupported_mode'
  | 'region_too_large'
  | 'invalid_input'
  | 'bridge_unreachable'
  | 'no_token'
  | 'cancelled'
  | 'photoshop_error';

export class PanelError extends Error {
  readonly code: PanelErrorCode;
  constructor(code: PanelErrorCode, message: string) {
    super(message);
    this.name = 'PanelError';
    this.code = code;
  }
}

export function isPanelError(e: unknown, code?: PanelErrorCode): e is PanelError {
  return e instanceof PanelError && (code === undefined || e.code === code);
}

/** The code of a PanelError or of the bridge's SdkError (network_unavailable, unauthorized, cancelled, …). */
export function errorCode(e: unknown): string | undefined {
  const code = e && typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Nothing (or a stale bridge.json's port) answers: show how to start the bridge. */
export function isBridgeDown(e: unknown): boolean {
  return errorCode(e) === 'network_unavailable' || errorCode(e) === 'bridge_unreachable';
}

/** The bridge answers but wants the (current) token. */
export function isTokenProblem(e: unknown): boolean {
  return errorCode(e) === 'unauthorized' || errorCode(e) === 'no_token';
}

/** An error as a sentence for the panel (core's messages start in lower case). */
export function userMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.charAt(0).toUpperCase() + text.slice(1);
}
