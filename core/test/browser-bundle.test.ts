/** The browser bundles (built by jest's globalSetup) never contain onnxruntime-node or Node builtins. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './helpers';

interface Meta {
  inputs: Record<string, unknown>;
}

const meta = JSON.parse(readFileSync(join(REPO, 'core', 'dist', 'meta-browser.json'), 'utf8')) as { index: Meta; worker: Meta };

describe('browser bundles', () => {
  it('the Web Worker bundle includes onnxruntime-web and comlink but not onnxruntime-node', () => {
    const inputs = Object.keys(meta.worker.inputs);
    expect(inputs.some((i) => i.includes('node_modules/onnxruntime-web/'))).toBe(true);
    expect(inputs.some((i) => i.includes('node_modules/comlink/'))).toBe(true);
    expect(inputs.some((i) => i.includes('onnxruntime-node'))).toBe(false);
    expect(inputs.some((i) => i.includes('runtime/ort-node') || i.includes('node-pack-source') || i.includes('/cli/'))).toBe(false);
  });

  it('the library bundle has no onnxruntime at all (the page loads the worker)', () => {
    const inputs = Object.keys(meta.index.inputs);
    expect(inputs.some((i) => i.includes('onnxruntime'))).toBe(false);
    expect(readFileSync(join(REPO, 'core', 'dist', 'browser', 'worker.js'), 'utf8')).not.toMatch(/require\(["']onnxruntime-node["']\)/);
  });
});
