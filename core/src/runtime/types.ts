/**
 * The runtime seam: everything outside src/runtime speaks these types, never onnxruntime's.
 * A backend (onnxruntime-node, onnxruntime-web) implements Runtime at its own entry point.
 */

import type { DeviceChoice, DeviceFallback, DeviceName, DeviceStatus } from '../protocol/unions';
export { DEVICE_NAMES, type DeviceName, type DeviceStatus, type DeviceFallback, type DeviceChoice } from '../protocol/unions';

export type TensorType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8';

export interface TensorData {
  type: TensorType;
  dims: readonly number[];
  /** float16 travels as raw IEEE half bits in a Uint16Array; int64 as BigInt64Array. */
  data: Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;
}

export interface IoInfo {
  name: string;
  type: TensorType | string;
  /** Static sizes as numbers, symbolic ones as strings (or -1). */
  shape: readonly (number | string)[];
}

export interface ModelSession {
  readonly inputs: readonly IoInfo[];
  readonly outputs: readonly IoInfo[];
  readonly device: string;
  /** Devices tried before this one that failed (known-answer check or model load), and why. */
  readonly fallbacks: readonly DeviceFallback[];
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

/** Where model bytes come from: a file path (Node) or the bytes themselves (browser, tests). */
export type ModelSource = { path: string } | { bytes: Uint8Array; name: string };


export interface Runtime {
  readonly kind: 'node' | 'browser';
  /** Devices this runtime knows, with availability (probed lazily, cached). */
  devices(): Promise<DeviceStatus[]>;
  /** Which device `createSession(_, requested)` would use, without opening a model. */
  choose(requested: DeviceName): Promise<DeviceChoice>;
  /**
   * Opens a model on the requested device. `auto` walks the priority list; when every device fails
   * the error lists each one's failure.
   */
  createSession(source: ModelSource, device: DeviceName): Promise<ModelSession>;
}
