#!/usr/bin/env node
// Writes the job request's field schemas into openapi.yaml from core's field table
// (requestSchemaProperties(), core/src/protocol/openapi.ts), between the BEGIN/END markers of
// components.schemas.JobRequest.properties. The transport fields (image, mask) stay hand-written
// above the block. Needs the core built (npm run build -w core).
//   node plugins/gimp-bridge/scripts/openapi.mjs           rewrite the block
//   node plugins/gimp-bridge/scripts/openapi.mjs --check   exit 1 when openapi.yaml is out of date
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const core = require('@byteedit/core');
const yaml = require('js-yaml');

const FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi.yaml');
const INDENT = '        ';
const BEGIN = `${INDENT}# BEGIN generated from core's REQUEST_FIELDS by scripts/openapi.mjs: change the table, then run it`;
const END = `${INDENT}# END generated`;

function render(text) {
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${FILE} has no "${BEGIN.trim()}" … "${END.trim()}" block under JobRequest.properties`);
  // One line per field, in flow style like the rest of the document.
  const lines = yaml
    .dump(core.requestSchemaProperties(), { flowLevel: 1, lineWidth: -1, noRefs: true })
    .trimEnd()
    .split('\n')
    .map((line) => INDENT + line);
  return `${text.slice(0, start)}${[BEGIN, ...lines].join('\n')}\n${text.slice(end)}`;
}

const current = readFileSync(FILE, 'utf8');
const next = render(current);
if (process.argv.includes('--check')) {
  if (next !== current) {
    process.stderr.write(`${FILE} is out of date with core's request fields: run node plugins/gimp-bridge/scripts/openapi.mjs\n`);
    process.exit(1);
  }
} else if (next !== current) {
  writeFileSync(FILE, next);
  process.stdout.write(`updated ${FILE}\n`);
}
