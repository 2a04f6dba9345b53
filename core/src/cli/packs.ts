/**
 * `byteedit packs list | pull NAME | verify NAME | rm NAME`: the pack catalog and the local cache.
 * Progress (one bar for the whole pack, with ETA) on stderr when it is a terminal. Errors are one
 * line `byteedit: error [code]: message`; exit 2 for bad input, 130 on Ctrl-C, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { SdkError, serializeError, type ErrorCode } from '../util/errors';
import { resolve } from 'node:path';
import { importPack, listPacks, pullPack, readMarker, removePack, resolveCacheDir, verifyPack, type PullEvent, type PullProgress } from '../download/index';
import { verifyError, verifyFolder } from '../download/verify';
import { ProgressBar } from './progress';

export const PACKS_USAGE = `usage: byteedit packs list [--json]
       byteedit packs pull NAME [--jobs N] [--no-onnx-check]
       byteedit packs verify NAME|FOLDER [--no-onnx-check] [--json]
       byteedit packs rm NAME
       byteedit packs import NAME FOLDER   (a pack you built, e.g. with models/recipes/, under a catalog name)
  common: [--cache-dir DIR]   (default: $BYTEEDIT_CACHE_DIR, else $XDG_CACHE_HOME/byteedit, else ~/.cache/byteedit)

  Packs come from the hub at $HF_ENDPOINT (default https://huggingface.co); HF_TOKEN is sent for
  gated models; HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured. An interrupted pull resumes.`;

const INPUT_ERRORS: ReadonlySet<ErrorCode> = new Set(['invalid_argument', 'pack_not_found', 'pack_file_missing']);

function bad(message: string): never {
  throw new SdkError('invalid_argument', `${message} (byteedit packs --help)`);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '';
  const t = Math.ceil(s);
  if (t < 90) return ` eta ${t}s`;
  if (t < 5400) return ` eta ${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return ` eta ${(s / 3600).toFixed(1)}h`;
}

/**
 * A byte-level bar: the shared ProgressBar counts steps, so it gets per-mille and the bytes, speed and
 * the byte-rate ETA go in the label (the bar's own elapsed-time ETA is off for pulls).
 */
