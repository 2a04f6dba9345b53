/**
 * How long the fuzz suite runs and with which seed. In CI every property has a fixed seed and a
 * small run count under a time cap, so the suite is reproducible and stays near 60 s in all.
 * `npm run fuzz` (BYTEEDIT_FUZZ=long) draws a fresh seed and many more runs. A failure prints the
 * seed and path; BYTEEDIT_FUZZ_SEED and BYTEEDIT_FUZZ_PATH replay exactly that case.
 */
import fc from 'fast-check';

const env = process.env;
export const LONG = env.BYTEEDIT_FUZZ === 'long';
/** One seed for the whole run: fixed in CI, fresh for `npm run fuzz`, or the one you replay. */
export const SEED = env.BYTEEDIT_FUZZ_SEED !== undefined ? Number(env.BYTEEDIT_FUZZ_SEED) : LONG ? Date.now() % 2 ** 31 : 17_2026;

export interface Budget {
  /** Runs in CI. */
  runs: number;
  /** Cap on the property's time in CI (ms); in long mode there is no cap. */
  ms: number;
}

function parameters<T>(budget: Budget): fc.Parameters<T> {
  const scaled = env.BYTEEDIT_FUZZ_RUNS !== undefined ? Number(env.BYTEEDIT_FUZZ_RUNS) : LONG ? budget.runs * 20 : budget.runs;
  return {
    seed: SEED,
    path: env.BYTEEDIT_FUZZ_PATH,
    numRuns: scaled,
    // An interrupted run is a passed run that stopped early: the cap bounds CI time, not coverage.
    interruptAfterTimeLimit: LONG || env.BYTEEDIT_FUZZ_RUNS !== undefined ? undefined : budget.ms,
    markInterruptAsFailure: false,
    endOnFailure: env.BYTEEDIT_FUZZ_SHRINK !== '1',
    includeErrorInReport: true,
  };
}

function replayHint<T>(name: string, details: fc.RunDetails<T>): string {
  const test = expect.getState().currentTestName ?? name;
  const file = (expect.getState().testPath ?? 'test/fuzz').replace(/^.*?(test\/fuzz\/)/, '$1');
  return `\nreplay (${name}): BYTEEDIT_FUZZ_SEED=${details.seed} BYTEEDIT_FUZZ_PATH=${details.counterexamplePath ?? ''} npx jest ${file} -t ${JSON.stringify(test)}`;
}

/** fc.check with the suite's seed and budget; a failure throws fast-check's report plus how to replay it. */
export async function fuzz<T>(name: string, property: fc.IAsyncProperty<T> | fc.IProperty<T>, budget: Budget): Promise<number> {
  const details = await fc.check(property as fc.IAsyncProperty<T>, parameters<T>(budget));
  if (details.failed) throw new Error(`${fc.defaultReportMessage(details) ?? 'property failed'}${replayHint(name, details)}`);
  return details.numRuns;
}

/** Byte-level mutations of a valid file: flips, overwrites, inserts, deletes and truncation. */
export function mutatedBytes(valid: Uint8Array, maxEdits = 6): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  return fc.array(edit, { minLength: 1, maxLength: maxEdits }).map((edits) => {
    let bytes = Array.from(valid);
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % bytes.length;
      if (e.kind === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << e.bit);
      else if (e.kind === 'set') bytes[at] = e.value;
      else if (e.kind === 'insert') bytes.splice(at, 0, ...e.bytes);
      else if (e.kind === 'delete') bytes.splice(at, e.count);
      else bytes = bytes.slice(0, at);
    }
    return Uint8Array.from(bytes);
  });
}
