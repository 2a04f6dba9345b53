/**
 * What onnxruntime-node and onnxruntime-web have in common, written once against the
 * onnxruntime-common API (type-only import: the backend passes its own `ort` namespace in).
 * Tensor conversion, session wrapping with per-device serialization, and the device walk with
 * one error that lists every device's failure.
 */
import type * as Ort from 'onnxruntime-common';
import { SdkError } from '../util/errors';
import { Mutex } from '../util/mutex';
import type { DeviceName, IoInfo, ModelSession, ModelSource, TensorData, TensorType } from './types';

type OrtModule = { Tensor: typeof Ort.Tensor; InferenceSession: typeof Ort.InferenceSession };

function ioInfo(meta: readonly Ort.InferenceSession.ValueMetadata[]): IoInfo[] {
  return meta.map((m) => ({ name: m.name, type: m.isTensor ? m.type : 'non-tensor', shape: m.isTensor ? m.shape.map((d) => (typeof d === 'number' ? d : String(d))) : [] }));
}

class OrtModelSession implements ModelSession {
  readonly inputs: IoInfo[];
  readonly outputs: IoInfo[];

  constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly device: string,
    private readonly lock: Mutex,
  ) {
    this.inputs = ioInfo(session.inputMetadata);
    this.outputs = ioInfo(session.outputMetadata);
  }

  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    return this.lock.run(async () => {
      const ortFeeds: Record<string, Ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new this.ort.Tensor(t.type, t.data, t.dims as number[]);
      const results = await this.session.run(ortFeeds);
      const out: Record<string, TensorData> = {};
      for (const [name, t] of Object.entries(results)) {
        out[name] = { type: t.type as TensorType, dims: t.dims, data: t.data as TensorData['data'] };
      }
      return out;
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** ORT execution provider names for our user-facing device names. */
export const EXECUTION_PROVIDERS: Readonly<Record<Exclude<DeviceName, 'auto'>, string>> = Object.freeze({
  cpu: 'cpu',
  wasm: 'wasm',
  webgpu: 'webgpu',
  cuda: 'cuda',
});

export interface DeviceAttempt {
  device: Exclude<DeviceName, 'auto'>;
  /** Reason the device cannot be used at all (skip without trying), or null to try it. */
  skip: string | null;
}

/**
 * Opens `source` on the first device that works. `requested` is a single device or the priority
 * list for `auto`; failures are collected so the final error names every device and why.
 */
export async function openSession(
  ort: OrtModule,
  source: ModelSource,
  attempts: DeviceAttempt[],
  locks: Map<string, Mutex>,
  options: Ort.InferenceSession.SessionOptions = {},
): Promise<ModelSession> {
  const failures: string[] = [];
  for (const { device, skip } of attempts) {
    if (skip) {
      failures.push(`${device}: ${skip}`);
      continue;
    }
    try {
      const opts: Ort.InferenceSession.SessionOptions = { ...options, executionProviders: [EXECUTION_PROVIDERS[device]] };
      const session = 'path' in source ? await ort.InferenceSession.create(source.path, opts) : await ort.InferenceSession.create(source.bytes, opts);
      let lock = locks.get(device);
      if (!lock) {
        lock = new Mutex();
        locks.set(device, lock);
      }
      return new OrtModelSession(ort, session, device, lock);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      failures.push(`${device}: ${msg.split('\n')[0]!.slice(0, 300)}`);
    }
  }
  const name = 'path' in source ? source.path : source.name;
  const last = attempts[attempts.length - 1]!;
  if (!last.skip && (last.device === 'cpu' || last.device === 'wasm')) {
    // The always-available device failed too: the model, not the hardware, is the problem.
    throw new SdkError('pack_invalid', `cannot load model ${name} (${failures.join('; ')}); the file may be corrupt or not an ONNX model: re-download or regenerate the pack`);
  }
  if (attempts.length === 1) {
    throw new SdkError('device_unavailable', `cannot open ${name} on ${attempts[0]!.device}: ${failures[0]}. Try --device auto or --device cpu.`);
  }
  throw new SdkError('device_unavailable', `cannot open ${name} on any device (${failures.join('; ')})`);
}
