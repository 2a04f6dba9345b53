/**
 * One process at a time per pack. The lock is a file created with O_EXCL holding {pid, host};
 * its holder refreshes the file's mtime every few seconds. A lock is stale when its process is gone
 * (same host) or its mtime has not moved for `staleMs` (another host sharing the cache, or a hang);
 * a stale lock is taken over, so a killed pull never blocks the next one.
 */
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { SdkError } from '../util/errors';
import { DownloadError } from './errors';

export interface LockOptions {
  /** Give up waiting after this long (default: wait as long as the holder is alive). */
  waitMs?: number;
  staleMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once when we start waiting for another live process. */
  onWait?: (holder: { pid: number; host: string }) => void;
}

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function holderOf(path: string): Promise<{ pid: number; host: string; mtimeMs: number } | null> {
  try {
    const [text, st] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
    const j = JSON.parse(text) as { pid?: unknown; host?: unknown };
    return { pid: Number(j.pid), host: String(j.host), mtimeMs: st.mtimeMs };
  } catch {
    // Missing, or caught between create and write: report as unknown, age from mtime if any.
    try {
      return { pid: NaN, host: '', mtimeMs: (await fs.stat(path)).mtimeMs };
    } catch {
      return null;
    }
  }
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((res, rej) => {
    if (signal?.aborted) return rej(new SdkError('cancelled', 'cancelled'));
    const onAbort = (): void => {
      clearTimeout(t);
      rej(new SdkError('cancelled', 'cancelled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const staleMs = opts.staleMs ?? 60_000;
  const pollMs = opts.pollMs ?? 250;
  const started = Date.now();
  const me = { pid: process.pid, host: hostname() };
  let waited = false;
  await fs.mkdir(dirname(path), { recursive: true });
  for (;;) {
    try {
      const fh = await fs.open(path, 'wx');
      await fh.writeFile(JSON.stringify({ ...me, since: new Date().toISOString() }));
      await fh.close();
      const beat = setInterval(() => {
        const now = new Date();
        fs.utimes(path, now, now).catch(() => undefined);
      }, Math.max(50, Math.floor(staleMs / 4)));
      beat.unref();
      return {
        async release() {
          clearInterval(beat);
          const h = await holderOf(path);
          if (h && h.pid === me.pid && h.host === me.host) await fs.rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const h = await holderOf(path);
    if (!h) continue; // released between our open and read
    const sameHostDead = h.host === me.host && Number.isFinite(h.pid) && !alive(h.pid);
    const silent = Date.now() - h.mtimeMs > staleMs;
    if (sameHostDead || silent) {
      // Take over by renaming: of two processes that both see it stale, only one rename succeeds.
      const grave = `${path}.stale-${me.pid}-${Date.now()}`;
      try {
        await fs.rename(path, grave);
        const taken = await holderOf(grave);
        // Between our read and the rename another process may have replaced the stale lock with
        // its own live one: put that back (link fails if yet another lock appeared meanwhile).
        if (taken && (taken.pid !== h.pid || taken.host !== h.host) && Number.isFinite(taken.pid) && alive(taken.pid)) {
          await fs.link(grave, path).catch(() => undefined);
        }
        await fs.rm(grave, { force: true });
      } catch {
        /* someone else took it over first */
      }
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.({ pid: h.pid, host: h.host });
    }
    if (opts.waitMs !== undefined && Date.now() - started > opts.waitMs) {
      throw new DownloadError('locked', `another byteedit process (pid ${h.pid} on ${h.host}) is working on this pack (lock ${path}); wait for it to finish, or delete the lock file if that process is gone`);
    }
    await sleep(pollMs, opts.signal);
  }
}
