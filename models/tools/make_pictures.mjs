#!/usr/bin/env node
// Regenerates the README pictures that come out of the byteedit CLI from the files in this
// checkout (the default pack's edit and the model-free erase) and records in docs/img/pictures.json
// what each was made with, so a picture cannot silently outlive its pack (test/pictures.test.ts).
//
//   npm run pictures                              # every picture below (builds the core first)
//   npm run pictures -- docs/img/before-after.png # only the ones named
//
// models/packs/byteedit-small/samples.png is written by the pack's own build (npm run train:pack),
// not from the pack; this checks that it is that build's file and records the version. Entries for
// other pictures in pictures.json (written by their own generators) are kept as they are.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACK_DIR = 'models/packs/byteedit-small';
const LIST = 'docs/img/pictures.json';
const PYTHON = '/usr/bin/python3';
const pack = JSON.parse(readFileSync(join(ROOT, PACK_DIR, 'pack.json'), 'utf8'));

/** A before | mask | after figure of one CLI run; `pack` is the pack directory or null (model-free). */
const FIGURES = {
  'docs/img/before-after.png': {
    pack: PACK_DIR,
    mask: 'docs/examples/mask.png',
    args: ['--prompt', 'a red heart', '--seed', '1'],
    caption: 'byteedit edit --prompt "a red heart" --seed 1',
    from: 'docs/examples/before.png and mask.png through the byteedit CLI on the default pack (CPU, seed 1; the README\'s first command with a fixed seed)',
  },
  'docs/img/erase-fill.png': {
    pack: null,
    mask: 'docs/examples/mask-sun.png',
    args: ['--mode', 'erase', '--engine', 'fill', '--seed', '1'],
    caption: 'byteedit edit --mode erase --engine fill --seed 1',
    from: 'docs/examples/before.png and mask-sun.png through the byteedit CLI with the model-free PatchMatch fill (--engine fill)',
  },
};
const SAMPLES = `${PACK_DIR}/samples.png`;

function figure(out, f, work) {
  const after = join(work, 'after.png');
  const cli = [join(ROOT, 'core/bin/byteedit.js'), 'edit', '--image', 'docs/examples/before.png', '--mask', f.mask, ...f.args, '--device', 'cpu', '--out', after, '--json'];
  if (f.pack) cli.push('--pack', f.pack);
  const env = { ...process.env };
  delete env.BYTEEDIT_DEFAULT_PACK;
  const run = JSON.parse(execFileSync(process.execPath, cli, { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  if (f.pack && (run.pack.name !== pack.name || run.pack.version !== pack.version)) {
    throw new Error(`${out}: the CLI ran ${run.pack.name} ${run.pack.version}, but ${PACK_DIR}/pack.json is ${pack.name} ${pack.version}`);
  }
  const made = f.pack ? `${run.pack.name} ${run.pack.version}, ${run.steps} steps, ${run.device.toUpperCase()}` : `model-free PatchMatch fill, ${run.device.toUpperCase()}`;
  execFileSync(PYTHON, ['models/tools/make_readme_figure.py', 'docs/examples/before.png', f.mask, after, out, `${f.caption} (${made})`], { cwd: ROOT, stdio: 'inherit' });
  process.stderr.write(`pictures: wrote ${out} (${made})\n`);
  return {
    pack: f.pack ? run.pack.name : null,
    version: f.pack ? run.pack.version : null,
    command: `npm run pictures -- ${out}`,
    from: f.from,
  };
}

/** samples.png is this pack's if its size is the one the pack's build recorded for it. */
function samples() {
  const info = JSON.parse(readFileSync(join(ROOT, PACK_DIR, 'build_info.json'), 'utf8'));
  const recorded = info.files_bytes?.['samples.png'];
  const size = statSync(join(ROOT, SAMPLES)).size;
  if (recorded !== size) throw new Error(`${SAMPLES} is ${size} bytes but the pack's build wrote ${recorded}: it is not this pack's; rebuild the pack with npm run train:pack`);
  return {
    pack: pack.name,
    version: pack.version,
    command: 'npm run train:pack',
    from: "the pack's own build (models/recipe/build_pack.py): PyTorch evaluation results of the trained weights, written with the pack",
  };
}

const all = [...Object.keys(FIGURES), SAMPLES];
const wanted = process.argv.slice(2);
for (const w of wanted) if (!all.includes(w)) throw new Error(`pictures: no generator here for ${w}; this script makes ${all.join(', ')} (see ${LIST} for the others)`);

function readList() {
  try {
    return JSON.parse(readFileSync(join(ROOT, LIST), 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return { pictures: {} };
    throw e;
  }
}

const work = mkdtempSync(join(tmpdir(), 'byteedit-pictures-'));
try {
  for (const out of wanted.length ? wanted : all) {
    const entry = out === SAMPLES ? samples() : figure(out, FIGURES[out], work);
    // Read just before writing: only this picture's entry changes; the others stay as written.
    const list = readList();
    list.pictures[out] = entry;
    writeFileSync(join(ROOT, LIST), `${JSON.stringify(list, null, 2)}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
