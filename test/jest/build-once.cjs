// Builds the bundles once before the tests that start workers or the CLI (they run built JS).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

let built = false;
module.exports = async function () {
  if (built || process.env.BYTEEDIT_SKIP_BUILD === '1') return;
  built = true;
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'core', 'build.mjs')], { stdio: 'inherit' });
};
