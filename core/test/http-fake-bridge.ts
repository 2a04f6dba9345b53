/**
 * A FAKE bridge behind an injected fetch, for the HTTP engine's unit tests: the documented wire
 * forms (plugins/gimp-bridge/openapi.yaml) with scripted jobs, event streams that can be cut,
 * dropped or withheld (no readable body), and a log of every request. The real bridge is in
 * http-bridge.test.ts.
 */
import type { FetchInit, FetchLike, FetchResponse } from '../src/http/fetch';

export interface FakeRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface FakeEvent {
  seq: number;
  type: string;
  data: string;
}

export interface FakeJob {
  id: string;
  state: 'queued' | 'running' | 'finished' | 'error' | 'cancelled';
  events: FakeEvent[];
  /** Raw pixels of each candidate by index. */
  results: Map<number, { patch: Uint8Array; mask: Uint8Array }>;
  /** Progress, candidates and summary, for GET /v1/jobs/{id}. */
  wire: Record<string, unknown>;
  streams: Set<ReadableStreamDefaultController<Uint8Array>>;
}

export interface StreamBehaviour {
  /** Close the first stream of each job after this many events (a dropped connection). */
  dropAfter?: number;
  /** Bytes per chunk (default: one chunk per event). */
  chunkBytes?: number;
  /** Answer the events endpoint without a readable body (a host fetch that cannot stream). */
  noBody?: boolean;
}

const encoder = new TextEncoder();

