// onnxruntime-node WebGPU EP: a 9 -> 32 channel 3x3 Conv computed wrongly in the default NHWC layout.
// usage: node repro.mjs [cpu|webgpu|webgpu-nchw]     (npm install onnxruntime-node first)
import ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';

const here = new URL('.', import.meta.url);
const { input_dims, input, expected } = JSON.parse(readFileSync(new URL('conv9x32.json', here), 'utf8'));
const device = process.argv[2] ?? 'webgpu';
const ep = { cpu: 'cpu', webgpu: { name: 'webgpu' }, 'webgpu-nchw': { name: 'webgpu', preferredLayout: 'NCHW' } }[device];
const session = await ort.InferenceSession.create(new URL('conv9x32.onnx', here).pathname, { executionProviders: [ep], logSeverityLevel: 3 });
const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from(input), input_dims) });
let maxErr = 0, maxRef = 0;
for (let i = 0; i < expected.length; i++) {
  maxErr = Math.max(maxErr, Math.abs(y.data[i] - expected[i]));
  maxRef = Math.max(maxRef, Math.abs(expected[i]));
}
console.log(`${device}: max |actual - expected| = ${maxErr.toExponential(2)} (max |expected| = ${maxRef.toFixed(3)})`);
console.log(`first 4 expected ${expected.slice(0, 4).map((v) => v.toFixed(4)).join(' ')}`);
console.log(`first 4 actual   ${Array.from(y.data.slice(0, 4), (v) => v.toFixed(4)).join(' ')}`);
process.exitCode = maxErr > 1e-4 * Math.max(1, maxRef) ? 1 : 0;
