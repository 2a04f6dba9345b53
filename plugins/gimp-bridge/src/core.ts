/**
 * The bridge's one seam to @byteedit/core: every engine type and codec the server uses comes
 * through here, so the dependency direction (bridge → core) is visible in one file.
 */
export type {
  Candidate,
  Capabilities,
  EditMode,
  EditRequest,
  EngineApi,
  ErrorCode,
  FieldName,
  JobEvent,
  JobHandle,
  JobSummary,
  Margins,
  Mask,
  RgbaImage,
  SerializedError,
  DeviceName,
  PreferenceExample,
  PreferenceHost,
  PreferenceRecord,
  RequestParams,
} from '@byteedit/core';
import { createWorkerEngine, defaultPackPath as coreDefaultPack, PreferenceWriter } from '@byteedit/core/node';
// The Node-only parts come from the Node entry (@byteedit/core/node); the rest is runtime-neutral.
export { createWorkerEngine };
/** The pack the core uses when none is named (the installed default pack, else the repository's). */
export const defaultPackPath: typeof coreDefaultPack = coreDefaultPack;
/** The core's local preference writer (docs/preferences.md), Node-only like the engine factory. */
export type PreferenceWriterApi = Pick<PreferenceWriter, 'dir' | 'file' | 'write'>;
export const createPreferenceWriter = (dir: string): PreferenceWriterApi => new PreferenceWriter(dir);
export {
  DEVICE_NAMES,
  FIELD_ALIASES,
  FIELD_NAMES,
  parseField,
  parseRequestParams,
  SCHEDULER_NAMES,
  ERROR_CODES,
  SdkError,
  composeCandidate,
  crc32,
  decodeImage,
  encodeGrayPng,
  encodePng,
  maskFromImage,
  serializeError,
  deserializeError,
  choiceExamples,
  jobPictures,
  PREFERENCE_HOSTS,
  isPreferenceHost,
  preferenceHostHint,
} from '@byteedit/core';
