/**
 * The known-answer check every non-reference device passes before byteedit runs a model on it.
 * A device that computes wrong numbers is worse than a slow one: onnxruntime-node 1.30's WebGPU EP
 * computes the 9 -> 32 channel 3x3 Conv at the start of every inpainting UNet wrongly in its default
 * layout (https://github.com/microsoft/onnxruntime/issues/29651; repro in docs/webgpu-conv-repro/),
 * and the output looked like a plausible noisy fill. The check runs that Conv on the device and
 * compares it with a float64 reference computed outside onnxruntime (models/tools/make_conv_check.py).
 */
import type * as Ort from 'onnxruntime-common';
import {
  KNOWN_ANSWER_DIMS,
  KNOWN_ANSWER_F16_INPUT_B64,
  KNOWN_ANSWER_F16_MODEL_B64,
  KNOWN_ANSWER_F16_OUTPUT_B64,
  KNOWN_ANSWER_INPUT_B64,
  KNOWN_ANSWER_MODEL_B64,
  KNOWN_ANSWER_OUTPUT_B64,
} from './known-answer-model';
import { halfBits, halfToFloat32Array } from '../util/float16';

type OrtModule = { Tensor: typeof Ort.Tensor; InferenceSession: typeof Ort.InferenceSession };

/**
 * Relative to the largest expected value: fp32 kernels agree to ~1e-6 and the NHWC bug is off by
 * ~1; fp16 rounding of a 81-term sum stays near 1e-3, a GPU without half-precision shaders
 * (onnxruntime-web on WebGPU without shader-f16) returns zeros, off by 1.
 */
export const KNOWN_ANSWER_TOLERANCE = { fp32: 1e-4, fp16: 1e-2 } as const;
export type Precision = keyof typeof KNOWN_ANSWER_TOLERANCE;

function bytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export interface KnownAnswerResult {
  ok: boolean;
  /** max |actual - expected| / max(1, max |expected|). */
  error: number;
  /** One line for users: what was checked and how far off the device was. */
  detail: string;
}

/**
 * Runs the check with the session options real models get on that device (the same execution
 * provider config), so it verifies what byteedit will actually run. Throws what session creation
 * or the run throws.
 */
export async function runKnownAnswer(ort: OrtModule, options: Ort.InferenceSession.SessionOptions, precision: Precision = 'fp32'): Promise<KnownAnswerResult> {
  const f16 = precision === 'fp16';
  const session = await ort.InferenceSession.create(bytes(f16 ? KNOWN_ANSWER_F16_MODEL_B64 : KNOWN_ANSWER_MODEL_B64), options);
  try {
    const raw = bytes(f16 ? KNOWN_ANSWER_F16_INPUT_B64 : KNOWN_ANSWER_INPUT_B64).buffer;
    const input = f16 ? new ort.Tensor('float16', new Uint16Array(raw), [...KNOWN_ANSWER_DIMS.input]) : new ort.Tensor('float32', new Float32Array(raw), [...KNOWN_ANSWER_DIMS.input]);
    const expected = new Float32Array(bytes(f16 ? KNOWN_ANSWER_F16_OUTPUT_B64 : KNOWN_ANSWER_OUTPUT_B64).buffer);
    const result = await session.run({ x: input });
    const out = result.y?.data;
    // float16 may come back as Float16Array (see halfBits): compare its bits, not its element type.
    const y = f16 && out !== undefined ? halfToFloat32Array(halfBits(out)) : out;
    if (!(y instanceof Float32Array) || y.length !== expected.length) {
      return { ok: false, error: Infinity, detail: `the known-answer Conv returned ${y ? `${y.length} values` : 'no output'}, expected ${expected.length}` };
    }
    let maxErr = 0;
    let maxRef = 1;
    for (let i = 0; i < expected.length; i++) {
      const e = Math.abs(y[i]! - expected[i]!);
      maxErr = Number.isNaN(e) ? Infinity : Math.max(maxErr, e);
      maxRef = Math.max(maxRef, Math.abs(expected[i]!));
    }
    const error = maxErr / maxRef;
    const allowed = KNOWN_ANSWER_TOLERANCE[precision];
    const ok = error <= allowed;
    const detail = `${ok ? 'passed' : 'failed'} the known-answer check: a ${f16 ? 'float16 ' : ''}9->32 channel 3x3 Conv is off by ${error.toExponential(1)} relative (allowed ${allowed})`;
    return { ok, error, detail };
  } finally {
    await session.release();
  }
}
