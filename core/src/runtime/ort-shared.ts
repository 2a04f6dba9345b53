/**
 * What onnxruntime-node and onnxruntime-web have in common, written once against the
 * onnxruntime-common API (type-only import: the backend passes its own `ort` namespace in).
 * Tensor conversion, session wrapping with per-device serialization, the known-answer check of
 * each non-reference device, and the device walk with one error that lists every device's failure.
 */
import type * as Ort from 'onnxruntime-common';
import { SdkError } from '../util/errors';
import { Mutex } from '../util/mutex';
import { runKnownAnswer, type Precision } from './known-answer';
import { halfBits } from '../util/float16';
import type { DeviceChoice, DeviceFallback, DeviceName, DeviceStatus, IoInfo, ModelSession, ModelSource, TensorData, TensorType } from './types';

export type OrtModule = { Tensor: typeof Ort.Tensor; InferenceSession: typeof Ort.InferenceSession };
type Device = Exclude<DeviceName, 'auto'>;
/** Execution-provider config per device: a name, or a name with options (see ort-node.ts). */
export type ProviderTable = Readonly<Partial<Record<Device, Ort.InferenceSession.ExecutionProviderConfig>>>;

/** The devices whose results are the reference: they are never checked against anything. */
export const REFERENCE_DEVICES: ReadonlySet<string> = new Set(['cpu', 'wasm']);

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
    readonly fallbacks: readonly DeviceFallback[],
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
        out[name] = { type: t.type as TensorType, dims: t.dims, data: (t.type === 'float16' ? halfBits(t.data) : t.data) as TensorData['data'] };
      }
      return out;
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** ORT execution provider names for our user-facing device names. */
export const EXECUTION_PROVIDERS: Readonly<Record<Device, string>> = Object.freeze({
  cpu: 'cpu',
  wasm: 'wasm',
  webgpu: 'webgpu',
  cuda: 'cuda',
});

/** Common session options: warnings (node placement notes) are not for users; errors still throw. */
export const SESSION_DEFAULTS: Ort.InferenceSession.SessionOptions = Object.freeze({ logSeverityLevel: 3 });

export interface DeviceAttempt {
  device: Device;
  /** Reason the device cannot be used at all (skip without trying), or null to try it. */
  skip: string | null;
  /** The device was there but failed its known-answer check: a fallback worth telling the user. */
  failedCheck?: boolean;
}

const needsCheck = (device: string): boolean => !REFERENCE_DEVICES.has(device) && device !== 'auto';

/**
 * Device availability: a static probe per device (cached), then the known-answer check for each
 * available non-reference device, run once and only when a caller needs that device. A device that
 * fails the check (or cannot run it) becomes unavailable with the reason, so neither `auto` nor an
 * explicit request ever runs real models on it. The check uses the provider config real models get.
 */
export class DeviceChecks {
  private readonly checks = new Map<string, Promise<DeviceStatus>>();
  private readonly f16 = new Map<string, Promise<string | null>>();
  private probed: Promise<DeviceStatus[]> | null = null;

  constructor(
    private readonly ort: OrtModule,
    private readonly probe: () => Promise<DeviceStatus[]>,
    private readonly providers: ProviderTable,
  ) {}

  /** Every device, each non-reference one checked. */
  async all(): Promise<DeviceStatus[]> {
    const statuses = await this.static();
    return Promise.all(statuses.map((s) => this.status(s)));
  }

  /** Attempts in `order`, checking devices until the first one that can be used. */
  async attempts(order: readonly Device[]): Promise<DeviceAttempt[]> {
    const statuses = await this.static();
    const out: DeviceAttempt[] = [];
    let found = false;
    for (const d of order) {
      const s0 = statuses.find((x) => x.name === d) ?? { name: d, available: false, reason: 'unknown device' };
      const s = found ? s0 : await this.status(s0);
      if (s.available) found = true;
      out.push({ device: d, skip: s.available ? null : (s.reason ?? 'not available'), failedCheck: s.check === 'failed' });
    }
    return out;
  }

  private static(): Promise<DeviceStatus[]> {
    this.probed ??= this.probe();
    return this.probed;
  }