export function pullBarArgs(p: PullProgress): [done: number, of: number, label: string] {
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const speed = p.bytesPerSecond > 0 ? ` ${formatBytes(p.bytesPerSecond)}/s` : '';
  const of = p.totalKnown ? formatBytes(p.total) : `${formatBytes(p.total)}+`;
  return [Math.round(frac * 1000), 1000, `${formatBytes(p.done)} of ${of}, files ${p.filesDone}/${p.filesTotal}${speed}${formatEta(p.etaSeconds)}`];
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || ref.startsWith('.');
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          'cache-dir': { type: 'string' },
          json: { type: 'boolean', default: false },
          jobs: { type: 'string' },
          'no-onnx-check': { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
      });
    } catch (err) {
      return bad(err instanceof Error ? err.message : String(err));
    }
  })();
  const [cmd, name, ...rest] = positionals;
  const importFrom = cmd === 'import' ? rest.shift() : undefined;
  const extra = rest;
  if (values.help || !cmd) {
    io.out(`${PACKS_USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (extra.length > 0) bad(`unexpected argument ${extra[0]}`);
  const cacheDir = values['cache-dir'];
  const onnx = !values['no-onnx-check'];
  const needName = (): string => name ?? bad(`byteedit packs ${cmd} needs a pack NAME (see byteedit packs list)`);

  switch (cmd) {
    case 'list': {
      if (name) bad(`byteedit packs list takes no NAME`);
      const packs = await listPacks({ cacheDir });
      if (values.json) {
        io.out(`${JSON.stringify({ cacheDir: resolveCacheDir(cacheDir), packs })}\n`);
        return 0;
      }
      io.out(`cache: ${resolveCacheDir(cacheDir)}\n`);
      for (const p of packs) {
        const size = p.status === 'ready' || p.status === 'partial' ? formatBytes(p.bytesOnDisk) : p.catalogBytes !== null ? formatBytes(p.catalogBytes) : 'size unknown';
        const flag = p.verifiedCatalog ? '' : '  (catalog entry unverified)';
        io.out(`${p.name.padEnd(24)} ${p.status.padEnd(11)} ${size.padEnd(12)} ${p.kind.padEnd(10)} ${p.license}${flag}\n`);
      }
      return 0;
    }
    case 'pull': {
      const n = needName();
      let jobs: number | undefined;
      if (values.jobs !== undefined) {
        jobs = Number(values.jobs);
        if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16) bad(`--jobs must be an integer from 1 to 16, got ${values.jobs}`);
      }
      const bar = new ProgressBar(process.stderr, { eta: false });
      const controller = new AbortController();
      const onSigint = (): void => controller.abort();
      process.once('SIGINT', onSigint);
      const onEvent = (e: PullEvent): void => {
        if (e.type === 'waiting') io.err(`byteedit: another byteedit process (pid ${e.pid}) is pulling ${n}; waiting for it\n`);
        if (e.type === 'checksum-retry') io.err(`byteedit: ${e.file} failed its sha256 check; downloading it again\n`);
        if (e.type === 'verifying') bar.done();
      };
      try {
        const r = await pullPack(n, { cacheDir, concurrency: jobs, onnxCheck: onnx, signal: controller.signal, onProgress: (p) => bar.update(...pullBarArgs(p)), onEvent });
        bar.done();
        if (r.alreadyPresent) io.out(`${n} is already downloaded: ${r.folder}\n`);
        else {
          io.out(`pulled ${n} into ${r.folder}\n`);
          for (const p of r.pinnedHere) io.out(`  pinned ${p.path} sha256 ${p.sha256} (${p.pinnedFrom === 'hub' ? "from the hub's etag" : 'computed at download'})\n`);
        }
        return 0;
      } finally {
        bar.done();
        process.removeListener('SIGINT', onSigint);
      }
    }
    case 'verify': {
      const n = needName();
      // A folder (your own export) is checked the same way, against its marker when it has one.
      const report = looksLikePath(n) ? await verifyFolder(resolve(n), (await readMarker(resolve(n)))?.files ?? null, { onnx }) : await verifyPack(n, { cacheDir, onnx });
      if (values.json) io.out(`${JSON.stringify(report)}\n`);
      if (!report.ok) throw verifyError(n, report);
      const sums = report.filesChecked > 0 ? `${report.filesChecked} files match their sha256` : 'no pinned checksums';
      if (!values.json) io.out(`${n}: ok (${sums}, ${report.modelsOpened} models opened and checked)\n`);
      return 0;
    }
    case 'rm': {
      const n = needName();
      const r = await removePack(n, { cacheDir });
      io.out(r.removed ? `removed ${n} (${formatBytes(r.bytes)})\n` : `${n} was not downloaded; nothing to remove\n`);
      return 0;
    }
    case 'import': {
      const n = needName();
      if (!importFrom) bad('byteedit packs import needs NAME and FOLDER');
      const r = await importPack(n, importFrom, { cacheDir, onnx });
      io.out(`imported ${importFrom} as ${n} into ${r.folder}\n`);
      return 0;
    }
    default:
      return bad(`unknown packs command "${cmd}"; expected list, pull, verify, rm or import`);
  }
}

/** Entry point for `byteedit packs ...` (argv after "packs"). Returns the exit status. */
export async function packsMain(argv: string[], io: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  try {
    return await run(argv, io);
  } catch (err) {
    const { code, message } = serializeError(err);
    io.err(`byteedit: error [${code}]: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (code === 'cancelled') return 130;
    return INPUT_ERRORS.has(code) ? 2 : 1;
  }
}
