/**
 * `byteedit edit` argument vectors: whatever a user types, parseEditArgs returns a complete
 * request or an invalid_argument SdkError with a message, never another exception. A few real
 * CLI runs check that a refused command line writes no file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { parseEditArgs } from '../../core/src/cli/args';
import { createImage, encodePng, SdkError } from '../../core/src/index';
import { fuzz } from './settings';

const BIN = resolve(__dirname, '..', '..', 'core', 'bin', 'byteedit.js');
const FLAGS = [
  'image', 'mask', 'prompt', 'negative-prompt', 'mode', 'expand', 'pack', 'steps', 'guidance', 'scheduler', 'strength', 'candidates', 'seed',
  'device', 'out', 'json', 'no-color-match', 'max-pixels', 'quiet', 'rank', 'no-rewards', 'engine', 'prefill', 'search', 'blend',
];
const value = fc.oneof(
  fc.constantFrom('', '-1', '0', '1', '1e9', '1e400', 'NaN', 'Infinity', '0x10', '3.5', '-0', '--', '-', 'edit', 'erase', 'outpaint', 'cpu', 'auto', 'a.png', 'out.jpg', 'OUT.PNG', '../a.png', '1,2,3,4', '1,2,3', '-1,0,0,0', 'x.txt'),
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.double().map(String),
);
const token = fc.oneof(
  fc.constantFrom(...FLAGS).map((f) => `--${f}`),
  fc.tuple(fc.constantFrom(...FLAGS), value).map(([f, v]) => `--${f}=${v}`),
  fc.constantFrom('-q', '-h', '--help', '-x', '--', '---image', '--IMAGE', '-image'),
  value,
);
const argv = fc.array(token, { maxLength: 14 });

describe('byteedit edit arguments under fuzzing', () => {
  it('parseEditArgs returns a complete request or throws invalid_argument with a message', async () => {
    await fuzz(
      'parseEditArgs',
      fc.property(argv, (args) => {
        try {
          const parsed = parseEditArgs(args);
          expect(typeof parsed.image).toBe('string');
          expect(parsed.out).toMatch(/\.(png|jpe?g)$/i);
          if (parsed.request.mode !== 'outpaint') expect(typeof parsed.mask).toBe('string');
          if (parsed.request.steps !== undefined) expect(Number.isInteger(parsed.request.steps) && parsed.request.steps > 0).toBe(true);
          if (parsed.request.seed !== undefined) expect(Number.isInteger(parsed.request.seed) && parsed.request.seed >= 0).toBe(true);
        } catch (err) {
          if (!(err instanceof SdkError)) throw new Error(`parseEditArgs threw ${String(err)} (not an SdkError)`);
          expect(err.code).toBe('invalid_argument');
          expect(err.message.length).toBeGreaterThan(0);
        }
      }),
      { runs: 3_000, ms: 4_000 },
    );
  });

  it('a refused command line (exit 2) writes no file', async () => {
    const png = encodePng(createImage(8, 8, new Uint8ClampedArray(8 * 8 * 4).fill(200)));
    // Only lines the parser refuses, so each run is a quick process start, not an engine run.
    const refused = argv
      .map((args) => [...args, '--image', 'in.png', '--mask', 'mask.png'])
      .filter((args) => {
        try {
          parseEditArgs(args);
          return false;
        } catch {
          return true;
        }
      });
    await fuzz(
      'refused writes nothing',
      fc.property(refused, (args) => {
        const dir = mkdtempSync(join(tmpdir(), 'byteedit-fuzz-cli-'));
        writeFileSync(join(dir, 'in.png'), png);
        writeFileSync(join(dir, 'mask.png'), png);
        const r = spawnSync(process.execPath, [BIN, 'edit', ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
        expect(r.status).toBe(2);
        expect(r.stderr.length).toBeGreaterThan(0);
        expect(readdirSync(dir).sort()).toEqual(['in.png', 'mask.png']);
      }),
      { runs: 12, ms: 8_000 },
    );
  });
});
