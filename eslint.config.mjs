// Lint rules that keep the architecture honest (style.md): core never depends on a host or on
// HTTP; only src/runtime/ort-*.ts import onnxruntime; shared core code uses no Node or DOM modules;
// no floating promises; no `any` in library code.
import tseslint from 'typescript-eslint';

// Bare builtin names go in `paths` (exact match); `patterns` are gitignore-style and would also
// match our own ../util/ folder.
const nodeBuiltinPaths = ['fs', 'path', 'os', 'http', 'https', 'net', 'child_process', 'worker_threads', 'url', 'util', 'stream', 'crypto', 'zlib'];
const nodeMsg = 'shared core code runs in browsers too: Node modules only in runtime/node-*, runtime/ort-node, worker/node-*, preferences/node-*, cli/, node.ts.';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'models/**', '.cache/**', 'coverage/**', '**/*.cjs', '**/*.mjs', '**/*.js', 'plugins/**/gimp/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: { parserOptions: { project: ['core/tsconfig.json', 'core/tsconfig.node.json', 'core/tsconfig.web.json', 'test/tsconfig.json', 'plugins/*/tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
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
  { files: ['**/test/**/*.ts'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
);
