/**
 * The bridge server: node:http on loopback, in front of one EngineApi (by default the core's
 * worker-thread engine, FIFO, one job at a time per device). Routes, security checks, job
 * submission, SSE and results. See openapi.yaml for the contract.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CodecPool } from './codec-pool';
import { createWorkerEngine, defaultPackPath, type Capabilities, type DeviceName, type EngineApi } from './core';
import { bridgeFilePath, configDir, removeBridgeFile, writeBridgeFile } from './config-file';
import { buildEditRequest } from './decode-input';
import { HttpError, toHttpError } from './errors';
import { readBody, sendError, sendJson } from './http-util';
import { parseJsonBody, parseMultipartBody } from './job-request';
import { JobStore, isTerminal, jobWire, type JobRecord, type WireEvent } from './job-store';
import { sendResult } from './results';
import { loadPack, packWire, servePackFile, type PackInfo } from './packs';
import { PREFERENCES_OFF_HELP, PreferenceRecorder } from './preferences';
import { allowedHostValues, checkHost, checkToken, corsHeaders, hasToken, preflightHeaders } from './security';

export interface ServerOptions {
  /** TCP port; 0 picks a free one. Default 7860. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1; anything else is the caller's explicit choice. */
  host?: string;
  /** The engine to serve; default: the core's worker engine on `device`. Owned (disposed) only when created here. */
  engine?: EngineApi;
  device?: DeviceName;
  /** Pack folders; the first is the default. Clients refer to packs by name. Default: the core's default pack. */
  packs?: string[];
  /** Bearer token; default: 32 random bytes, base64url. */
  token?: string;
  /** Where bridge.json goes; default: the per-user config dir. */
  configDir?: string;
  /** Write bridge.json (default true). */
  writeBridgeFile?: boolean;
  /** Origins allowed by CORS in addition to "null" (Figma's plug-in iframe). */
  allowOrigins?: string[];
  /** Host names accepted in the Host header besides the loopback names. */
  allowHosts?: string[];
  maxBodyBytes?: number;
  maxPixels?: number;
  /** Queued plus running jobs; more are refused with 429. A slot is taken only once a body is complete and valid. */
  maxActiveJobs?: number;
  /** A request body must have arrived this long after its headers; else 408 body_timeout. */
  bodyTimeoutMs?: number;
  /** Job bodies being received at once; more are refused with 503 too_many_uploads. */
  maxUploads?: number;
  /** Worker threads that decode uploads and encode results (PNG), off the event loop. Default 2. */
  codecWorkers?: number;
  resultTtlMs?: number;
  maxResultBytes?: number;
  maxFinishedJobs?: number;
  heartbeatMs?: number;
  /** Open SSE streams at most; more are refused with 503. */
  maxStreams?: number;
  /** How long close() waits for a running job before cancelling it. */
  drainTimeoutMs?: number;
  /**
   * Folder for preference records (docs/preferences.md): which candidate a user applied. Off
   * (undefined) by default; then the choice endpoints answer 409 preferences_off.
   */
  recordPreferences?: string;
  log?: (line: string) => void;
}

export interface CloseOptions {
  /** drain: let the running job finish (up to drainTimeoutMs); cancel: cancel it now. Queued jobs are always cancelled. */
  mode?: 'drain' | 'cancel';
}

export interface BridgeServer {
  url: string;
  port: number;
  host: string;
  token: string;
  bridgeFile: string | null;
  packs: string[];
  /** The preferences.jsonl this bridge appends to, or null when it does not record. */
  preferencesFile: string | null;
  stats(): { jobs: number; active: number; bytes: number };
  close(options?: CloseOptions): Promise<void>;
}

export const DEFAULTS = {
  port: 7860,
  host: '127.0.0.1',
  maxBodyBytes: 96 * 1024 * 1024,
  // 16 MP: the plug-ins send the context region around a selection, not whole documents.
  maxPixels: 16_777_216,
  maxActiveJobs: 16,
  bodyTimeoutMs: 30_000,
  maxUploads: 8,
  codecWorkers: 2,
  resultTtlMs: 15 * 60_000,
  maxResultBytes: 512 * 1024 * 1024,
  maxFinishedJobs: 200,
  heartbeatMs: 15_000,
  maxStreams: 256,
  drainTimeoutMs: 30_000,
};

/** The HTTP API's major version (the /v1/ prefix); health says it so clients can check before they call. */
const API_VERSION = 1;

