/**
 * One file from the hub into `<file>.part`, resumed with HTTP Range from whatever is on disk.
 * Connection resets, 5xx/429, stalls (no byte for `idleMs`) and short bodies are retried with
 * exponential backoff; the retry budget resets whenever an attempt made progress. 404, 401/403 and
 * a full disk are not retried: they need the user.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { SdkError } from '../util/errors';
import { DownloadError, fsWriteError } from './errors';
import { get, type Env } from './http';

export interface TransferOptions {
  env: Env;
  ca?: string | Buffer;
  authorization?: string;
  authHost?: string;
  signal?: AbortSignal;
  timeoutMs: number;
  idleMs: number;
  retries: number;
  backoffMs: number;
  onBytes: (delta: number) => void;
  onSize: (size: number) => void;
  onRetry?: (why: string, attempt: number) => void;
}

export interface TransferResult {
  size: number;
  /** sha256 the hub announced for this file (X-Linked-Etag on its redirect), if any. */
  hubSha256: string | null;
}

class Retryable extends Error {}

const SHA_ETAG = /^"?(?:W\/)?"?([0-9a-f]{64})"?$/;

export function hubSha256(hops: readonly Record<string, string | string[] | undefined>[]): string | null {
  for (const h of hops) {
    const v = h['x-linked-etag'];
    const m = typeof v === 'string' ? SHA_ETAG.exec(v.trim()) : null;
    if (m) return m[1]!;
  }
  return null;
}

async function sizeOf(p: string): Promise<number> {
  try {
    return (await fs.stat(p)).size;
  } catch {
    return 0;
  }
}

