/**
 * One rule, two languages: core's host preparation (core/src/host/prepare.ts, used by Photoshop
 * and Figma) and the GIMP plug-in's Python mirror (gimp/byteedit/prepare.py) evaluate the same
 * table of cases (host-prepare-cases.json), and each must give the table's answers: context
 * regions (edges, tiny selections, huge documents over the pixel budget, offset layers), outpaint
 * bands on every side, mask bounds, candidate offsets, hard layer masks and layer names
 * (long, unicode and odd prompts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_DIR } from './engines';
import { evaluateTs, type HostPrepareCases, type Results } from './host-prepare-eval';

const CASES = join(__dirname, 'host-prepare-cases.json');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const cases = JSON.parse(readFileSync(CASES, 'utf8')) as HostPrepareCases;
const kinds = Object.keys(cases).filter((k) => k !== '//') as (keyof HostPrepareCases)[];

function evaluatePython(): Results {
  const r = spawnSync(PYTHON, [join(__dirname, 'host_prepare_cases.py'), CASES, join(PACKAGE_DIR, 'gimp', 'byteedit')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Results;
}

const ts = evaluateTs(cases);
let py: Results;
beforeAll(() => {
  py = evaluatePython();
});

describe.each(kinds)('%s', (kind) => {
  const rows = cases[kind].map((c, i) => [c.name, i] as const);
  it.each(rows)('%s: TypeScript and Python give the table\'s answer', (_name, i) => {
    const expected = cases[kind][i]!.expected;
    expect(ts[kind][i]).toEqual(expected);
    expect(py[kind][i]).toEqual(expected);
  });
});

it('covers every case on both sides', () => {
  for (const kind of kinds) {
    expect(ts[kind]).toHaveLength(cases[kind].length);
    expect(py[kind]).toHaveLength(cases[kind].length);
  }
});
