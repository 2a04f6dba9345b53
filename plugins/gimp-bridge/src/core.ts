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
import * as core from '@byteedit/core';
// The package's "types" entry is the runtime-neutral index; the Node-only factory is typed from
// the Node entry (what '@byteedit/core' resolves to at run time: dist/node/index.js).
import type * as nodeCore from '@byteedit/core/src/node';
export const createWorkerEngine: typeof nodeCore.createWorkerEngine = (core as unknown as typeof nodeCore).createWorkerEngine;
/** The pack the core uses when none is named (the trained small pack, else the fixture pack). */
export const defaultPackPath: typeof nodeCore.defaultPackPath = (core as unknown as typeof nodeCore).defaultPackPath;
/** The core's local preference writer (docs/preferences.md), Node-only like the engine factory. */
export type PreferenceWriterApi = Pick<InstanceType<typeof nodeCore.PreferenceWriter>, 'dir' | 'file' | 'write'>;
export const createPreferenceWriter = (dir: string): PreferenceWriterApi => new (core as unknown as typeof nodeCore).PreferenceWriter(dir);
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
} from '@byteedit/core';
