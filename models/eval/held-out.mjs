/**
 * What the pack evaluations share: the built core, and the held-out procedural cases written by
 * models/eval/byteedit-small/cases.py (image, mask, prompt, oracle truth), read back as core types.
 */
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
/** @byteedit/core as built by `npm run build` (core/dist/node). */
export const core = require(join(repo, 'core', 'dist', 'node', 'index.js'));

export const readPng = (p) => core.decodeImage(new Uint8Array(readFileSync(p)), { name: p });

/** A grey mask PNG (first channel) as a core Mask with its bounds. */
export function readMask(p) {
  const img = readPng(p);
  const data = new Uint8Array(img.width * img.height);
  for (let i = 0; i < data.length; i++) data[i] = img.data[i * 4];
  return core.withBounds(img.width, img.height, data);
}

/** Writes n held-out cases at 512² into casesDir and returns their list. */
export function makeCases(python, n, casesDir) {
  execFileSync(python, [join(repo, 'models', 'eval', 'byteedit-small', 'cases.py'), '--n', String(n), '--size', '512', '--out', casesDir], { stdio: 'inherit' });
  return JSON.parse(readFileSync(join(casesDir, 'cases.json'), 'utf8'));
}
