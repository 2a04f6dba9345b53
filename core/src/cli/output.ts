/**
 * Where `byteedit edit` writes, and how: never over one of its inputs, and never a half-written
 * file under the final name (an unpredictable temporary, created exclusively, then renamed).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { SdkError } from '../util/errors';

/** OUT.png for one candidate, OUT-1.png ... OUT-K.png for several. */
export function outputPaths(out: string, k: number): string[] {
  if (k === 1) return [resolve(out)];
  const ext = extname(out);
  const stem = join(dirname(out), basename(out, ext));
  return Array.from({ length: k }, (_, i) => resolve(`${stem}-${i + 1}${ext}`));
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await fs.stat(path);
  } catch {
    return null;
  }
}

/** The path with symlinks resolved as far as it exists (a file not yet there keeps its name). */
async function realOrNull(path: string): Promise<string | null> {
  try {
    return await fs.realpath(path);
  } catch {
    try {
      return join(await fs.realpath(dirname(path)), basename(path));
    } catch {
      return null;
    }
  }
}

/**
 * Refuses (invalid_argument) when an output would replace an input: the same path after `..` and
 * symlinks are resolved, or the same file (device and inode: hard links, case-folding file
 * systems). Inputs that do not exist are left for the reader to report.
 */
export async function refuseOverwritingInputs(outputs: string[], inputs: { what: string; path: string }[]): Promise<void> {
  const known = await Promise.all(inputs.map(async (i) => ({ ...i, real: await realOrNull(resolve(i.path)), stat: await statOrNull(i.path) })));
  for (const out of outputs) {
    const real = await realOrNull(out);
    const stat = await statOrNull(out);
    for (const input of known) {
      if (!input.stat) continue;
      const sameFile = stat !== null && stat.dev === input.stat.dev && stat.ino === input.stat.ino;
      if (sameFile || (real !== null && real === input.real)) {
        throw new SdkError('invalid_argument', `the output ${out} is the ${input.what} file ${input.path}; byteedit never overwrites its input: choose another --out`);
      }
    }
  }
}

/**
 * Writes all files or none: each goes to a temporary with a random name in its target folder,
 * created exclusively (O_EXCL, so no existing file or symlink is followed), then all are renamed.
 * On failure the temporaries are removed and no final name has been touched by a partial write.
 */
export async function writeAll(files: { path: string; bytes: Uint8Array }[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = join(dirname(f.path), `.${basename(f.path)}.${randomBytes(8).toString('hex')}.partial`);
      const handle = await fs.open(tmp, 'wx');
      temps.push(tmp);
      try {
        await handle.writeFile(f.bytes);
      } finally {
        await handle.close();
      }
    }
    for (let i = 0; i < files.length; i++) await fs.rename(temps[i]!, files[i]!.path);
  } catch (err) {
    await Promise.all(temps.map((t) => fs.rm(t, { force: true })));
    throw new SdkError('output_unwritable', `cannot write ${files.map((f) => f.path).join(', ')} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check that the folder exists and is writable`);
  }
}
