#!/usr/bin/env node
// `byteedit-bridge [--port 7860] [--pack DIR] ...`: the local bridge, the same as `byteedit serve`.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('byteedit-bridge: the bridge is not built yet; run `npm run build` in the repository root (npm ci does it).\n');
  process.exit(1);
}
require(cli).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`byteedit-bridge: ${err && err.message ? err.message : err}\n`); process.exitCode = 1; },
);