  /**
   * The known-answer verdict for a device about to be used: null when it passed (or is a
   * reference), else the reason. `attempts` checks only up to the first usable device; when that
   * one then fails to open a model, the next is checked here before anything runs on it.
   */
  async verdict(device: Device): Promise<string | null> {
    const s0 = (await this.static()).find((x) => x.name === device);
    if (!s0 || !needsCheck(device)) return null;
    const s = await this.status(s0);
    return s.available ? null : (s.reason ?? 'not available');
  }

  private status(s: DeviceStatus): Promise<DeviceStatus> {
    if (!s.available || !needsCheck(s.name)) return Promise.resolve(s);
    let p = this.checks.get(s.name);
    if (!p) {
      p = this.check(s);
      this.checks.set(s.name, p);
    }
    return p;
  }

  private async check(s: DeviceStatus): Promise<DeviceStatus> {
    const reason = await this.run(s.name as Device, 'fp32');
    return reason ? { name: s.name, available: false, check: 'failed', reason } : { ...s, check: 'passed' };
  }

  /**
   * For a model with float16 inputs or outputs on a non-reference device: the float16 check, once
   * per device. A GPU can run fp32 right and fp16 as zeros (onnxruntime-web on WebGPU without
   * shader-f16, seen in headless Chromium). Null when the device may run it, else the reason.
   */
  halfPrecision(device: Device): Promise<string | null> {
    if (!needsCheck(device)) return Promise.resolve(null);
    let p = this.f16.get(device);
    if (!p) {
      p = this.run(device, 'fp16');
      this.f16.set(device, p);
    }
    return p;
  }

  private async run(device: Device, precision: Precision): Promise<string | null> {
    try {
      const r = await runKnownAnswer(this.ort, { ...SESSION_DEFAULTS, executionProviders: [this.providers[device] ?? EXECUTION_PROVIDERS[device]] }, precision);
      return r.ok ? null : `it computes wrong numbers: it ${r.detail}`;
    } catch (err) {
      const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
      return `it could not run the ${precision === 'fp16' ? 'float16 ' : ''}known-answer check (${msg})`;
    }
  }
}

/** Which device a request for `requested` gets, and which checked devices it passed over and why. */
export function chooseDevice(requested: DeviceName, attempts: readonly DeviceAttempt[]): DeviceChoice {
  const fallbacks: DeviceFallback[] = [];
  for (const a of attempts) {
    if (!a.skip) return { requested, device: a.device, fallbacks };
    if (a.failedCheck) fallbacks.push({ device: a.device, reason: a.skip });
  }
  return { requested, device: null, fallbacks };
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
  providers: ProviderTable = {},
  checks?: DeviceChecks,
): Promise<ModelSession> {
  const failures: string[] = [];
  const fallbacks: DeviceFallback[] = [];
  for (const { device, skip, failedCheck } of attempts) {
    if (skip) {
      failures.push(`${device}: ${skip}`);
      if (failedCheck) fallbacks.push({ device, reason: skip });
      continue;
    }
    const unchecked = checks ? await checks.verdict(device) : null;
    if (unchecked) {
      failures.push(`${device}: ${unchecked}`);
      fallbacks.push({ device, reason: unchecked });
      continue;
    }
    try {
      const opts: Ort.InferenceSession.SessionOptions = { ...SESSION_DEFAULTS, ...options, executionProviders: [providers[device] ?? EXECUTION_PROVIDERS[device]] };
      const session = 'path' in source ? await ort.InferenceSession.create(source.path, opts) : await ort.InferenceSession.create(source.bytes, opts);
      const half = [...session.inputMetadata, ...session.outputMetadata].some((m) => m.isTensor && m.type === 'float16');
      const halfReason = half && checks ? await checks.halfPrecision(device) : null;
      if (halfReason) {
        await session.release();
        failures.push(`${device}: ${halfReason}`);
        fallbacks.push({ device, reason: halfReason });
        continue;
      }
      let lock = locks.get(device);
      if (!lock) {
        lock = new Mutex();
        locks.set(device, lock);
      }
      return new OrtModelSession(ort, session, device, lock, fallbacks);
    } catch (err) {
      const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
      failures.push(`${device}: ${msg}`);
      fallbacks.push({ device, reason: `it could not open the model (${msg})` });
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
