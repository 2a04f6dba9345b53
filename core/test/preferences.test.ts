/**
 * Preference records (docs/preferences.md): the line format, the pictures a job makes, and the
 * Node writer on a real folder — dedup of pictures, a torn line after a crash, two processes
 * appending at once, a writer killed (SIGKILL) while writing, and inputs it refuses.
 */
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { decodeImage } from '../src/image/codecs';
import { createImage, type RgbaImage } from '../src/image/image';
import { rect, type CanvasSpace } from '../src/image/geometry';
import { composeCandidate } from '../src/engine/run';
import type { Candidate } from '../src/engine/types';
import { cropImage } from '../src/image/ops';
import { SdkError, type ErrorCode } from '../src/util/errors';
import { boxMask, gradientImage } from './helpers';
import {
  PREFERENCE_SCHEMA,
  choiceExamples,
  formatPreferenceLine,
  jobPictures,
  parsePreferenceLine,
  parsePreferences,
  preferenceCrop,
  type PreferenceExample,
  type PreferenceRecord,
} from '../src/preferences/format';
import { PreferenceWriter, readPreferences } from '../src/preferences/node-writer';

jest.setTimeout(60_000);

let work: string;
let runner: string;

beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'byteedit-prefs-'));
  runner = join(work, 'writer-runner.js');
  // The child is the real writer, bundled: argv = dir, tag, count, side. It prints "wrote N" per record.
  buildSync({
    stdin: {
      contents: `import { PreferenceWriter } from '../src/preferences/node-writer';
        import { createImage, createMask } from '../src/image/image';
        const [dir, tag, count, side] = process.argv.slice(2);
        const n = Number(side);
        const noise = (seed) => { const img = createImage(n, n); let s = seed >>> 0 || 1; for (let i = 0; i < img.data.length; i++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; img.data[i] = (i & 3) === 3 ? 255 : s & 255; } return img; };
        const mask = createMask(n, n, new Uint8Array(n * n).fill(255));
        const image = noise(1);
        (async () => {
          const w = new PreferenceWriter(dir, { lockWaitMs: 30000 });
          for (let i = 0; i < Number(count); i++) {
            await w.write({ host: 'cli', mode: 'edit', prompt: tag + ' ' + i, pack: { name: 'p', version: '1' }, image, mask, chosen: noise(1000 * (tag.length + 1) + 2 * i), rejected: [noise(7 + i)] });
            process.stdout.write('wrote ' + i + '\\n');
          }
        })().catch((e) => { process.stderr.write(String(e && e.message) + '\\n'); process.exit(1); });`,
      resolveDir: __dirname,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: runner,
    logLevel: 'error',
  });
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

function solid(w: number, h: number, rgba: [number, number, number, number]): RgbaImage {
  const img = createImage(w, h);
  for (let i = 0; i < w * h; i++) img.data.set(rgba, i * 4);
  return img;
}

function example(extra: Partial<PreferenceExample> = {}): PreferenceExample {
  return {
    host: 'gimp',
    mode: 'edit',
    prompt: 'a red ball',
    pack: { name: 'byteedit-small', version: '0.2.0' },
    image: gradientImage(32, 24),
    mask: boxMask(32, 24, 8, 6, 12, 10),
    chosen: solid(32, 24, [200, 20, 20, 255]),
    rejected: [solid(32, 24, [20, 200, 20, 255]), solid(32, 24, [20, 20, 200, 255])],
    time: new Date('2026-11-27T01:02:03.000Z'),
    ...extra,
  };
}

const isSdkError = (err: unknown, code: ErrorCode): boolean => err instanceof SdkError && err.code === code;

const newDir = (): Promise<string> => fs.mkdtemp(join(work, 'rec-'));

function record(extra: Partial<PreferenceRecord> = {}): PreferenceRecord {
  return {
    schema: PREFERENCE_SCHEMA,
    time: '2026-11-27T01:02:03.000Z',
    host: 'photoshop',
    mode: 'erase',
    prompt: '',
    pack: { name: 'byteedit-small', version: '0.2.0' },
    image: 'images/a.png',
    mask: 'images/b.png',
    chosen: 'images/c.png',
    rejected: ['images/d.png'],
    ...extra,
  };
}

describe('the line format', () => {
  it('round-trips a record as one line ending in a newline', () => {
    const line = formatPreferenceLine(record({ prompt: 'two\nlines' }));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(parsePreferenceLine(line.slice(0, -1))).toEqual(record({ prompt: 'two\nlines' }));
  });

  it('takes a third-party host under its own id', () => {
    const line = formatPreferenceLine(record({ host: 'krita-ai' }));
    expect(parsePreferenceLine(line.slice(0, -1)).host).toBe('krita-ai');
  });

  it.each([
    [{ schema: 'byteedit.preference/2' }, /schema must be "byteedit.preference\/1"/],
    [{ host: 'Krita 5' }, /host: a host id is lower-case letters, digits and dashes/],
    [{ mode: 'inpaint' }, /mode must be one of edit, erase, outpaint/],
    [{ image: '/etc/passwd.png' }, /image must be a relative \.png path/],
    [{ chosen: 'images/../../x.png' }, /chosen must be a relative \.png path/],
    [{ rejected: [] }, /rejected must be a non-empty array/],
    [{ time: 'yesterday' }, /time must be an ISO-8601/],
  ] as [Partial<PreferenceRecord>, RegExp][])('refuses %j', (bad, message) => {
    expect(() => formatPreferenceLine(record(bad))).toThrow(message);
  });

  it('skips a torn last line and unparseable lines, and says which', () => {
    const good = formatPreferenceLine(record());
    const text = good + '{"schema":"byteedit.pref\n' + good + good.slice(0, 40);
    const parsed = parsePreferences(text);
    expect(parsed.records).toHaveLength(2);
    expect(parsed.skipped.map((s) => s.line)).toEqual([2, 4]);
    expect(parsed.skipped[0]!.reason).toMatch(/not JSON/);
    expect(parsed.skipped[1]!.reason).toMatch(/unterminated last line/);
  });
});

describe('the pictures of a job', () => {
  const source = gradientImage(100, 80);
  const region = rect<CanvasSpace>(40, 30, 20, 16);
  const cand = (index: number, value: number): Candidate => ({
    index,
    seed: index,
    region,
    patch: solid(20, 16, [value, value, 0, 255]),
    mask: boxMask(20, 16, 2, 2, 16, 12) as unknown as Candidate['mask'],
  });
  const summary = { canvas: { width: 100, height: 80 }, sourceOffset: { x: 0, y: 0 } };

  it('pads the candidates region by half its longer side and clamps it to the canvas', () => {
    expect(preferenceCrop({ width: 100, height: 80 }, region)).toEqual(rect(24, 14, 52, 48));
    expect(preferenceCrop({ width: 100, height: 80 }, rect<CanvasSpace>(0, 70, 10, 10))).toEqual(rect(0, 54, 26, 26));
  });

  it('crops the source, places the masks and pastes each candidate at the same size', () => {
    const pics = jobPictures(source, summary, [cand(0, 10), cand(1, 250)]);
    const crop = pics.crop;
    expect(Buffer.from(pics.image.data)).toEqual(Buffer.from(cropImage(source, crop).data));
    for (const [i, c] of [cand(0, 10), cand(1, 250)].entries()) {
      const full = composeCandidate(source, summary, c);
      expect(Buffer.from(pics.candidates.get(i)!.data)).toEqual(Buffer.from(cropImage(full, crop).data));
    }
    expect(pics.mask.width).toBe(crop.width);
    expect(pics.mask.bounds).toEqual(rect(40 - crop.x + 2, 30 - crop.y + 2, 16, 12));
  });

  it('keeps the outpainted border transparent in the context image', () => {
    const outSummary = { canvas: { width: 120, height: 80 }, sourceOffset: { x: 20, y: 0 } };
    const c: Candidate = { ...cand(0, 99), region: rect<CanvasSpace>(0, 0, 20, 16) };
    const pics = jobPictures(source, outSummary, [c, { ...c, index: 1 }]);
    expect(pics.crop.x).toBe(0);
    expect(pics.image.data[3]).toBe(0); // canvas (0,0) is new area
    expect(pics.image.data[(0 * pics.crop.width + 25) * 4 + 3]).toBe(255); // source pixels
  });

  it('makes one example per applied candidate against every candidate not applied, best first', () => {
    const pics = jobPictures(source, summary, [cand(0, 10), cand(1, 100), cand(2, 250)]);
    const meta = { host: 'bridge' as const, mode: 'edit' as const, prompt: 'p', pack: { name: 'x', version: '1' } };
    const [one, ...more] = choiceExamples(pics, [1], [2, 0, 1], meta);
    expect(more).toHaveLength(0);
    expect(one!.chosen).toBe(pics.candidates.get(1));
    expect(one!.rejected).toEqual([pics.candidates.get(2), pics.candidates.get(0)]);
    expect(choiceExamples(pics, [0, 1, 2], [0, 1, 2], meta)).toEqual([]);
    expect(choiceExamples(pics, [0, 2], [0, 1, 2], meta).map((e) => e.rejected.length)).toEqual([1, 1]);
    expect(() => choiceExamples(pics, [5], [0, 1, 2], meta)).toThrow(/candidate 5 is not part of this job; its candidates are 0, 1, 2/);
  });
});

describe('PreferenceWriter', () => {
  it('writes the pictures once each, content-addressed, and one line per record', async () => {
    const dir = await newDir();
    const w = new PreferenceWriter(dir);
    const a = await w.write(example());
    const b = await w.write(example({ chosen: example().rejected[0]!, rejected: [example().chosen], host: 'figma' }));
    expect(a.image).toBe(b.image);
    expect(a.mask).toBe(b.mask);
    expect(b.chosen).toBe(a.rejected[0]);
    expect(a.image).toMatch(/^images\/[0-9a-f]{64}\.png$/);
    // image, mask, three candidate colours: five files for two records.
    expect((await fs.readdir(join(dir, 'images'))).sort()).toHaveLength(5);
    const lines = readFileSync(join(dir, 'preferences.jsonl'), 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0]!)).toEqual({
      schema: 'byteedit.preference/1',
      time: '2026-11-27T01:02:03.000Z',
      host: 'gimp',
      mode: 'edit',
      prompt: 'a red ball',
      pack: { name: 'byteedit-small', version: '0.2.0' },
      image: a.image,
      mask: a.mask,
      chosen: a.chosen,
      rejected: a.rejected,
    });
    const img = decodeImage(await fs.readFile(join(dir, a.image)));
    const mask = decodeImage(await fs.readFile(join(dir, a.mask)));
    const chosen = decodeImage(await fs.readFile(join(dir, a.chosen)));
    expect([img.width, img.height, mask.width, mask.height, chosen.width, chosen.height]).toEqual([32, 24, 32, 24, 32, 24]);
    expect(Buffer.from(img.data)).toEqual(Buffer.from(example().image.data));
    expect(mask.data[(10 * 32 + 10) * 4]).toBe(255);
    expect(mask.data[0]).toBe(0);
    expect((await readPreferences(dir)).records).toHaveLength(2);
    if (process.platform !== 'win32') expect((await fs.stat(join(dir, 'preferences.jsonl'))).mode & 0o077).toBe(0);
  });

  it('closes a line torn by a crash and leaves it to readers to skip', async () => {
    const dir = await newDir();
    const w = new PreferenceWriter(dir);
    await w.write(example());
    const file = join(dir, 'preferences.jsonl');
    const whole = readFileSync(file, 'utf8');
    // What a writer killed in the middle of its append leaves: half a line, no newline.
    await fs.appendFile(file, whole.slice(0, whole.length / 2));
    expect((await readPreferences(dir)).skipped).toEqual([{ line: 2, reason: expect.stringMatching(/unterminated/) }]);
    await w.write(example({ prompt: 'after the crash' }));
    const parsed = await readPreferences(dir);
    expect(parsed.records.map((r) => r.prompt)).toEqual(['a red ball', 'after the crash']);
    expect(parsed.skipped).toEqual([{ line: 2, reason: expect.stringMatching(/not JSON/) }]);
  });

  it('lets two processes append at once without interleaving lines', async () => {
    const dir = await newDir();
    const run = (tag: string): Promise<number | null> =>
      new Promise((resolve) => {
        const p = spawn(process.execPath, [runner, dir, tag, '40', '48'], { stdio: ['ignore', 'ignore', 'inherit'] });
        p.on('close', (code) => resolve(code));
      });
    expect(await Promise.all([run('alpha'), run('beta')])).toEqual([0, 0]);
    const text = readFileSync(join(dir, 'preferences.jsonl'), 'utf8');
    const parsed = parsePreferences(text);
    expect(parsed.skipped).toEqual([]);
    expect(parsed.records).toHaveLength(80);
    for (const tag of ['alpha', 'beta']) {
      expect(parsed.records.filter((r) => r.prompt.startsWith(tag)).map((r) => r.prompt)).toEqual(Array.from({ length: 40 }, (_, i) => `${tag} ${i}`));
    }
    // The shared context image was stored once.
    expect(new Set(parsed.records.map((r) => r.image)).size).toBe(1);
    for (const r of parsed.records) for (const p of [r.image, r.mask, r.chosen, ...r.rejected]) await fs.access(join(dir, p));
    expect(await fs.readdir(dir)).toEqual(expect.not.arrayContaining(['preferences.jsonl.lock']));
  });

  it('survives a writer killed at a random moment: every complete line points at whole pictures', async () => {
    const dir = await newDir();
    for (const delay of [5, 40, 90]) {
      const child = spawn(process.execPath, [runner, dir, `kill${delay}`, '1000', '160'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => {
        // Killed `delay` ms after its first record, wherever it is then (encoding, renaming, appending).
        child.stdout!.once('data', () => setTimeout(() => child.kill('SIGKILL'), delay));
        child.on('close', () => resolve());
      });
      const parsed = await readPreferences(dir);
      for (const r of parsed.records) {
        for (const p of [r.image, r.mask, r.chosen, ...r.rejected]) {
          const img = decodeImage(await fs.readFile(join(dir, p)));
          expect([img.width, img.height]).toEqual([160, 160]);
        }
      }
      // Only our own leftovers: temp files of a picture that never got renamed.
      for (const f of await fs.readdir(join(dir, 'images'))) expect(f).toMatch(/^[0-9a-f]{64}\.png(\.\d+\.[0-9a-f]+\.tmp)?$/);
    }
    // The killed writer's lock (if it held one) does not block the next writer: its process is gone.
    const before = (await readPreferences(dir)).records.length;
    expect(before).toBeGreaterThanOrEqual(3);
    await new PreferenceWriter(dir, { lockWaitMs: 5000 }).write(example());
    expect((await readPreferences(dir)).records).toHaveLength(before + 1);
  });

  it.each([
    [{ rejected: [] }, /at least one rejected candidate: with a single candidate there is no choice/],
    [{ chosen: solid(31, 24, [0, 0, 0, 255]) }, /chosen is 31x24 but image is 32x24/],
    [{ mask: boxMask(32, 24, 0, 0, 0, 0) }, /mask is empty/],
    [{ host: '../gimp' }, /preference host: a host id is lower-case letters/],
    [{ pack: { name: '', version: '1' } }, /pack must be \{name, version\}/],
  ] as [Partial<PreferenceExample>, RegExp][])('refuses a bad example (%#) with invalid_argument and writes nothing', async (bad, message) => {
    const dir = await newDir();
    const err = await new PreferenceWriter(dir).write(example(bad)).catch((e: unknown) => e);
    expect(isSdkError(err, 'invalid_argument')).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('says which folder it cannot write to and what to do', async () => {
    const dir = await newDir();
    const blocker = join(dir, 'a-file');
    await fs.writeFile(blocker, 'x');
    const err = await new PreferenceWriter(join(blocker, 'sub')).write(example()).catch((e: unknown) => e);
    expect(isSdkError(err, 'output_unwritable')).toBe(true);
    expect((err as Error).message).toMatch(/cannot record preferences in .*a-file\/sub \(ENOTDIR\): choose a folder you can write to/);
  });
});
