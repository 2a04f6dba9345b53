/**
 * The packs this bridge serves, by name. Clients name a pack; they never send a path, so the
 * network cannot make the engine open arbitrary files. Pack files are served read-only, confined
 * to the pack folder (symlinks resolved), for browser clients that run the models themselves.
 */
import { createReadStream, readFileSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { HttpError } from './errors';

export interface PackInfo {
  name: string;
  dir: string;
  manifest: Record<string, unknown>;
}

export function loadPack(dir: string): PackInfo {
  let abs: string;
  try {
    abs = realpathSync(resolve(dir));
  } catch {
    throw new Error(`pack folder ${resolve(dir)} does not exist; pass --pack a folder that holds a pack.json`);
  }
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(readFileSync(resolve(abs, 'pack.json'), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read ${resolve(abs, 'pack.json')}: ${(err as Error).message}; pass --pack a folder that holds a pack.json`);
  }
  const name = typeof manifest.name === 'string' ? manifest.name : basename(abs);
  return { name, dir: abs, manifest };
}

export function packWire(pack: PackInfo, isDefault: boolean): Record<string, unknown> {
  const m = pack.manifest;
  return {
    name: pack.name,
    version: m.version,
    kind: m.kind,
    family: m.family ?? 'diffusion',
    domains: m.domains ?? ['photo', 'illustration'],
    description: m.description,
    license: m.license,
    modes: m.modes,
    resolution: m.resolution,
    defaults: m.defaults,
    default: isDefault,
    manifestUrl: `/v1/packs/${encodeURIComponent(pack.name)}/files/pack.json`,
  };
}

export function servePackFile(req: IncomingMessage, res: ServerResponse, pack: PackInfo, relPath: string, headers: Record<string, string>): void {
  const notFound = (): HttpError => new HttpError(404, 'pack_file_missing', `pack "${pack.name}" has no file "${relPath}"; list its files in pack.json`);
  if (relPath === '' || relPath.includes('\0') || isAbsolute(relPath) || relPath.split(/[\\/]/).some((s) => s === '..' || s.startsWith('.'))) throw notFound();
  let file: string;
  try {
    file = realpathSync(resolve(pack.dir, relPath));
  } catch {
    throw notFound();
  }
  const rel = relative(pack.dir, file);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).some((s) => s === '..')) throw notFound();
  const stat = statSync(file);
  if (!stat.isFile()) throw notFound();
  const type = file.endsWith('.json') ? 'application/json' : file.endsWith('.txt') ? 'text/plain; charset=utf-8' : 'application/octet-stream';
  let start = 0;
  let end = stat.size - 1;
  let status = 200;
  const range = req.headers.range;
  // RFC 9110 §15.5.17: a 416 says how large the file is, so the client can ask again correctly.
  const unsatisfiable = { 'Content-Range': `bytes */${stat.size}` };
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (!m || (m[1] === '' && m[2] === '')) throw new HttpError(416, 'invalid_argument', `unsupported Range "${range}"; use bytes=START-END`, unsatisfiable);
    if (m[1] === '') start = Math.max(0, stat.size - Number(m[2]));
    else {
      start = Number(m[1]);
      if (m[2] !== '') end = Math.min(end, Number(m[2]));
    }
    if (start > end || start >= stat.size) throw new HttpError(416, 'invalid_argument', `Range "${range}" is outside the file (${stat.size} bytes)`, unsatisfiable);
    status = 206;
  }
  res.writeHead(status, {
    ...headers,
    'Content-Type': type,
    'Content-Length': end - start + 1,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'private, max-age=3600',
    ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end}/${stat.size}` } : {}),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file, { start, end }).pipe(res);
}
