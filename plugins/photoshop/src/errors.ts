/**
 * Typed panel errors. Every refusal says what happened and what to do; the code lets the UI pick
 * the matching help (for example the bridge instructions for `bridge_unreachable`).
 */
export type PanelErrorCode =
  | 'no_document'
  | 'no_selection'
  | 'unsupported_depth'
  | 'unsupported_mode'
  | 'region_too_large'
  | 'invalid_input'
  | 'bridge_unreachable'
  | 'bad_token'
  | 'no_token'
  | 'bridge_error'
  | 'cancelled'
  | 'preferences_off'
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
