#!/usr/bin/env node
// ONNX (through the core's Node runtime: onnxruntime-node, external data included) against the
// PyTorch reference outputs that models/tools/make_sd15_pack.py --reference writes.
//
//   node models/bench/check_reference.mjs --pack DIR --reference DIR [--device cpu] [--components unet,...]
//        [--tolerance 1e-3] [--json OUT.json]
//
// Per component: max |onnx - torch| / std(torch) ("relative error"), the correlation, output
// finiteness, session-creation and run time. Exits 1 when a component is over the tolerance or
// not finite. Needs core/dist (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const core = require(join(here, '..', '..', 'core', 'dist', 'node', 'index.js'));

const { values } = parseArgs({
  options: {
    pack: { type: 'string' },
    reference: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
    components: { type: 'string', default: 'text_encoder,unet,vae_encoder,vae_decoder' },
    tolerance: { type: 'string' },
    json: { type: 'string' },
  },
});
if (!values.pack || !values.reference) {
  process.stderr.write('usage: check_reference.mjs --pack DIR --reference DIR [--device cpu] [--components unet] [--tolerance 1e-3] [--json OUT]\n');
  process.exit(2);
}

// float16 tensors: the core's IEEE half conversions (the same ones its runtime uses)
const { toHalf, fromHalf } = core;

function readArray(dir, spec) {
  const buf = readFileSync(join(dir, spec.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  switch (spec.dtype) {
    case 'float32':
      return new Float32Array(ab);
    case 'int32':
      return new Int32Array(ab);
    case 'int64':
      return new BigInt64Array(ab);
    default:
      throw new Error(`unsupported dtype ${spec.dtype} in ${spec.file}`);
  }
}

function feedFor(info, data, dims) {
  if (data instanceof Float32Array) {
    if (info.type === 'float16') return { type: 'float16', dims, data: Uint16Array.from(data, toHalf) };
    return { type: 'float32', dims, data };
  }
  if (data instanceof BigInt64Array && info.type === 'int32') return { type: 'int32', dims, data: Int32Array.from(data, Number) };
  if (data instanceof Int32Array && info.type === 'int64') return { type: 'int64', dims, data: BigInt64Array.from(data, BigInt) };
  return { type: data instanceof BigInt64Array ? 'int64' : 'int32', dims, data };
}

const packDir = resolve(values.pack);
const refDir = resolve(values.reference);
const manifest = JSON.parse(readFileSync(join(packDir, 'pack.json'), 'utf8'));
const ref = JSON.parse(readFileSync(join(refDir, 'reference.json'), 'utf8'));
const runtime = new core.NodeOrtRuntime();
const rows = [];
let failed = false;
for (const name of values.components.split(',')) {
  const spec = ref[name];
  if (!spec) throw new Error(`reference.json has no ${name}`);
  const t0 = performance.now();
  const session = await runtime.createSession({ path: join(packDir, manifest.components[name].file) }, values.device);
  const loadMs = performance.now() - t0;
  const feeds = {};
  for (const [key, s] of Object.entries(spec.inputs)) {
    const info = session.inputs.find((i) => i.name === key);
    if (!info) throw new Error(`${name}: the ONNX model has no input ${key}`);
    feeds[key] = feedFor(info, readArray(refDir, s), s.dims);
  }
  const t1 = performance.now();
  const out = await session.run(feeds);
  const runMs = performance.now() - t1;
  const half = [...session.inputs, ...session.outputs].some((i) => i.type === 'float16');
  const tolerance = Number(values.tolerance ?? (half ? 5e-2 : 1e-3));
  for (const [key, s] of Object.entries(spec.outputs)) {
    const t = out[key];
    const got = t.type === 'float16' ? Float64Array.from(t.data, fromHalf) : t.data;
    const want = readArray(refDir, s);
    if (got.length !== want.length) throw new Error(`${name}.${key}: ${got.length} values, reference has ${want.length}`);
    let maxAbs = 0;
    let finite = true;
    let sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < got.length; i++) {
      const a = got[i];
      const b = want[i];
      if (!Number.isFinite(a)) finite = false;
      maxAbs = Math.max(maxAbs, Math.abs(a - b));
      sa += a; sb += b; sab += a * b; saa += a * a; sbb += b * b;
    }
    const n = got.length;
    const cov = sab / n - (sa / n) * (sb / n);
    const corr = cov / Math.sqrt((saa / n - (sa / n) ** 2) * (sbb / n - (sb / n) ** 2));
    const std = Math.sqrt(sbb / n - (sb / n) ** 2);
    const relErr = maxAbs / std;
    const ok = finite && relErr <= tolerance;
    if (!ok) failed = true;
    rows.push({ component: name, output: key, dims: t.dims, device: session.device, ioType: half ? 'float16' : 'float32', maxAbs, refStd: std, relErr, corr, finite, tolerance, ok, loadMs, runMs });
  }
  await session.release();
}
for (const r of rows) {
  process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.component}.${r.output} [${r.dims.join('x')}] on ${r.device}: max|onnx-torch| ${r.maxAbs.toExponential(2)} = ${r.relErr.toExponential(2)} x std (tolerance ${r.tolerance}), corr ${r.corr.toFixed(6)}; load ${(r.loadMs / 1000).toFixed(2)} s, run ${(r.runMs / 1000).toFixed(2)} s\n`);
}
if (values.json) writeFileSync(values.json, JSON.stringify({ pack: manifest.name, rows }, null, 2));
process.exitCode = failed ? 1 : 0;
