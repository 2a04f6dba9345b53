/**
 * @byteedit/core/http: the engine interface over the bridge's HTTP+SSE API, for hosts (Node,
 * browsers, UXP; only `fetch`, `TextDecoder` and a response body reader are needed, and fetch is
 * injectable). `new HttpEngineClient({ baseUrl, token })` is an EngineApi like every other engine;
 * the plain functions cover the bridge endpoints the engine interface does not (health, packs,
 * pack files, recording choices). The types and errors hosts need come along, so a host that only
 * talks to the bridge imports nothing else.
 */
export { HttpEngineClient, type HttpEngineOptions } from './client';
export type { BridgeOptions } from './transport';
export { BridgeTransport } from './transport';
export type { FetchInit, FetchLike, FetchResponse, BodyReader } from './fetch';
export {
  bridgeHealth,
  listPacks,
  packFilesUrl,
  packFileSize,
  fetchPackFile,
  recordChoice,
  uploadPreference,
  type BridgeHealth,
  type BridgePack,
  type PreferenceReply,
} from './bridge-api';
export { START_BRIDGE_HELP, bridgeUnreachable, errorFromResponse } from './errors';
export { SseParser, SseDecoder, type SseMessage } from './sse';
export { encodeBase64, decodeBase64 } from './base64';
export { SdkError, deserializeError, serializeError, isErrorCode, ERROR_CODES, type ErrorCode, type SerializedError } from '../protocol/errors';
export type { Candidate, Capabilities, EditRequest, EngineApi, JobEvent, JobHandle, JobSummary } from '../protocol/events';
export type { RequestParams } from '../protocol/fields';
export type { EditMode, Margins, DeviceName } from '../protocol/unions';
export { createImage, createMask } from '../image/image';
export type { Mask, RgbaImage } from '../image/image';
export type { CanvasSpace, Rect } from '../image/geometry';
