/** The UI's one seam to @byteedit/core (source, bundled by esbuild): engine client, codecs, types. */
export { createBrowserWorkerEngine, cloneImage, decodeImage, encodePng, encodeGrayPng, composeCandidate, resizeImage, withBounds, SdkError, jobPictures, choiceExamples } from '@byteedit/core/browser';
export type { Candidate, Capabilities, EditRequest, EngineApi, JobEvent, JobListener, JobSummary, Mask, RgbaImage, SerializedError, DeviceName } from '@byteedit/core/browser';