function json(status: number, body: unknown): FetchResponse {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export class FakeBridge {
  readonly requests: FakeRequest[] = [];
  readonly jobs = new Map<string, FakeJob>();
  token = 'fake-token';
  stream: StreamBehaviour = {};
  /** Called for POST /v1/jobs with the parsed body: script the job there (default: nothing happens). */
  onSubmit: (job: FakeJob, body: Record<string, unknown>) => void = () => undefined;
  /** Replaces the answer to a path (after the request is logged). */
  override: ((r: FakeRequest) => FetchResponse | null) | null = null;
  private nextId = 1;
  private streamsOpened = new Map<string, number>();
  /** Per open stream: whether it is its job's first one, and how many events it carried. */
  private streamState = new Map<ReadableStreamDefaultController<Uint8Array>, { first: boolean; sent: number }>();

  readonly fetch: FetchLike = async (url: string, init: FetchInit = {}) => {
    const u = new URL(url);
    const r: FakeRequest = { method: init.method ?? 'GET', path: u.pathname + u.search, headers: init.headers ?? {}, body: init.body };
    this.requests.push(r);
    const o = this.override?.(r);
    if (o) return o;
    if (u.pathname === '/v1/health') return json(200, this.health(r.headers.Authorization === `Bearer ${this.token}`));
    if (r.headers.Authorization !== `Bearer ${this.token}`) return json(401, { error: { code: 'unauthorized', message: 'wrong token; read the current token from bridge.json under your config directory' } });
    if (r.method === 'POST' && u.pathname === '/v1/jobs') {
      const body = JSON.parse(init.body!) as Record<string, unknown>;
      const job: FakeJob = { id: `job-${this.nextId++}`, state: 'queued', events: [], results: new Map(), wire: {}, streams: new Set() };
      this.jobs.set(job.id, job);
      this.emit(job.id, 'queued', { position: 0 });
      this.onSubmit(job, body);
      return json(202, { id: job.id, state: 'queued', position: 0 });
    }
    const m = /^\/v1\/jobs\/([\w-]+)(\/events|\/results\/(\d+))?$/.exec(u.pathname);
    const job = m ? this.jobs.get(m[1]!) : undefined;
    if (m && !job) return json(404, { error: { code: 'job_not_found', message: `no job "${m[1]}" on this bridge` } });
    if (job && m![2] === '/events') return this.events(job, r);
    if (job && m![3] !== undefined) {
      const res = job.results.get(Number(m![3]));
      if (!res) return json(409, { error: { code: 'result_not_ready', message: 'not yet' } });
      const part = u.searchParams.get('part');
      return new Response(part === 'mask' ? res.mask : res.patch, { status: 200, headers: { 'Content-Type': 'application/octet-stream' } });
    }
    if (job && r.method === 'DELETE') {
      const live = job.state === 'queued' || job.state === 'running';
      if (live) this.emit(job.id, 'cancelled', {});
      return json(live ? 202 : 200, { id: job.id, state: job.state, cancelRequested: live });
    }
    if (job) return json(200, { id: job.id, state: job.state, ...job.wire });
    return json(404, { error: { code: 'not_found', message: `no endpoint ${r.method} ${u.pathname}` } });
  };

  health(authenticated: boolean): Record<string, unknown> {
    const basics = { status: 'ok', service: 'byteedit-bridge', version: '9.9.9', apiVersion: 1, authenticated };
    if (!authenticated) return basics;
    return {
      ...basics,
      devices: [{ name: 'cpu', available: true }],
      deviceChoice: { requested: 'cpu', device: 'cpu', fallbacks: [] },
      modes: ['edit', 'erase', 'outpaint'],
      packs: ['fake-pack'],
      limits: { maxBodyBytes: 1e6, maxPixels: 4_000_000, bodyTimeoutMs: 30_000 },
      preferences: false,
    };
  }

  /** Appends an event to the job (and to its open streams), keeping `state` and the polled form up to date. */
  emit(jobId: string, type: string, data: Record<string, unknown>): void {
    const job = this.jobs.get(jobId)!;
    if (['finished', 'error', 'cancelled'].includes(job.state)) return;
    const e: FakeEvent = { seq: job.events.length + 1, type, data: JSON.stringify({ type, jobId, ...data }) };
    job.events.push(e);
    if (type === 'started') Object.assign(job, { state: 'running' }).wire.device = data.device;
    if (type === 'progress') job.wire.progress = { fraction: 0, ...data };
    if (type === 'candidate') job.wire.candidates = [...((job.wire.candidates as unknown[]) ?? []), data];
    if (type === 'finished') Object.assign(job.wire, { summary: data.summary });
    if (type === 'error') Object.assign(job.wire, { error: data.error });
    if (['finished', 'error', 'cancelled'].includes(type)) job.state = type as FakeJob['state'];
    for (const c of [...job.streams]) this.write(job, c, e);
  }

  /** A candidate event with its pixels behind the results endpoint. */
  candidate(jobId: string, index: number, region: { x: number; y: number; width: number; height: number }, seed = 7): { patch: Uint8Array; mask: Uint8Array } {
    const patch = Uint8Array.from({ length: region.width * region.height * 4 }, (_, i) => (i * 7 + index) & 255);
    const mask = Uint8Array.from({ length: region.width * region.height }, (_, i) => (i % 3 === 0 ? 0 : 200));
    this.jobs.get(jobId)!.results.set(index, { patch, mask });
    this.emit(jobId, 'candidate', { index, seed, region, scores: { coherence: 0.5 }, urls: {} });
    return { patch, mask };
  }

  /** Writes a preview message the way the bridge does: no id, a base64 PNG. */
  preview(jobId: string, data: Record<string, unknown>): void {
    const job = this.jobs.get(jobId)!;
    const text = `event: preview\ndata: ${JSON.stringify({ type: 'preview', jobId, ...data })}\n\n`;
    for (const c of job.streams) c.enqueue(encoder.encode(text));
  }

  private write(job: FakeJob, c: ReadableStreamDefaultController<Uint8Array>, e: FakeEvent): void {
    const bytes = encoder.encode(`id: ${e.seq}\nevent: ${e.type}\ndata: ${e.data}\n\n`);
    const n = this.stream.chunkBytes ?? bytes.length;
    for (let i = 0; i < bytes.length; i += n) c.enqueue(bytes.slice(i, i + n));
    const state = this.streamState.get(c)!;
    state.sent++;
    const terminal = ['finished', 'error', 'cancelled'].includes(e.type);
    const drop = this.stream.dropAfter !== undefined && state.first && state.sent >= this.stream.dropAfter;
    if (terminal || drop) {
      job.streams.delete(c);
      c.close();
    }
  }

  private events(job: FakeJob, r: FakeRequest): FetchResponse {
    const after = Number(r.headers['Last-Event-ID'] ?? 0);
    const opened = (this.streamsOpened.get(job.id) ?? 0) + 1;
    this.streamsOpened.set(job.id, opened);
    if (this.stream.noBody) {
      return { ok: true, status: 200, headers: new Headers({ 'Content-Type': 'text/event-stream' }), body: null, json: async () => ({}), text: async () => '', arrayBuffer: async () => new ArrayBuffer(0) };
    }
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
        this.streamState.set(c, { first: opened === 1, sent: 0 });
        c.enqueue(encoder.encode('retry: 10\n\n'));
      },
      cancel: () => void job.streams.delete(controller),
    });
    job.streams.add(controller);
    for (const e of job.events) if (e.seq > after && job.streams.has(controller)) this.write(job, controller, e);
    return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
  }
}
