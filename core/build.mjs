// Builds @byteedit/core with esbuild.
//   dist/node/index.js    CommonJS library for Node (onnxruntime-node stays external: native addon)
//   dist/node/cli.js      the `byteedit` command
//   dist/node/worker.js   worker_threads entry (comlink)
//   dist/node/bench.js    npm run bench
//   dist/browser/index.js ESM library for bundlers (onnxruntime-web external)
//   dist/browser/worker.js self-contained Web Worker (onnxruntime-web bundled; never onnxruntime-node)
//   dist/neutral/index.js ESM, the runtime-neutral API (`.` outside Node: no DOM, no Node, no ORT)
//   dist/node/http.js, dist/neutral/http.js  the bridge's HTTP client (`./http`), CJS and ESM
//   dist/types/           .d.ts of every entry (`node build.mjs --types`: npm run build and npm pack;
//                         the jest setup builds without them, it runs the JS only; --types-only)
// package.json's "exports" names these files; test/packaging/install.test.ts installs the packed result.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

// The HTTP engine (src/http/index.ts) runs anywhere fetch does: a CJS copy for Node, ESM for the rest.
const neutralOpts = { ...common, platform: 'neutral', format: 'esm', target: 'es2022', mainFields: ['module', 'main'], plugins: [noNodeInBrowser] };
// Built once its sources exist (they arrive separately); the install test checks that every file
// package.json's "exports" names is in the package.
const http = existsSync(join(root, 'src', 'http', 'index.ts')) ? { http: 'src/http/index.ts' } : {};

// --types-only: the declarations alone, leaving the JS as built (test/packaging/install.test.ts,
// while other tests run the built JS).
if (!process.argv.includes('--types-only')) {
  const results = await Promise.all([
    build({ ...nodeOpts, entryPoints: { index: 'src/node.ts', cli: 'src/cli/main.ts', worker: 'src/worker/node-worker.ts', bench: 'src/bench/bench.ts', ...http }, outdir: join(dist, 'node'), metafile: true }),
    build({ ...common, platform: 'browser', format: 'esm', target: 'es2022', entryPoints: { index: 'src/browser.ts' }, outdir: join(dist, 'browser'), external: ['onnxruntime-web'], plugins: [noNodeInBrowser], metafile: true }),
    build({ ...common, platform: 'browser', format: 'esm', target: 'es2022', entryPoints: { worker: 'src/worker/browser-worker.ts' }, outdir: join(dist, 'browser'), plugins: [noNodeInBrowser], metafile: true, minify: true }),
    build({ ...neutralOpts, entryPoints: { index: 'src/index.ts', ...http }, outdir: join(dist, 'neutral') }),
  ]);

  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'meta-browser.json'), JSON.stringify({ index: results[1].metafile, worker: results[2].metafile }));
}

/**
 * Declarations of every entry into dist/types (tsconfig.types.json), written to a fresh folder
 * and swapped in, so a reader never sees half a tree. The browser entry's declarations must not
 * need Node's types: checked here, on everything browser.d.ts reaches.
 */
if (process.argv.includes('--types') || process.argv.includes('--types-only')) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const tmp = join(dist, `types.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.types.json'), '--outDir', tmp], { stdio: 'inherit', cwd: root });
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    if (/<reference types="node"|from '(node:|fs'|path'|worker_threads')/.test(text)) throw new Error(`${file}: the browser entry's declarations reach Node types`);
    for (const [, spec] of text.matchAll(/(?:from|import\() ?'(\.[^']+)'/g)) {
      const base = join(dirname(file), spec);
      const next = [`${base}.d.ts`, join(base, 'index.d.ts')].find((f) => existsSync(f));
      if (!next) throw new Error(`${file}: ${spec} has no declaration file`);
      visit(next);
    }
  };
  visit(join(tmp, 'browser.d.ts'));
  const old = join(dist, `types.${process.pid}.old`);
  if (existsSync(join(dist, 'types'))) renameSync(join(dist, 'types'), old);
  renameSync(tmp, join(dist, 'types'));
  rmSync(old, { recursive: true, force: true });
  for (const entry of ['index', 'node', 'browser', ...(http.http ? ['http/index'] : [])]) {
    if (!existsSync(join(dist, 'types', `${entry}.d.ts`))) throw new Error(`dist/types/${entry}.d.ts was not emitted`);
  }
}