interface Route {
  method: string;
  pattern: RegExp;
  auth: boolean;
  handler: (req: IncomingMessage, res: ServerResponse, match: RegExpExecArray, url: URL, cors: Record<string, string>) => Promise<void> | void;
}

export async function startServer(options: ServerOptions = {}): Promise<BridgeServer> {
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  const log = options.log ?? (() => undefined);
  const token = options.token ?? randomBytes(32).toString('base64url');
  const packDirs = options.packs && options.packs.length > 0 ? options.packs : [defaultPackPath()];
  const packs: PackInfo[] = packDirs.map(loadPack);
  const packByName = new Map(packs.map((p) => [p.name, p]));
  const allowedOrigins = new Set(['null', ...(options.allowOrigins ?? [])]);
  const ownsEngine = !options.engine;
  // An erase pack served here (--pack FOLDER of family inpaint) is the one routing uses; else the installed one.
  const erasePack = packs.find((p) => p.manifest.family === 'inpaint');
  const engine = options.engine ?? (await createWorkerEngine({ pack: packs[0]?.dir, device: options.device, ...(erasePack ? { inpaintPack: erasePack.dir } : {}) }));
  const capabilities: Capabilities = await engine.capabilities();
  const codecs = new CodecPool(o.codecWorkers);
  const store = new JobStore({ ttlMs: o.resultTtlMs, maxBytes: o.maxResultBytes, maxFinished: o.maxFinishedJobs });
  const dir = options.configDir ?? configDir();
  const recorder = options.recordPreferences ? new PreferenceRecorder(options.recordPreferences) : null;
  const bridgeFile = options.writeBridgeFile === false ? null : bridgeFilePath(dir);

  /** Jobs between the queue check and their record (submit is async). */
  let reserved = 0;
  /** Job bodies being received now. */
  let uploading = 0;
  let closing = false;
  const sockets = new Set<Socket>();
  const streams = new Set<ServerResponse>();

  let port = 0;
  let allowedHosts = new Set<string>();
  const host = o.host;

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/v1\/health$/, auth: false, handler: health },
    { method: 'GET', pattern: /^\/v1\/packs$/, auth: true, handler: listPacks },
    { method: 'GET', pattern: /^\/v1\/packs\/([^/]+)\/files\/(.+)$/, auth: true, handler: packFile },
    { method: 'HEAD', pattern: /^\/v1\/packs\/([^/]+)\/files\/(.+)$/, auth: true, handler: packFile },
    { method: 'POST', pattern: /^\/v1\/jobs$/, auth: true, handler: submit },
    { method: 'GET', pattern: /^\/v1\/jobs$/, auth: true, handler: listJobs },
    { method: 'GET', pattern: /^\/v1\/jobs\/([\w-]+)$/, auth: true, handler: getJob },
    { method: 'DELETE', pattern: /^\/v1\/jobs\/([\w-]+)$/, auth: true, handler: cancelJob },
    { method: 'GET', pattern: /^\/v1\/jobs\/([\w-]+)\/events$/, auth: true, handler: events },
    { method: 'GET', pattern: /^\/v1\/jobs\/([\w-]+)\/results\/(\d+)$/, auth: true, handler: result },
    { method: 'POST', pattern: /^\/v1\/jobs\/([\w-]+)\/choice$/, auth: true, handler: choice },
    { method: 'POST', pattern: /^\/v1\/preferences$/, auth: true, handler: uploadPreference },
  ];

  function health(req: IncomingMessage, res: ServerResponse, _m: RegExpExecArray, _u: URL, cors: Record<string, string>): void {
    const basics = { status: closing ? 'shutting_down' : 'ok', service: 'byteedit-bridge', version: capabilities.version, apiVersion: API_VERSION };
    // Without the token: enough to find the bridge, nothing about the machine or what the user is doing.
    if (!hasToken(req, token)) {
      sendJson(res, 200, { ...basics, authenticated: false }, cors);
      return;
    }
    sendJson(
      res,
      200,
      {
        ...basics,
        authenticated: true,
        devices: capabilities.devices,
        deviceChoice: capabilities.deviceChoice,
        modes: capabilities.modes,
        packs: packs.map((p) => p.name),
        queue: { active: store.active().length + reserved, max: o.maxActiveJobs },
        uploads: { active: uploading, max: o.maxUploads },
        limits: { maxBodyBytes: o.maxBodyBytes, maxPixels: o.maxPixels, bodyTimeoutMs: o.bodyTimeoutMs },
        preferences: recorder !== null,
      },
      cors,
    );
  }

  function listPacks(_req: IncomingMessage, res: ServerResponse, _m: RegExpExecArray, _u: URL, cors: Record<string, string>): void {
    sendJson(res, 200, { packs: packs.map((p, i) => packWire(p, i === 0)) }, cors);
  }

  function packFile(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, _u: URL, cors: Record<string, string>): void {
    const name = decodePathPart(m[1]!, 'pack name');
    const pack = packByName.get(name);
    if (!pack) throw unknownPack(name);
    servePackFile(req, res, pack, decodePathPart(m[2]!, 'file path'), cors);
  }

  function unknownPack(name: string): HttpError {
    return new HttpError(404, 'pack_not_found', `no pack named "${name}" on this bridge; known packs: ${packs.map((p) => p.name).join(', ') || '(none: start the bridge with --pack DIR)'}`);
  }

  function queueFull(): HttpError {
    return new HttpError(429, 'queue_full', `${o.maxActiveJobs} jobs are already queued or running; retry after one finishes`, { 'Retry-After': '2' });
  }

  function shuttingDown(): HttpError {
    return new HttpError(503, 'shutting_down', 'the bridge is shutting down; start it again and resubmit', { 'Retry-After': '5' });
  }

  /**
   * A queue slot is taken only once the body is complete and valid: a client that uploads slowly
   * (or never finishes) holds an upload place, bounded in number and in time, never a job slot.
   */
  async function submit(req: IncomingMessage, res: ServerResponse, _m: RegExpExecArray, _u: URL, cors: Record<string, string>): Promise<void> {
    if (closing) throw shuttingDown();
    // Refused before the upload when it could not be queued anyway (saves sending megabytes).
    if (store.active().length + reserved >= o.maxActiveJobs) throw queueFull();
    if (uploading >= o.maxUploads) {
      throw new HttpError(503, 'too_many_uploads', `${o.maxUploads} job uploads are already in progress; retry in a moment (or start the bridge with a larger --max-uploads)`, { 'Retry-After': '2' });
    }
    let body: Buffer;
    uploading++;
    try {
      body = await readBody(req, { maxBytes: o.maxBodyBytes, timeoutMs: o.bodyTimeoutMs });
    } finally {
      uploading--;
    }
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    const input = type.startsWith('multipart/form-data')
      ? parseMultipartBody(body, req.headers['content-type']!)
      : type === '' || type.startsWith('application/json')
        ? parseJsonBody(body)
        : (() => {
            throw new HttpError(415, 'malformed_request', `unsupported Content-Type "${type}"; send application/json or multipart/form-data`);
          })();
    const packDir = (name: string | undefined): string | undefined => {
      if (name === undefined) return packs[0]?.dir;
      const pack = packByName.get(name);
      if (!pack) throw unknownPack(name);
      return pack.dir;
    };
    const request = await buildEditRequest(input, { maxPixels: o.maxPixels, packDir, decode: (image, mask, max) => codecs.decode(image, mask, max) }).catch((err: unknown) => {
      // close() stops the codec workers under a decode in flight: that is a shutdown, not bad input.
      throw closing ? shuttingDown() : err;
    });
    if (closing) throw shuttingDown();
    // Checked and taken in one synchronous step, so concurrent submissions cannot overshoot.
    if (store.active().length + reserved >= o.maxActiveJobs) throw queueFull();
    const { width, height } = request.image;
    let record: JobRecord;
    reserved++;
    try {
      record = store.create(await engine.submit(request), input.params, input.image, width, height);
    } finally {
      reserved--;
    }
    // The engine's `queued` event (with the position) is already in the handle; one turn lets it land.
    await new Promise((resolve) => setImmediate(resolve));
    const id = record.id;
    log(`job ${id} accepted (${input.params.mode}, ${width}x${height})`);
    sendJson(res, 202, { id, state: record.state, position: record.position, urls: { self: `/v1/jobs/${id}`, events: `/v1/jobs/${id}/events` } }, { ...cors, Location: `/v1/jobs/${id}` });
  }

  function listJobs(_req: IncomingMessage, res: ServerResponse, _m: RegExpExecArray, _u: URL, cors: Record<string, string>): void {
    sendJson(res, 200, { jobs: store.all().map((j) => ({ id: j.id, state: j.state, createdAt: new Date(j.createdAt).toISOString() })), stats: store.stats() }, cors);
  }

  function findJob(id: string): JobRecord {
    const job = store.get(id);
    if (!job) {
      throw new HttpError(404, 'job_not_found', `no job "${id}" on this bridge; finished jobs are kept for ${Math.round(o.resultTtlMs / 60_000)} min (and a restart forgets all jobs): resubmit it`);
    }
    return job;
  }

  function getJob(_req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, _u: URL, cors: Record<string, string>): void {
    sendJson(res, 200, jobWire(findJob(m[1]!)), cors);
  }

  async function cancelJob(_req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, _u: URL, cors: Record<string, string>): Promise<void> {
    const job = findJob(m[1]!);
    const requested = await store.cancel(job);
    sendJson(res, requested ? 202 : 200, { id: job.id, state: job.state, cancelRequested: requested }, cors);
  }

  function events(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, url: URL, cors: Record<string, string>): void {
    const job = findJob(m[1]!);
    if (streams.size >= o.maxStreams) {
      throw new HttpError(503, 'queue_full', `${o.maxStreams} event streams are already open; close some (or poll GET /v1/jobs/${job.id}) and retry`, { 'Retry-After': '2' });
    }
    const last = Number(req.headers['last-event-id'] ?? url.searchParams.get('after') ?? 0);
    const previews = url.searchParams.get('previews') === '1';
    const cancelOnDisconnect = url.searchParams.get('cancelOnDisconnect') === '1';
    res.writeHead(200, { ...cors, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    let ended = false;
    let unsubscribe: (() => void) | null = null;
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe?.();
      streams.delete(res);
      res.end();
    };
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), o.heartbeatMs);
    heartbeat.unref();
    // Previews are encoded in a codec worker; writes go through one chain so the stream keeps
    // the engine's order (a preview never lands after the event that followed it).
    let chain: Promise<void> = Promise.resolve();
    const inOrder = (write: () => Promise<void> | void): void => {
      chain = chain.then(write).catch(() => undefined);
    };
    unsubscribe = store.subscribe(job, Number.isFinite(last) ? last : 0, (event: WireEvent, preview) => {
      if (ended) return;
      if (preview) {
        if (!previews) return;
        const encoded = codecs.encodePng(preview.image);
        inOrder(async () => {
          const png = Buffer.from(await encoded).toString('base64');
          if (!ended) res.write(`event: preview\ndata: ${JSON.stringify({ type: 'preview', jobId: job.id, candidate: preview.candidate, step: preview.step, width: preview.image.width, height: preview.image.height, png })}\n\n`);
        });
        return;
      }
      inOrder(() => {
        if (ended) return;
        res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${event.data}\n\n`);
        if (event.terminal) end();
      });
    });
    if (isTerminal(job.state)) inOrder(end);
    req.on('close', () => {
      if (ended) return;
      end();
      // A host that dies (GIMP killing its plug-in on cancel) leaves no one to collect the result.
      if (cancelOnDisconnect && !isTerminal(job.state)) {
        log(`job ${job.id}: event stream closed by the client, cancelling`);
        void store.cancel(job);
      }
    });
  }

  async function result(_req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, url: URL, cors: Record<string, string>): Promise<void> {
    await sendResult(res, findJob(m[1]!), Number(m[2]), url.searchParams, cors, codecs);
  }

  function preferencesOn(): PreferenceRecorder {
    if (!recorder) throw new HttpError(409, 'preferences_off', PREFERENCES_OFF_HELP);
    return recorder;
  }

  /** The user applied candidate(s) of a finished job: record them against the others (opt-in). */
  async function choice(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, _u: URL, cors: Record<string, string>): Promise<void> {
    const rec = preferencesOn();
    const job = findJob(m[1]!);
    const reply = await rec.choice(job, await readBody(req, { maxBytes: 64 * 1024, timeoutMs: o.bodyTimeoutMs }));
    if (reply.recorded > 0) log(`job ${job.id}: recorded ${reply.recorded} preference(s) in ${reply.file}`);
    sendJson(res, 200, reply, cors);
  }

  /** A whole preference record from a host that ran the job itself (Figma's in-iframe engine). */
  async function uploadPreference(req: IncomingMessage, res: ServerResponse, _m: RegExpExecArray, _u: URL, cors: Record<string, string>): Promise<void> {
    const rec = preferencesOn();
    const reply = await rec.upload(await readBody(req, { maxBytes: o.maxBodyBytes, timeoutMs: o.bodyTimeoutMs }));
    log(`recorded an uploaded preference in ${reply.file}`);
    sendJson(res, 200, reply, cors);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let cors: Record<string, string> = {};
    try {
      checkHost(req, allowedHosts, port);
      cors = corsHeaders(req, allowedOrigins);
      const url = requestUrl(req.url, port);
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...cors, ...(req.headers.origin !== undefined ? preflightHeaders(req) : {}), 'Content-Length': '0' });
        res.end();
        return;
      }
      let pathMatched = false;
      for (const route of routes) {
        const m = route.pattern.exec(url.pathname);
        if (!m) continue;
        pathMatched = true;
        if (route.method !== req.method) continue;
        if (route.auth) checkToken(req, token, route.handler === events ? url.searchParams.get('token') : null, bridgeFile ? undefined : 'the token the bridge was started with');
        await route.handler(req, res, m, url, cors);
        return;
      }
      if (pathMatched) throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}; see openapi.yaml`);
      throw new HttpError(404, 'not_found', `no endpoint ${req.method} ${url.pathname}; see openapi.yaml (all endpoints start with /v1/)`);
    } catch (err) {
      const http = toHttpError(err);
      if (http.status >= 500) log(`error on ${req.method} ${req.url}: ${http.message}`);
      http.headers['Vary'] = 'Origin';
      Object.assign(http.headers, cors);
      sendError(res, http);
    }
  }

  /**
   * The request target as a path and query on this bridge. Resolving it against a base would read
   * `//host/...` as another host (and `//` throws): append it to the origin instead.
   */
  function requestUrl(target: string | undefined, p: number): URL {
    const t = target ?? '/';
    if (!t.startsWith('/')) throw new HttpError(400, 'malformed_request', `the request target must be a path starting with /, got ${JSON.stringify(t.slice(0, 80))}`);
    try {
      return new URL(`http://127.0.0.1:${p}${t}`);
    } catch {
      throw new HttpError(400, 'malformed_request', `cannot parse the request path ${JSON.stringify(t.slice(0, 80))}`);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`unexpected failure: ${String(err)}`);
      if (!res.headersSent) sendError(res, toHttpError(err));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${o.port} on ${host} is already in use: is another bridge running (see ${bridgeFile ?? 'bridge.json'})? pick another with --port`)
          : err,
      );
    };
    server.once('error', onError);
    server.listen(o.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch(async (err: unknown) => {
    await codecs.close();
    if (ownsEngine) await engine.dispose();
    throw err;
  });
  port = (server.address() as AddressInfo).port;
  allowedHosts = allowedHostValues(port, [...(options.allowHosts ?? []), ...(isWildcard(host) ? [] : [host])]);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${isWildcard(host) ? '127.0.0.1' : urlHost}:${port}`;
  if (bridgeFile) writeBridgeFile(bridgeFile, dir, { port, token, pid: process.pid, url, version: capabilities.version });

  const sweeper = setInterval(() => store.sweep(), 30_000);
  sweeper.unref();

  let closed: Promise<void> | null = null;
  async function close(closeOptions: CloseOptions = {}): Promise<void> {
    closed ??= (async () => {
      closing = true;
      clearInterval(sweeper);
      const active = store.active();
      for (const job of active) if (job.state === 'queued') await store.cancel(job);
      const running = store.active();
      if (running.length > 0) {
        if (closeOptions.mode === 'cancel') for (const job of running) await store.cancel(job);
        const deadline = Date.now() + (closeOptions.mode === 'cancel' ? 5_000 : o.drainTimeoutMs);
        while (store.active().length > 0 && Date.now() < deadline) await sleep(50);
        for (const job of store.active()) await store.cancel(job);
        const last = Date.now() + 5_000;
        while (store.active().length > 0 && Date.now() < last) await sleep(50);
      }
      for (const stream of streams) stream.end();
      if (bridgeFile) removeBridgeFile(bridgeFile);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 1_000).unref();
      });
      await codecs.close();
      if (ownsEngine) await engine.dispose();
    })();
    return closed;
  }

  return { url, port, host, token, bridgeFile, packs: packs.map((p) => p.name), preferencesFile: recorder?.file ?? null, stats: () => store.stats(), close };
}

/** A percent-escaped path segment; a malformed escape is the client's mistake (400), not ours. */
function decodePathPart(raw: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'malformed_request', `the ${what} in the URL has a malformed percent-escape ("${raw.slice(0, 80)}"); encode it with encodeURIComponent`);
  }
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