function cancelled(signal?: AbortSignal): boolean {
  return signal?.aborted === true;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((res) => {
    const onAbort = (): void => {
      clearTimeout(t);
      res();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}${e.message && !e.message.includes(e.code) ? ` ${e.message}` : ''}` : e instanceof Error ? e.message : String(err);
}

const TLS_TRUST = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const NETWORK_DOWN = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN']);

export async function transfer(url: string, part: string, expectedSize: number | null, o: TransferOptions): Promise<TransferResult> {
  let failures = 0;
  let total = expectedSize;
  let hub: string | null = null;
  let lastWhy = '';
  for (;;) {
    if (cancelled(o.signal)) throw new SdkError('cancelled', 'download cancelled; run the same pull again to resume');
    let have = await sizeOf(part);
    if (total != null && have === total) return { size: have, hubSha256: hub };
    if (total != null && have > total) {
      o.onBytes(-have);
      await fs.rm(part, { force: true });
      have = 0;
    }
    const before = have;
    try {
      const res = await get(url, { env: o.env, ca: o.ca, authorization: o.authorization, authHost: o.authHost, signal: o.signal, timeoutMs: o.timeoutMs, headers: have > 0 ? { range: `bytes=${have}-` } : {} });
      hub ??= hubSha256(res.hops);
      const status = res.status;
      if (status === 416 && have > 0) {
        res.body.resume();
        const m = /\/(\d+)\s*$/.exec(String(res.headers['content-range'] ?? ''));
        if (m && Number(m[1]) === have) return { size: have, hubSha256: hub };
        // The remote file is shorter than our part: it changed upstream. Start over.
        o.onBytes(-have);
        await fs.rm(part, { force: true });
        throw new Retryable(`HTTP 416 for a ${have}-byte resume`);
      }
      if (status === 404) {
        res.body.resume();
        throw new DownloadError('http_not_found', `${url} was not found (HTTP 404): the catalog entry may be out of date, or HF_ENDPOINT points at the wrong server`);
      }
      if (status === 401 || status === 403) {
        res.body.resume();
        throw new DownloadError('http_auth', `${url} needs authorization (HTTP ${status}): accept the model's license on the hub and set HF_TOKEN to an access token`);
      }
      if (status >= 500 || status === 429 || status === 408) {
        res.body.resume();
        throw new Retryable(`HTTP ${status}`);
      }
      if (status !== 200 && status !== 206) {
        res.body.resume();
        throw new DownloadError('http_status', `${url} answered HTTP ${status}; expected 200 or 206`);
      }
      let append = false;
      if (status === 206) {
        const m = /bytes\s+(\d+)-(\d+)\/(\d+|\*)/.exec(String(res.headers['content-range'] ?? ''));
        if (m && Number(m[1]) === have) {
          append = true;
          if (m[3] !== '*') total = Number(m[3]);
        } else {
          res.body.destroy();
          o.onBytes(-have);
          await fs.rm(part, { force: true });
          throw new Retryable(`unexpected Content-Range ${String(res.headers['content-range'])}`);
        }
      } else {
        const len = Number(res.headers['content-length']);
        if (Number.isFinite(len) && res.headers['content-length'] !== undefined) total = len;
        if (have > 0) o.onBytes(-have); // the server ignored our range: the part restarts
        have = 0;
      }
      if (total != null) {
        if (expectedSize != null && total !== expectedSize) {
          res.body.destroy();
          throw new DownloadError('size_mismatch', `${url} is ${total} bytes but the catalog lists ${expectedSize}; the file changed upstream: update the catalog entry`);
        }
        o.onSize(total);
      }
      await writeBody(res.body, part, append, o);
      have = await sizeOf(part);
      if (total == null) return { size: have, hubSha256: hub };
      if (have === total) return { size: have, hubSha256: hub };
      throw new Retryable(`connection closed after ${have} of ${total} bytes`);
    } catch (err) {
      if (cancelled(o.signal)) throw new SdkError('cancelled', 'download cancelled; run the same pull again to resume', { cause: err });
      if (err instanceof SdkError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw fsWriteError(err, part);
      if (code === 'EACCES' || code === 'EROFS' || code === 'EISDIR') throw fsWriteError(err, part);
      if (code && (TLS_TRUST.has(code) || code.startsWith('ERR_TLS_CERT'))) {
        throw new DownloadError('network', `the TLS certificate of ${new URL(url).host} is not trusted (${code}); behind a TLS-inspecting proxy, set NODE_EXTRA_CA_CERTS to a PEM file with its CA`, { cause: err });
      }
      lastWhy = describe(err);
      const after = await sizeOf(part);
      failures = after > before ? 0 : failures + 1;
      // Nothing listening or no such host: a short grace for blips, not the full budget.
      const down = Boolean(code && NETWORK_DOWN.has(code));
      if (failures > (down ? Math.min(2, o.retries) : o.retries)) {
        const host = new URL(url).host;
        throw new DownloadError(
          'network',
          down
            ? `cannot reach ${host} (${lastWhy}): check the network connection, HTTPS_PROXY/NO_PROXY and HF_ENDPOINT; finished bytes are kept, run the pull again to resume`
            : `downloading ${url} failed ${failures} times in a row (last: ${lastWhy}); run the pull again to resume from the bytes already on disk`,
          { cause: err },
        );
      }
      o.onRetry?.(lastWhy, failures);
      const wait = failures === 0 ? o.backoffMs / 4 : o.backoffMs * 2 ** Math.min(failures - 1, 6);
      await sleep(wait * (0.75 + Math.random() * 0.5), o.signal);
    }
  }
}

async function writeBody(body: NodeJS.ReadableStream & { destroy(err?: Error): void }, part: string, append: boolean, o: TransferOptions): Promise<void> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(part, append ? 'a' : 'w');
  } catch (err) {
    body.destroy();
    throw fsWriteError(err, part);
  }
  let idle: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => body.destroy(Object.assign(new Error(`no data for ${o.idleMs} ms`), { code: 'ETIMEDOUT' })), o.idleMs);
  };
  try {
    arm();
    for await (const chunk of body as AsyncIterable<Buffer>) {
      arm();
      try {
        await fh.write(chunk);
      } catch (err) {
        body.destroy();
        throw fsWriteError(err, part);
      }
      o.onBytes(chunk.length);
    }
  } finally {
    clearTimeout(idle);
    await fh.close();
  }
}

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const fh = await fs.open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      if (signal?.aborted) throw new SdkError('cancelled', 'cancelled while checking sha256');
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}
