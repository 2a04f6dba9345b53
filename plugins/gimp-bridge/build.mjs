// Builds the bridge with esbuild: dist/cli.js (`byteedit serve`, exports main) and dist/index.js
// (startServer for tests and other hosts) and dist/codec-worker.js (the server's image decode and
// PNG encode, off its event loop). @byteedit/core stays external: it owns the engine's worker entry.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: { cli: 'src/cli.ts', index: 'src/index.ts', 'codec-worker': 'src/codec-worker.ts' },
  outdir: join(root, 'dist'),
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
  external: ['@byteedit/core', 'onnxruntime-node'],
});
