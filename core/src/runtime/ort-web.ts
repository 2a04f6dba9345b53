/**
 * The onnxruntime-web backend (the only browser module that imports onnxruntime).
 * Device priority for `auto`: webgpu (when navigator.gpu gives an adapter and it passes the
 * known-answer check, known-answer.ts) -> wasm. onnxruntime-web's WebGPU kernels are not the Node
 * EP's: its default layout computes the inpainting UNet's 9-channel Conv correctly (test/parity).
 * WASM binaries are loaded from `wasmPaths`, set explicitly: never a CDN at run time.
 */
import * as ort from 'onnxruntime-web';
import { SdkError } from '../util/errors';
import type { Mutex } from '../util/mutex';
import { chooseDevice, DeviceChecks, openSession } from './ort-shared';
import type { DeviceChoice, DeviceName, DeviceStatus, ModelSession, ModelSource, Runtime } from './types';

const WEB_DEVICES = ['webgpu', 'wasm'] as const;
type WebDevice = (typeof WEB_DEVICES)[number];

export interface WebRuntimeOptions {
  /** Folder URL (or per-file map) of onnxruntime-web's .wasm/.mjs files. */
  wasmPaths?: string | Record<string, string>;
  /** WASM threads (needs crossOriginIsolated); default 1 when not isolated. */
  numThreads?: number;
}

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown> };
}

export class WebOrtRuntime implements Runtime {
  readonly kind = 'browser' as const;
  private readonly locks = new Map<string, Mutex>();
  private readonly checks: DeviceChecks;

  constructor(options: WebRuntimeOptions = {}) {
    // onnxruntime-web is an optional peer dependency of @byteedit/core. Missing, a bundler fails to
    // resolve it at build time; one that stubs missing modules (an empty object) lands here instead.
    if (typeof (ort as Partial<typeof ort>).InferenceSession !== 'function' || !ort.env?.wasm) {
      throw new SdkError('device_unavailable', 'onnxruntime-web is not installed: npm install onnxruntime-web (an optional peer dependency of @byteedit/core, needed to run the engine in a browser)');
    }
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    ort.env.wasm.numThreads = isolated ? (options.numThreads ?? 0) : 1;
    ort.env.wasm.proxy = false;
    this.checks = new DeviceChecks(ort, probeWebDevices, {});
  }

  /** Availability of each device, webgpu after its known-answer check. */
  devices(): Promise<DeviceStatus[]> {
    return this.checks.all();
  }

  private order(device: DeviceName): WebDevice[] {
    if (device === 'auto') return [...WEB_DEVICES];
    if ((WEB_DEVICES as readonly string[]).includes(device)) return [device as WebDevice];
    throw new SdkError('device_unavailable', `device "${device}" is not available in the browser; use one of auto, ${WEB_DEVICES.join(', ')}`);
  }

  async choose(device: DeviceName): Promise<DeviceChoice> {
    return chooseDevice(device, await this.checks.attempts(this.order(device)));
  }

  async createSession(source: ModelSource, device: DeviceName): Promise<ModelSession> {
    const order = this.order(device);
    if ('path' in source) throw new SdkError('internal', 'the browser runtime loads models from bytes, not paths');
    return openSession(ort, source, await this.checks.attempts(order), this.locks, {}, {}, this.checks);
  }
}

async function probeWebDevices(): Promise<DeviceStatus[]> {
  let webgpu: string | null = null;
  const nav = (globalThis as { navigator?: GpuNavigator }).navigator;
  if (!nav?.gpu) webgpu = 'navigator.gpu is not available in this browser or context';
  else if (!(await nav.gpu.requestAdapter().catch(() => null))) webgpu = 'navigator.gpu returned no adapter';
  return [webgpu ? { name: 'webgpu', available: false, reason: webgpu } : { name: 'webgpu', available: true }, { name: 'wasm', available: true }];
}
