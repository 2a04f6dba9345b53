/**
 * The messages between the server and its codec workers (codec-pool.ts ↔ codec-worker.ts): plain
 * data, pixels as typed arrays whose buffers are transferred on the way back.
 */
import type { Candidate, JobSummary, Mask, RgbaImage, SerializedError } from './core';

export type CodecTask =
  /** An upload: image and optional mask file bytes → pixels (the mask as a Mask, with its bounds). */
  | { op: 'decode'; image: Uint8Array; mask?: Uint8Array; maxPixels: number }
  /** A result: RGBA pixels → PNG bytes. */
  | { op: 'png'; image: RgbaImage }
  /** A compositing mask: 8-bit pixels → grey PNG bytes. */
  | { op: 'grayPng'; width: number; height: number; data: Uint8Array }
  /** `part=full`: the source PNG with one candidate's patch pasted on the output canvas, as PNG or raw RGBA. */
  | { op: 'full'; sourcePng: Uint8Array; summary: Pick<JobSummary, 'canvas' | 'sourceOffset'>; candidate: Pick<Candidate, 'region' | 'patch'>; format: 'png' | 'raw' };

export interface DecodedUpload {
  image: RgbaImage;
  mask?: Mask;
}

export interface Encoded {
  width: number;
  height: number;
  bytes: Uint8Array;
}

export type CodecResult = DecodedUpload | Encoded | Uint8Array;

export type CodecReply = { id: number; ok: true; value: CodecResult } | { id: number; ok: false; error: SerializedError };

export interface CodecMessage {
  id: number;
  task: CodecTask;
}
