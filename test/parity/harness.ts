/**
 * What the parity tests share: the run-parity bundle, running it under lavapipe, and the bounds.
 * Measured figures and how the bounds were chosen: docs/parity.md.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

export const REPO = resolve(__dirname, '..', '..');
export const LAVAPIPE = join(REPO, 'test', 'webgpu', 'node-lavapipe');
export const PARITY_ENV = { ...process.env, NODE_PATH: join(REPO, 'node_modules') };

/** Relative error of a component's outputs (max |a - b| / max |ref|), by output dtype. */
export const COMPONENT_BOUND: Record<string, number> = { float32: 5e-5, float16: 1e-3 };
/**
 * End to end, per RGB channel value over the candidate's region (0-255). Measured (docs/parity.md):
 * fp32 packs at most 2, the SD-1.5-shaped pack 3; the fp16 pack 4 (its UNet's half-precision
 * outputs round differently, a few levels after the sampler); every mean below 0.006. Without the
 * fix: max 199-255, mean 33-66.
 */
export const IMAGE_MAX = { fp32: 4, fp16: 6 };
export const IMAGE_MEAN = 0.05;

interface Component {
  component: string;
  device: string;
  dtype: string;
  rel: number;
  finite: boolean;
  calls: number;
}
export interface ParityReport {
  cpu: { ranking: number[] };
  backends: Record<string, { device: string; components: Component[]; endToEnd: { max: number; mean: number; ranking: number[] } }>;
}

/** Fails (not skips) when the software driver is missing: CI must run the WebGPU EP for real. */
export async function buildRunner(dir: string): Promise<string> {
  const check = spawnSync(LAVAPIPE, ['--check'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`WebGPU on the software driver is not set up: ${check.stderr.trim()}`);
  const runner = join(dir, 'run-parity.js');
  await build({ entryPoints: [join(__dirname, 'run-parity.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node', 'onnxruntime-web'], outfile: runner, logLevel: 'error' });
  return runner;
}

export function runParity(runner: string, dir: string, name: string, pack: string, args: string[], backends = ['webgpu', 'wasm']): ParityReport {
  const out = join(dir, `${name}.json`);
  const r = spawnSync(LAVAPIPE, [runner, '--pack', pack, ...args, '--backends', backends.join(','), '--out', out], { encoding: 'utf8', env: PARITY_ENV, timeout: 10 * 60_000 });
  if (r.status !== 0) throw new Error(`run-parity ${name} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(readFileSync(out, 'utf8')) as ParityReport;
}

export function expectParity(report: ParityReport, components: string[], precision: 'fp32' | 'fp16' = 'fp32', backends = ['webgpu', 'wasm']): void {
  for (const backend of backends) {
    const b = report.backends[backend]!;
    expect(b.device).toBe(backend); // ran there: no silent fallback to the CPU
    expect(b.components.map((c) => c.component).sort()).toEqual([...components].sort());
    for (const c of b.components) {
      expect({ backend, component: c.component, device: c.device, finite: c.finite }).toEqual({ backend, component: c.component, device: backend, finite: true });
      if (!(c.rel <= COMPONENT_BOUND[c.dtype]!)) throw new Error(`${backend} ${c.component} (${c.dtype}): relative error ${c.rel} > ${COMPONENT_BOUND[c.dtype]}`);
    }
    expect({ backend, max: b.endToEnd.max <= IMAGE_MAX[precision], mean: b.endToEnd.mean <= IMAGE_MEAN, got: b.endToEnd }).toEqual({ backend, max: true, mean: true, got: b.endToEnd });
    // Same candidates in the same order: OUT-1 ... OUT-K do not depend on the backend.
    expect(b.endToEnd.ranking).toEqual(report.cpu.ranking);
  }
}

