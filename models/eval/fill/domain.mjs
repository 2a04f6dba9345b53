#!/usr/bin/env node
// The photo judgement (core/src/image/domain.ts) on the project's photo set and on clip art: the
// `flat` share per image and the verdict, as a table (docs/fill.md quotes it). Needs the core
// built (npm run build -w core), the photo set (/usr/bin/python3 models/photos/build.py) and
// Debian's openclipart-svg + librsvg2-bin (every 200th drawing, rendered 512 px wide on white).
//   node models/eval/fill/domain.mjs [--json]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const core = require(join(REPO, 'core', 'dist', 'node', 'index.js'));
const PHOTOS = join(REPO, 'models', 'photos', 'build');
const CLIPART = '/usr/share/openclipart/svg';

const rows = [];
const judge = (set, name, image, mask) => {
  const j = core.judgeDomain(image, mask);
  rows.push({ set, name, flat: Number(j.flat.toFixed(3)), domain: j.domain });
};
const load = (file) => core.decodeImage(new Uint8Array(readFileSync(file)));

if (!existsSync(PHOTOS)) throw new Error('no photo set: run /usr/bin/python3 models/photos/build.py first');
for (const f of readdirSync(PHOTOS).filter((f) => f.endsWith('.png') && !f.includes('_')).sort()) {
  const name = f.replace(/\.png$/, '');
  const image = load(join(PHOTOS, f));
  // Judged as the engine does: on the pixels the erase keeps (the object mask left out).
  judge('photo', name, image, core.maskFromImage(load(join(PHOTOS, `${name}_object.png`))));
}
const svgs = execFileSync('find', [CLIPART, '-name', '*.svg'], { encoding: 'utf8' }).trim().split('\n').sort();
const tmp = mkdtempSync(join(tmpdir(), 'byteedit-domain-'));
try {
  svgs.filter((_, i) => (i + 1) % 200 === 0).slice(0, 40).forEach((svg, i) => {
    const png = join(tmp, `${i}.png`);
    execFileSync('rsvg-convert', ['-w', '512', '-b', 'white', svg, '-o', png], { timeout: 20_000 });
    judge('clip art', svg.slice(CLIPART.length + 1), load(png));
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 1)}\n`);
else {
  for (const set of ['photo', 'clip art']) {
    const of = rows.filter((r) => r.set === set);
    const flats = of.map((r) => r.flat);
    const photos = of.filter((r) => r.domain === 'photo').length;
    process.stdout.write(`${set}: ${of.length} images, flat ${Math.min(...flats).toFixed(3)}-${Math.max(...flats).toFixed(3)}, judged photo ${photos}, illustration ${of.length - photos}\n`);
  }
  process.stdout.write(`rule: photo when flat < ${core.PHOTO_RULE.maxFlat}\n`);
}
