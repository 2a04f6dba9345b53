/** The UI's one seam to @byteedit/core (bundled by esbuild): engines, codecs, the bridge's HTTP API, types. */
export { createBrowserWorkerEngine, cloneImage, decodeImage, encodePng, encodeGrayPng, composeCandidate, resizeImage, withBounds, SdkError, jobPictures, choiceExamples, engineLine, candidateSignals, signalLine } from '@byteedit/core/browser';
export type { CandidateSignal, Candidate, Capabilities, EditRequest, EngineApi, JobEvent, JobHandle, JobSummary, Mask, RgbaImage, SerializedError, DeviceName } from '@byteedit/core/browser';
export { HttpEngineClient, bridgeHealth, listPacks, packFilesUrl, packFileSize, fetchPackFile, recordChoice, uploadPreference } from '@byteedit/core/http';
export type { BridgeHealth, BridgeOptions } from '@byteedit/core/http';
