// Builds @byteedit/core with esbuild.
//   dist/node/index.js    CommonJS library for Node (onnxruntime-node stays external: native addon)
//   dist/node/cli.js      the `byteedit` command
//   dist/node/worker.js   worker_threads entry (comlink)
//   dist/node/bench.js    npm run bench
//   dist/browser/index.js ESM library for bundlers (onnxruntime-web external)
//   dist/browser/worker.js self-contained Web Worker (onnxruntime-web bundled; never onnxruntime-node)
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');

/** Browser bundles must never pull onnxruntime-node (or any Node builtin): fail the build if they try. */
const noNodeInBrowser = {
  name: 'no-node-in-browser',
  setup(b) {
    b.onResolve({ filter: /^(onnxruntime-node|node:.*|fs|path|worker_threads|child_process)$/ }, (args) => ({
      errors: [{ text: `${args.path} imported from ${args.importer}: browser bundles must not depend on Node modules` }],
    }));
  },
};

const common = { bundle: true, sourcemap: true, logLevel: 'warning', absWorkingDir: root, legalComments: 'none' };
// Host packages (the bridge behind `byteedit serve`) are loaded at run time, never bundled into core.
const nodeOpts = { ...common, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-node', '@byteedit/*'] };

const results = await Promise.all([
  build({ ...nodeOpts, entryPoints: { index: 'src/node.ts', cli: 'src/cli/main.ts', worker: 'src/worker/node-worker.ts', bench: 'src/bench/bench.ts' }, outdir: join(dist, 'node'), metafile: true }),
  build({ ...common, platform: 'browser', format: 'esm', target: 'es2022', entryPoints: { index: 'src/browser.ts' }, outdir: join(dist, 'browser'), external: ['onnxruntime-web'], plugins: [noNodeInBrowser], metafile: true }),
  build({ ...common, platform: 'browser', format: 'esm', target: 'es2022', entryPoints: { worker: 'src/worker/browser-worker.ts' }, outdir: join(dist, 'browser'), plugins: [noNodeInBrowser], metafile: true, minify: true }),
]);

mkdirSync(dist, { recursive: true });
writeFileSync(join(dist, 'meta-browser.json'), JSON.stringify({ index: results[1].metafile, worker: results[2].metafile }));
