// Packages dist/ (run `npm run build` first) as an installable .ccx: a zip with manifest.json at
// its root. Writes ccx/byteedit-photoshop-<version>.ccx and prints its path and size.
// `--dist DIR --out DIR` package another build folder into another output folder.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';

const root = dirname(fileURLToPath(import.meta.url));
const flag = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? resolve(process.argv[i + 1]) : fallback;
};
const dist = flag('--dist', join(root, 'dist'));
if (!existsSync(join(dist, 'manifest.json'))) throw new Error('dist/manifest.json is missing: run "npm run build -w plugins/photoshop" first');
const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));

const files = {};
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    // Source maps and the build report stay out of the installable package.
    else if (!name.endsWith('.map') && name !== 'bundle-inputs.json') files[relative(dist, path).split(sep).join('/')] = new Uint8Array(readFileSync(path));
  }
})(dist);

const outDir = flag('--out', join(root, 'ccx'));
mkdirSync(outDir, { recursive: true });
const out = join(outDir, `byteedit-photoshop-${manifest.version}.ccx`);
// Fixed timestamps keep the package byte-identical between identical builds.
writeFileSync(out, zipSync(files, { level: 9, mtime: new Date('2026-01-01T00:00:00Z') }));
console.log(`${out} (${statSync(out).size} bytes, ${Object.keys(files).length} files)`);
