/**
 * The onnxruntime-node backend (the only Node module that imports onnxruntime).
 * Device priority for `auto`: cuda (only when its provider libraries are installed) -> webgpu
 * (Dawn; only where a Vulkan/Metal/D3D12 loader exists) -> cpu.
 */
import * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SdkError } from '../util/errors';
import type { Mutex } from '../util/mutex';
import { openSession, type DeviceAttempt } from './ort-shared';
import type { DeviceName, DeviceStatus, ModelSession, ModelSource, Runtime } from './types';

const NODE_DEVICES = ['cuda', 'webgpu', 'cpu'] as const;
type NodeDevice = (typeof NODE_DEVICES)[number];

function bindingDir(): string | null {
  try {
    const pkg = require.resolve('onnxruntime-node/package.json');
    return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

function cudaStatus(): string | null {
  const dir = bindingDir();
  if (process.platform !== 'linux' && process.platform !== 'win32') return `CUDA is not supported on ${process.platform}`;
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!dir || !existsSync(join(dir, lib))) {
    return `CUDA provider libraries are not installed (${lib} missing; reinstall onnxruntime-node with network access, without onnxruntime-node-install=skip)`;
  }
  return null;
}

function webgpuStatus(): string | null {
  if (process.platform !== 'linux') return null;
  // Dawn needs the Vulkan loader on Linux; without it session creation fails noisily.
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1'))) ? null : 'no Vulkan loader found (install libvulkan1 and a GPU driver)';
}

export class NodeOrtRuntime implements Runtime {
  readonly kind = 'node' as const;
  private readonly locks = new Map<string, Mutex>();
  private statuses: DeviceStatus[] | null = null;

  async devices(): Promise<DeviceStatus[]> {
    if (!this.statuses) {
      const reasons: Record<NodeDevice, string | null> = { cuda: cudaStatus(), webgpu: webgpuStatus(), cpu: null };
      this.statuses = NODE_DEVICES.map((name) => (reasons[name] ? { name, available: false, reason: reasons[name]! } : { name, available: true }));
    }
    return this.statuses;
  }

  async createSession(source: ModelSource, device: DeviceName): Promise<ModelSession> {
    const statuses = await this.devices();
    let order: NodeDevice[];
    if (device === 'auto') order = [...NODE_DEVICES];
    else if ((NODE_DEVICES as readonly string[]).includes(device)) order = [device as NodeDevice];
    else throw new SdkError('device_unavailable', `device "${device}" is not available in Node; use one of auto, ${NODE_DEVICES.join(', ')}`);
    const attempts: DeviceAttempt[] = order.map((d) => ({ device: d, skip: statuses.find((s) => s.name === d)?.reason ?? null }));
    return openSession(ort, source, attempts, this.locks, { graphOptimizationLevel: 'all' });
  }
}
