/**
 * The onnxruntime-node backend (the only Node module that imports onnxruntime).
 * Device priority for `auto`: cuda (only when its provider libraries are installed) -> webgpu
 * (Dawn; only where a Vulkan/Metal/D3D12 loader exists) -> cpu. CUDA and WebGPU must pass the
 * known-answer check (known-answer.ts) before any model runs on them.
 */
import type * as OrtNode from 'onnxruntime-node';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SdkError } from '../util/errors';
import type { Mutex } from '../util/mutex';
import { chooseDevice, DeviceChecks, openSession, type OrtModule, type ProviderTable } from './ort-shared';
import type { DeviceChoice, DeviceName, DeviceStatus, ModelSession, ModelSource, Runtime } from './types';

const NODE_DEVICES = ['cuda', 'webgpu', 'cpu'] as const;
type NodeDevice = (typeof NODE_DEVICES)[number];

/**
 * WebGPU runs layout-sensitive ops in NCHW. onnxruntime-node 1.30's default (NHWC) computes a 3x3
 * Conv with 9 (or 6, 15, 18, ...) input channels wrongly, and every inpainting UNet starts with a
 * 9-channel Conv: the output was a noisy, multicoloured fill (microsoft/onnxruntime#29651; repro in
 * docs/webgpu-conv-repro/). NCHW matched the CPU EP on every pack (test/parity); on the software
 * Vulkan driver its UNet took 1.3-1.7x the (wrong) default's time, and no GPU was measured
 * (docs/parity.md, with the padded-Conv alternative). BYTEEDIT_WEBGPU_LAYOUT=NHWC restores the
 * default, to check whether an onnxruntime upgrade fixed it: the known-answer check then decides.
 */
export function nodeProviders(env: Record<string, string | undefined> = process.env): ProviderTable {
  const layout = env.BYTEEDIT_WEBGPU_LAYOUT === 'NHWC' ? 'NHWC' : 'NCHW';
  return { webgpu: { name: 'webgpu', preferredLayout: layout } };
}

/**
 * onnxruntime-node is an optional peer dependency of @byteedit/core (browser users never need it),
 * so it is loaded when the first Node runtime is made, not when the package is: a missing install
 * is one clear error naming the package, not a MODULE_NOT_FOUND at require time.
 */
let ortNode: OrtModule | null = null;
function loadOrtNode(): OrtModule {
  if (ortNode) return ortNode;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ortNode = require('onnxruntime-node') as typeof OrtNode;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    // Only the package itself missing; a broken install (its native binding missing) keeps its own error.
    if (e?.code === 'MODULE_NOT_FOUND' && (e.message ?? '').startsWith("Cannot find module 'onnxruntime-node'")) {
      throw new SdkError('device_unavailable', 'onnxruntime-node is not installed: npm install onnxruntime-node (an optional peer dependency of @byteedit/core, needed to run the engine in Node)');
    }
    throw err;
  }
  return ortNode;
}

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

/** What webgpuStatus reads of the machine: file existence and folder listings (tests pass fakes). */
export interface VulkanProbe {
  platform: string;
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  list(dir: string): string[];
}

const realProbe = (): VulkanProbe => ({
  platform: process.platform,
  env: process.env,
  exists: existsSync,
  list: (d) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  },
});

/**
 * Dawn needs the Vulkan loader and a driver on Linux; without a driver it prints its own lines to
 * stderr ("vkCreateInstance: Found no drivers!") before failing, so look first: the loader, then a
 * driver manifest (ICD) where the loader looks, or the variables that name one.
 */
export function webgpuStatus(probe: VulkanProbe = realProbe()): string | null {
  if (probe.platform !== 'linux') return null;
  const env = probe.env;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  if (!dirs.some((d) => probe.exists(join(d, 'libvulkan.so.1')))) return 'no Vulkan loader found (install libvulkan1 and a GPU driver)';
  if (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || env.VK_ADD_DRIVER_FILES) return null;
  const data = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter(Boolean);
  const icdDirs = ['/etc/vulkan/icd.d', ...data.map((d) => join(d, 'vulkan', 'icd.d'))];
  if (icdDirs.some((d) => probe.list(d).some((f) => f.endsWith('.json')))) return null;
  return "no Vulkan driver found (no driver manifest in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d; install your GPU vendor's Vulkan driver)";
}

export interface NodeRuntimeOptions {
  /** For tests: another onnxruntime module (e.g. one whose device computes wrong numbers). */
  ort?: OrtModule;
  /** For tests: per-device availability probes in place of the file checks above. */
  probes?: Partial<Record<NodeDevice, () => string | null>>;
  providers?: ProviderTable;
}

export class NodeOrtRuntime implements Runtime {
  readonly kind = 'node' as const;
  private readonly locks = new Map<string, Mutex>();
  private readonly ort: OrtModule;
  private readonly providers: ProviderTable;
  private readonly checks: DeviceChecks;

  constructor(options: NodeRuntimeOptions = {}) {
    this.ort = options.ort ?? loadOrtNode();
    this.providers = options.providers ?? nodeProviders();
    const probes: Record<NodeDevice, () => string | null> = { cuda: cudaStatus, webgpu: () => webgpuStatus(), cpu: () => null, ...options.probes };
    this.checks = new DeviceChecks(
      this.ort,
      async () =>
        NODE_DEVICES.map((name) => {
          const reason = probes[name]();
          return reason ? { name, available: false, reason } : { name, available: true };
        }),
      this.providers,
    );
  }

  /** Availability of each device, cuda and webgpu after their known-answer check. */
  devices(): Promise<DeviceStatus[]> {
    return this.checks.all();
  }

  private order(device: DeviceName): NodeDevice[] {
    if (device === 'auto') return [...NODE_DEVICES];
    if ((NODE_DEVICES as readonly string[]).includes(device)) return [device as NodeDevice];
    throw new SdkError('device_unavailable', `device "${device}" is not available in Node; use one of auto, ${NODE_DEVICES.join(', ')}`);
  }

  async choose(device: DeviceName): Promise<DeviceChoice> {
    return chooseDevice(device, await this.checks.attempts(this.order(device)));
  }

  async createSession(source: ModelSource, device: DeviceName): Promise<ModelSession> {
    const attempts = await this.checks.attempts(this.order(device));
    return openSession(this.ort, source, attempts, this.locks, { graphOptimizationLevel: 'all' }, this.providers, this.checks);
  }
}
