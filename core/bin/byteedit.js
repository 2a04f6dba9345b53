#!/usr/bin/env node
// The `byteedit` command. The CLI itself is built into dist/ by `npm ci` (root prepare script).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'node', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('byteedit: the CLI is not built yet; run `npm run build` in the repository root (npm ci does it).\n');
  process.exit(1);
}
require(cli).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`byteedit: ${err && err.message ? err.message : err}\n`); process.exitCode = 1; },
);
