/** The engine's public data lives in the protocol layer; this file keeps the old import path. */
export * from '../protocol/events';
export { EDIT_MODES, type EditMode, type Margins } from '../protocol/unions';
