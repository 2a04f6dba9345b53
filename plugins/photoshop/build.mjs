// Builds the Photoshop UXP plug-in folder dist/: manifest.json (v5, from manifest.template.json
// with the bridge ports), index.html, panel.css, panel.js (esbuild bundle of src/panel.ts with
// core's PNG encoder; `photoshop` and `uxp` stay runtime requires) and the panel icons.
// BYTEEDIT_BRIDGE_PORTS=7860,7861 lists the loopback ports the panel may reach (default 7860).
// `node build.mjs --out DIR` writes elsewhere (the tests build into temporary folders).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from 'fast-png';

const root = dirname(fileURLToPath(import.meta.url));
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(root, 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'icons'), { recursive: true });

const ports = (process.env.BYTEEDIT_BRIDGE_PORTS ?? '7860').split(',').map((p) => Number(p.trim()));
if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new Error(`BYTEEDIT_BRIDGE_PORTS must list ports (1-65535), got "${process.env.BYTEEDIT_BRIDGE_PORTS}"`);
const manifest = JSON.parse(readFileSync(join(root, 'manifest.template.json'), 'utf8'));
// UXP needs each loopback origin spelled out with its port; no wildcards for localhost.
manifest.requiredPermissions.network.domains = ports.flatMap((p) => [`http://127.0.0.1:${p}`, `http://localhost:${p}`]);
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

for (const f of ['index.html', 'panel.css']) copyFileSync(join(root, 'static', f), join(out, f));

const result = await build({
  entryPoints: { panel: join(root, 'src', 'panel.ts') },
  outdir: out,
  absWorkingDir: root,
  bundle: true,
  platform: 'browser',
  format: 'iife',
  // UXP's V8 handles ES2020; keep the output conservative.
  target: 'es2020',
  external: ['photoshop', 'uxp'],
  sourcemap: 'linked',
  minify: process.env.BYTEEDIT_NO_MINIFY !== '1',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
});
const inputs = Object.keys(result.metafile.inputs);
const forbidden = inputs.filter((p) => /onnxruntime|node:|worker_threads/.test(p));
if (forbidden.length > 0) throw new Error(`the panel bundle must not contain the runtime or Node modules: ${forbidden.join(', ')}`);
writeFileSync(join(out, 'bundle-inputs.json'), `${JSON.stringify(inputs.sort(), null, 2)}\n`);

// Icons: a simple drawn mark (a brush-stroke diagonal on a rounded square), 1x and 2x.
function icon(size, fg, bg) {
  const data = new Uint8Array(size * size * 4);
  const r = size * 0.2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const cx = Math.min(x, size - 1 - x);
      const cy = Math.min(y, size - 1 - y);
      const outside = cx < r && cy < r && Math.hypot(r - cx, r - cy) > r;
      const stroke = Math.abs(x - (size - 1 - y)) < size * 0.12 && x > size * 0.2 && x < size * 0.8;
      const c = outside ? [0, 0, 0, 0] : stroke ? fg : bg;
      data.set(c, (y * size + x) * 4);
    }
  }
  return encode({ width: size, height: size, data, channels: 4, depth: 8 });
}
const pale = [240, 240, 240, 255];
const dark = [50, 50, 50, 255];
const accent = [80, 140, 255, 255];
for (const [name, fg, bg] of [['dark', accent, [0, 0, 0, 0]], ['light', accent, [0, 0, 0, 0]]]) {
  writeFileSync(join(out, 'icons', `${name}.png`), icon(23, fg, bg));
  writeFileSync(join(out, 'icons', `${name}@2x.png`), icon(46, fg, bg));
}
writeFileSync(join(out, 'icons', 'plugin.png'), icon(48, pale, dark));
writeFileSync(join(out, 'icons', 'plugin@2x.png'), icon(96, pale, dark));
