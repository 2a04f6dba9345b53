/**
 * The onnxruntime-web backend (the only browser module that imports onnxruntime).
 * Device priority for `auto`: webgpu (when navigator.gpu gives an adapter) -> wasm.
 * WASM binaries are loaded from `wasmPaths`, set explicitly: never a CDN at run time.
 */
import * as ort from 'onnxruntime-web';
import { SdkError } from '../util/errors';
import type { Mutex } from '../util/mutex';
import { openSession, type DeviceAttempt } from './ort-shared';
import type { DeviceName, DeviceStatus, ModelSession, ModelSource, Runtime } from './types';

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
  private statuses: DeviceStatus[] | null = null;

  constructor(options: WebRuntimeOptions = {}) {
    if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    ort.env.wasm.numThreads = isolated ? (options.numThreads ?? 0) : 1;
    ort.env.wasm.proxy = false;
  }

  async devices(): Promise<DeviceStatus[]> {
    if (!this.statuses) {
      let webgpu: string | null = null;
      const nav = (globalThis as { navigator?: GpuNavigator }).navigator;
      if (!nav?.gpu) webgpu = 'navigator.gpu is not available in this browser or context';
      else if (!(await nav.gpu.requestAdapter().catch(() => null))) webgpu = 'navigator.gpu returned no adapter';
      this.statuses = [webgpu ? { name: 'webgpu', available: false, reason: webgpu } : { name: 'webgpu', available: true }, { name: 'wasm', available: true }];
    }
    return this.statuses;
  }

  async createSession(source: ModelSource, device: DeviceName): Promise<ModelSession> {
    const statuses = await this.devices();
    let order: WebDevice[];
    if (device === 'auto') order = [...WEB_DEVICES];
    else if ((WEB_DEVICES as readonly string[]).includes(device)) order = [device as WebDevice];
    else throw new SdkError('device_unavailable', `device "${device}" is not available in the browser; use one of auto, ${WEB_DEVICES.join(', ')}`);
    if ('path' in source) throw new SdkError('internal', 'the browser runtime loads models from bytes, not paths');
    const attempts: DeviceAttempt[] = order.map((d) => ({ device: d, skip: statuses.find((s) => s.name === d)?.reason ?? null }));
    return openSession(ort, source, attempts, this.locks);
  }
}
