// Builds the Figma plug-in into dist/:
//   manifest.json
//   code.js        the sandbox (src/sandbox/code.ts; no DOM)
//   ui.html        one self-contained page: UI script inlined, core's Web Worker (onnxruntime-web
//                  bundled, built here as a classic IIFE worker) inlined as a string and started
//                  from a Blob URL; no CDN at run time
//   onnxruntime-web/  a pseudo-pack (pack.json + onnxruntime-web's .wasm) for `byteedit serve --pack`,
//                  until the bridge serves the runtime files itself (see README)
//   sizes.json     bundle sizes in bytes
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync as writeNow } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { manifest } from './manifest.mjs';

const root = dirname(fileURLToPath(import.meta.url));
// Each file is written beside its target and renamed into place: tests may build concurrently and
// must never read a half-written file.
const writeFileSync = (file, data) => {
  const tmp = `${file}.${process.pid}.tmp`;
  writeNow(tmp, data);
  renameSync(tmp, file);
};
const dist = join(root, 'dist');
const require = createRequire(join(root, '..', '..', 'core', 'package.json'));
const ORT_WASM = 'ort-wasm-simd-threaded.jsep.wasm';

const noNode = {
  name: 'no-node',
  setup(b) {
    b.onResolve({ filter: /^(onnxruntime-node|node:.*|fs|path|worker_threads|child_process)$/ }, (args) => ({
      errors: [{ text: `${args.path} imported from ${args.importer}: Figma bundles must not depend on Node modules` }],
    }));
  },
};
const common = { bundle: true, write: false, logLevel: 'warning', absWorkingDir: root, legalComments: 'none', minify: true, plugins: [noNode] };

const [worker, sandbox] = await Promise.all([
  // A classic (IIFE) worker: Chromium refuses module workers from Blob URLs in an opaque-origin
  // (sandboxed) iframe such as Figma's, while classic ones load (seen in test/ui-chromium.test.ts).
  build({ ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: [join(root, '..', '..', 'core', 'src', 'worker', 'browser-worker.ts')] }),
  build({ ...common, platform: 'neutral', format: 'iife', target: 'es2020', mainFields: ['module', 'main'], entryPoints: ['src/sandbox/code.ts'] }),
]);
const workerSource = worker.outputFiles[0].text;
const ui = await build({ ...common, platform: 'browser', format: 'iife', target: 'es2022', entryPoints: ['src/ui/main.ts'], define: { __WORKER_SOURCE__: JSON.stringify(workerSource) } });

// An inline <script> ends at the first "</script": escape it wherever it occurs in the bundle.
const uiJs = ui.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
const template = readFileSync(join(root, 'src', 'ui', 'ui.html'), 'utf8');
const html = template.replace('<!--BUNDLE-->', () => `<script>${uiJs}</script>`);

mkdirSync(join(dist, 'onnxruntime-web'), { recursive: true });
writeFileSync(join(dist, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
writeFileSync(join(dist, 'code.js'), sandbox.outputFiles[0].contents);
writeFileSync(join(dist, 'ui.html'), html);

const ortDist = join(dirname(require.resolve('onnxruntime-web')), ORT_WASM);
const ortVersion = JSON.parse(readFileSync(join(dirname(require.resolve('onnxruntime-web')), '..', 'package.json'), 'utf8')).version;
copyFileSync(ortDist, `${join(dist, 'onnxruntime-web', ORT_WASM)}.${process.pid}.tmp`);
renameSync(`${join(dist, 'onnxruntime-web', ORT_WASM)}.${process.pid}.tmp`, join(dist, 'onnxruntime-web', ORT_WASM));
writeFileSync(
  join(dist, 'onnxruntime-web', 'pack.json'),
  `${JSON.stringify({ schema: 'byteedit.runtime-files/1', name: 'onnxruntime-web', version: ortVersion, kind: 'runtime-files', description: 'onnxruntime-web WebAssembly for the Figma plug-in (not a model pack)', files: [ORT_WASM] }, null, 2)}\n`,
);

const size = (p) => statSync(join(dist, p)).size;
const gz = (p) => gzipSync(readFileSync(join(dist, p))).length;
const sizes = {
  'code.js': { bytes: size('code.js'), gzip: gz('code.js') },
  'ui.html': { bytes: size('ui.html'), gzip: gz('ui.html'), workerBytes: Buffer.byteLength(workerSource) },
  [`onnxruntime-web/${ORT_WASM}`]: { bytes: size(`onnxruntime-web/${ORT_WASM}`), gzip: gz(`onnxruntime-web/${ORT_WASM}`) },
};
writeFileSync(join(dist, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
for (const [k, v] of Object.entries(sizes)) console.log(`${k.padEnd(50)} ${(v.bytes / 1024).toFixed(1).padStart(9)} KiB  (gzip ${(v.gzip / 1024).toFixed(1)} KiB)`);
