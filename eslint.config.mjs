// Lint rules that keep the architecture honest (style.md): core never depends on a host or on
// HTTP; only src/runtime/ort-*.ts import onnxruntime; shared core code uses no Node or DOM modules;
// no floating promises; no `any` in library code.
import tseslint from 'typescript-eslint';

// Bare builtin names go in `paths` (exact match); `patterns` are gitignore-style and would also
// match our own ../util/ folder.
const nodeBuiltinPaths = ['fs', 'path', 'os', 'http', 'https', 'net', 'child_process', 'worker_threads', 'url', 'util', 'stream', 'crypto', 'zlib'];
const nodeMsg = 'shared core code runs in browsers too: Node modules only in runtime/node-*, runtime/ort-node, worker/node-*, preferences/node-*, cli/, node.ts.';


// Layering inside core (architecture.md): each folder may import its own layer and those below,
// never above. 0 protocol, util · 1 image · 2 samplers, fill, packs, runtime, rewards, plan, host ·
// 3 engine · 4 worker, http, download, preferences, cli, bench and the entry files. Protocol sits
// at the very bottom: it imports nothing but image *type* declarations.
const LAYERS = [
  ['protocol', 'util'],
  ['image'],
  ['samplers', 'fill', 'packs', 'runtime', 'rewards', 'plan', 'host'],
  ['engine'],
  ['worker', 'http', 'download', 'preferences', 'cli', 'bench'],
];
const ENTRY_FILES = ['index', 'node', 'browser'];
const layerBlocks = LAYERS.slice(0, -1).flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return layer.map((dir) => ({
    files: [`core/src/${dir}/**/*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: [...above.map((d) => `../${d}/*`), ...ENTRY_FILES.map((f) => `../${f}`)], message: `core/src/${dir} is layer ${i}: it may not import from ${above.join(', ')} or an entry file (architecture.md, "layering").` },
          ...(dir === 'protocol' ? [{ group: ['../*', '!../image'], message: 'protocol is the bottom layer: it imports nothing from the rest of core.' }, { group: ['../image/*'], allowTypeImports: true, message: 'protocol may import image type declarations only.' }] : []),
        ],
      }],
    },
  }));
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'models/**', '.cache/**', 'coverage/**', '**/*.cjs', '**/*.mjs', '**/*.js', 'plugins/**/gimp/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: { parserOptions: { project: ['core/tsconfig.json', 'core/tsconfig.node.json', 'core/tsconfig.web.json', 'test/tsconfig.json', 'plugins/*/tsconfig.json', 'docs/examples/web-host/tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@byteedit/*', '**/plugins/**'], message: 'core must not depend on hosts or the bridge (hosts depend on core).' },
          { group: ['onnxruntime-node', 'onnxruntime-web'], message: 'only src/runtime/ort-node.ts and ort-web.ts import onnxruntime.' },
          { group: ['node:*'], message: nodeMsg },
        ],
        paths: nodeBuiltinPaths.map((name) => ({ name, message: nodeMsg })),
      }],
    },
  },
  {
    files: ['core/src/runtime/ort-node.ts', 'core/src/runtime/node-*.ts', 'core/src/worker/node-*.ts', 'core/src/preferences/node-*.ts', 'core/src/cli/**/*.ts', 'core/src/node.ts', 'core/src/bench/**/*.ts', 'core/src/download/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['@byteedit/*', '**/plugins/**'], message: 'core must not depend on hosts or the bridge.' },
          { group: ['onnxruntime-web'], message: 'Node code never loads onnxruntime-web.' },
          { group: ['onnxruntime-node'], message: 'only src/runtime/ort-node.ts imports onnxruntime-node.' },
        ],
      }],
    },
  },
  { files: ['core/src/runtime/ort-node.ts'], rules: { 'no-restricted-imports': 'off' } },
  {
    files: ['core/src/runtime/ort-web.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['onnxruntime-node', 'node:*'], message: 'browser runtime: no Node modules.' }],
        paths: nodeBuiltinPaths.map((name) => ({ name, message: 'browser runtime: no Node modules.' })),
      }],
    },
  },
  ...layerBlocks,
  { files: ['**/test/**/*.ts'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
  // Hosts use core only as a third party would (#18): through @byteedit/core's package entries
  // (core/package.json "exports"), never its sources (`@byteedit/core/src/...`) or a relative path
  // into core/. Self-contained: the only no-restricted-imports block for plugins/*/src.
  {
    files: ['plugins/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '^@byteedit/core/(?!(node|browser|http)$)', message: 'import core through its entries only: @byteedit/core, @byteedit/core/node, @byteedit/core/browser, @byteedit/core/http.' },
          { regex: '^(\\.\\./)+core(/|$)', message: 'no relative paths into core/: import @byteedit/core (or /node, /browser, /http).' },
        ],
      }],
    },
  },
);
