/**
 * @byteedit/core public API (runtime-neutral). Node adds createEngine/createWorkerEngine
 * (src/node.ts); browsers add the onnxruntime-web runtime and the Web Worker client (src/browser.ts).
 */
export * from './protocol/index';
export * from './image/geometry';
export * from './image/image';
export * from './image/codecs';
export { crc32 } from './image/png-decode';
export { resizeImage, resizeMask } from './image/resize';
export { cropImage, cropMask, padImage, pasteImage, growMask, featherMask } from './image/ops';
export { colorMatch, compositeThroughMask, rgbToLab, labToRgb } from './image/color';
export { judgeDomain, PHOTO_RULE, type DomainJudgement } from './image/domain';
export { toHalf, fromHalf, float32ToHalfArray, halfToFloat32Array } from './util/float16';
export * from './plan/plan';
export * from './packs/manifest';
export { loadPack, loadAnyPack, isLoadedInpaintPack, type LoadedPack, type LoadedInpaintPack, type LoadedAnyPack } from './packs/load';
export type { PackSource } from './packs/source';
export { ClipBpeTokenizer, WordTokenizer, type Tokenizer } from './packs/tokenizers';
export * from './samplers/types';
export { createSampler, type Sampler, type SamplerOptions } from './samplers/sampler';
export { Rng, gaussianNoise, randomSeed, detLog } from './samplers/noise';
export * from './samplers/schedule';
export * from './runtime/types';
export { JobQueue, JobChannel, type RunningJob, type JobRunner, type JobQueueOptions } from './engine/queue';
export { Engine, VERSION, validateRequest, type EngineOptions, type PackResolver } from './engine/engine';
export { runEdit, composeCandidate, type JobResult } from './engine/run';
export { WorkerEngineClient, type WorkerHandle } from './worker/client';
export * from './preferences/format';
export * from './host/index';
