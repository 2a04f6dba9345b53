/**
 * docs/hosts.md's table of request fields is generated from the protocol's table (REQUEST_FIELDS),
 * so the documented limits are the enforced ones. UPDATE_DOCS=1 rewrites the section.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIELD_NAMES, REQUEST_FIELDS, type FieldSpec } from '@byteedit/core';
import { REPO } from '../reference/cpu-reference';

const DOC = join(REPO, 'docs', 'hosts.md');
const START = /<!-- fields:start[^>]*-->\n/;
const END = '<!-- fields:end -->';

function values(s: FieldSpec): string {
  switch (s.kind) {
    case 'int':
      return `whole number ${s.min}–${s.max}`;
    case 'number':
      return `number ${s.exclusiveMin ? `above ${s.min}` : `${s.min}`} up to ${s.max}`;
    case 'text':
      return `text, ≤ ${s.maxLength} characters`;
    case 'enum':
      return s.values!.map((v) => `\`${v}\``).join(', ');
    case 'boolean':
      return 'true or false';
    case 'margins':
      return `{left, top, right, bottom}, each ${s.min}–${s.max} px`;
    case 'weights':
      return `{aesthetic, alignment, coherence}, each ${s.min}–${s.max}`;
  }
}

export function fieldsTable(): string {
  const rows = FIELD_NAMES.map((n) => {
    const s = REQUEST_FIELDS[n];
    const flag = s.kind === 'boolean' ? `--${s.cli}` : `--${s.cli} …`;
    const dflt = s.default === undefined ? '' : `\`${String(s.default)}\``;
    return `| \`${n}\` | \`${flag}\` | ${values(s)} | ${dflt} | ${s.modes.join(', ')} | ${s.doc.replace(/\|/g, '\\|')} |`;
  });
  return ['| field | CLI | values | default | modes | what it does |', '| --- | --- | --- | --- | --- | --- |', ...rows, ''].join('\n');
}

it('documents every request field with the limits the parser enforces', () => {
  const text = readFileSync(DOC, 'utf8');
  const m = START.exec(text);
  const end = text.indexOf(END);
  expect(m && end > m.index).toBeTruthy();
  const current = text.slice(m!.index + m![0].length, end);
  const want = fieldsTable();
  if (process.env.UPDATE_DOCS === '1' && current !== want) writeFileSync(DOC, text.slice(0, m!.index + m![0].length) + want + text.slice(end));
  else expect(current).toBe(want);
});
