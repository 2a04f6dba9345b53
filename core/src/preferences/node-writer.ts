/**
 * Writes preference records to a local folder (docs/preferences.md): PNGs under images/ named by
 * the SHA-256 of their bytes (written once, by temp file + fsync + rename), then one complete line
 * appended to preferences.jsonl under a lock file, so two processes never interleave lines and a
 * crash leaves at most an unterminated tail that readers skip. Nothing here talks to a network.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodeGrayPng, encodePng } from '../image/codecs';
import { SdkError } from '../util/errors';
import { acquireLock } from '../download/lock';
import {
  PREFERENCE_FILE,
  PREFERENCE_IMAGE_DIR,
  PREFERENCE_SCHEMA,
  checkPreferenceExample,
  formatPreferenceLine,
  parsePreferences,
  type ParsedPreferences,
  type PreferenceExample,
  type PreferenceRecord,
} from './format';

export interface PreferenceWriterOptions {
  /** How long to wait for another process's append (default 10 s). */
  lockWaitMs?: number;
}

function unwritable(dir: string, err: unknown): SdkError {
  const e = err as NodeJS.ErrnoException;
  return new SdkError(
    'output_unwritable',
    `cannot record preferences in ${dir} (${e.code ?? e.message}): choose a folder you can write to, or turn recording off`,
    { cause: err },
  );
}

export class PreferenceWriter {
  /** The recording folder (absolute). */
  readonly dir: string;
  /** Its preferences.jsonl. */
  readonly file: string;
  private readonly lockWaitMs: number;

  constructor(dir: string, options: PreferenceWriterOptions = {}) {
    if (typeof dir !== 'string' || dir.trim() === '') throw new SdkError('invalid_argument', 'the preferences folder must be a non-empty path, e.g. ~/byteedit-preferences');
    this.dir = resolve(dir);
    this.file = join(this.dir, PREFERENCE_FILE);
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
  }

  /** Validates, stores the pictures, appends the line; returns the record as written. */
  async write(example: PreferenceExample): Promise<PreferenceRecord> {
    checkPreferenceExample(example);
    try {
      await fs.mkdir(join(this.dir, PREFERENCE_IMAGE_DIR), { recursive: true, mode: 0o700 });
      const image = await this.store(encodePng(example.image));
      const mask = await this.store(encodeGrayPng(example.mask.width, example.mask.height, example.mask.data));
      const chosen = await this.store(encodePng(example.chosen));
      const rejected: string[] = [];
      for (const r of example.rejected) rejected.push(await this.store(encodePng(r)));
      const record: PreferenceRecord = {
        schema: PREFERENCE_SCHEMA,
        time: (example.time ?? new Date()).toISOString(),
        host: example.host,
        mode: example.mode,
        prompt: example.prompt ?? '',
        pack: { name: example.pack.name, version: example.pack.version },
        image,
        mask,
        chosen,
        rejected,
      };
      await this.append(formatPreferenceLine(record));
      return record;
    } catch (err) {
      if (err instanceof SdkError) throw err;
      throw unwritable(this.dir, err);
    }
  }

  /** Writes `png` as images/<sha256>.png unless it is there already; returns the relative path. */
  private async store(png: Uint8Array): Promise<string> {
    const rel = `${PREFERENCE_IMAGE_DIR}/${createHash('sha256').update(png).digest('hex')}.png`;
    const path = join(this.dir, rel);
    try {
      await fs.access(path);
      return rel;
    } catch {
      // Not there yet: write it.
    }
    // A private temp name in the same folder, so the rename is atomic; a crash leaves only *.tmp.
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(png);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // Two writers storing the same picture both rename identical bytes onto one name: harmless.
    await fs.rename(tmp, path);
    return rel;
  }

  /**
   * Appends one line under preferences.jsonl.lock. If the file does not end with "\n" (a writer
   * died mid-append), a "\n" first closes that torn line so ours starts on a line of its own.
   */
  private async append(line: string): Promise<void> {
    let lock;
    try {
      lock = await acquireLock(`${this.file}.lock`, { waitMs: this.lockWaitMs, staleMs: 10_000, pollMs: 20 });
    } catch (err) {
      if (!(err instanceof SdkError && err.code === 'pack_locked')) throw unwritable(this.dir, err);
      throw new SdkError('output_unwritable', `another process holds ${this.file}.lock for more than ${this.lockWaitMs / 1000} s; if no byteedit process is running, delete that file and try again`, { cause: err });
    }
    try {
      const fh = await fs.open(this.file, 'a+', 0o600);
      try {
        const { size } = await fh.stat();
        let prefix = '';
        if (size > 0) {
          const last = Buffer.alloc(1);
          await fh.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) prefix = '\n';
        }
        // One write call of the whole line: readers never see part of it as a complete line.
        const bytes = Buffer.from(prefix + line, 'utf8');
        let done = 0;
        while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done)).bytesWritten;
        await fh.sync();
      } finally {
        await fh.close();
      }
    } finally {
      await lock.release();
    }
  }
}

/** Reads a recording folder's preferences.jsonl (missing file: no records). */
export async function readPreferences(dir: string): Promise<ParsedPreferences> {
  let text: string;
  try {
    text = await fs.readFile(join(resolve(dir), PREFERENCE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: [] };
    throw unwritable(dir, err);
  }
  return parsePreferences(text);
}
