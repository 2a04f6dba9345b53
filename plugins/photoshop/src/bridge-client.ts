/**
 * The bridge's HTTP API (plugins/gimp-bridge/openapi.yaml) as the panel uses it, over UXP's
 * `fetch`. Progress comes from the job's SSE stream read through the response body's reader;
 * where the host's fetch gives no readable body it falls back to polling GET /v1/jobs/{id}.
 * Results are fetched as raw rows (format=raw) so the panel never decodes PNG.
 */
import { PanelError } from './errors';

export const DEFAULT_BRIDGE_URL = 'http://127.0.0.1:7860';

export type FetchLike = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<ResponseLike>;

export interface ResponseLike {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
  body?: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> } } | null;
}

export interface WireRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WireCandidate {
  index: number;
  seed: number;
  region: WireRegion;
  scores?: Record<string, number>;
}

export interface WireSummary {
  canvas: { width: number; height: number };
  sourceOffset: { x: number; y: number };
  seeds: number[];
  ranking: number[];
  device: string;
}

export type BridgeEvent =
  | { type: 'queued'; position: number }
  | { type: 'started'; device: string; candidates: number; steps: number }
  | { type: 'progress'; candidate: number; step: number; total: number; done: number; of: number }
  | { type: 'candidate'; candidate: WireCandidate }
  | { type: 'finished'; summary: WireSummary }
  | { type: 'error'; error: { code: string; message: string } }
  | { type: 'cancelled' };

export interface JobParams {
  image: string;
  mask?: string;
  mode: 'edit' | 'erase' | 'outpaint';
  prompt?: string;
  expand?: { left: number; top: number; right: number; bottom: number };
  candidates?: number;
  seed?: number;
  steps?: number;
  pack?: string;
}

export interface Health {
  status: string;
  version?: string;
  packs?: string[];
  devices?: { name: string; available: boolean }[];
  /** Whether the bridge records applied candidates (started with --record-preferences DIR). */
  preferences?: boolean;
}

/** What POST /v1/jobs/{id}/choice answered. */
export interface ChoiceReply {
  recorded: number;
  reason?: string;
  file?: string;
}

export interface RawResult {
  width: number;
  height: number;
  /** Offset of the region on the job's output canvas. */
  x: number;
  y: number;
  data: Uint8Array;
}

export interface BridgeClientOptions {
  url?: string;
  token: string;
  fetch?: FetchLike;
  /** Polling period when the SSE stream cannot be read (ms). */
  pollMs?: number;
  /** Force polling (for hosts whose fetch has no streaming body). */
  poll?: boolean;
}

export const START_HELP = 'Start the bridge in a terminal with "npx byteedit serve" (it listens on http://127.0.0.1:7860), then press Reconnect.';

export class BridgeClient {
  readonly url: string;
  private readonly token: string;
  private readonly fetchImpl: FetchLike;
  private readonly pollMs: number;
  private readonly forcePoll: boolean;

  constructor(options: BridgeClientOptions) {
    this.url = (options.url ?? DEFAULT_BRIDGE_URL).replace(/\/+$/, '');
    this.token = options.token.trim();
    this.fetchImpl = options.fetch ?? ((globalThis as { fetch?: FetchLike }).fetch as FetchLike);
    this.pollMs = options.pollMs ?? 400;
    this.forcePoll = options.poll ?? false;
  }

  /**
   * GET /v1/health: is a byteedit bridge listening at all? Answers without a token too, but then
   * only status, service and version; the token (when the panel has one) adds packs, devices and
   * preferences.
   */
  async health(): Promise<Health> {
    const res = await this.request('/v1/health', {}, this.token !== '');
    const body = (await res.json()) as Health & { service?: string };
    if (body.service !== undefined && body.service !== 'byteedit-bridge') {
      throw new PanelError('bridge_unreachable', `Something else answers at ${this.url} (not a byteedit bridge). ${START_HELP}`);
    }
    return body;
  }

  /** GET /v1/packs: checks the token. */
  async packs(): Promise<{ name: string; default?: boolean }[]> {
    const res = await this.request('/v1/packs');
    return ((await res.json()) as { packs: { name: string }[] }).packs;
  }

  async submit(params: JobParams): Promise<string> {
    const res = await this.request('/v1/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(params) });
    return ((await res.json()) as { id: string }).id;
  }

  async cancel(jobId: string): Promise<void> {
    await this.request(`/v1/jobs/${encodeURIComponent(jobId)}`, { method: 'DELETE' });
  }

  /** Calls `onEvent` for every event until the terminal one, which it returns. */
  async watch(jobId: string, onEvent: (e: BridgeEvent) => void): Promise<BridgeEvent> {
    if (!this.forcePoll) {
      const res = await this.request(`/v1/jobs/${encodeURIComponent(jobId)}/events`, { headers: { Accept: 'text/event-stream' } });
      const reader = res.body && typeof res.body.getReader === 'function' ? res.body.getReader() : null;
      if (reader) return readSse(reader, onEvent);
      // A fetch without a streaming body would wait for the whole stream; poll instead.
    }
    return this.poll(jobId, onEvent);
  }

  /**
   * Tells the bridge which candidates the user applied, so it records them against the others in
   * its local preferences folder (docs/preferences.md). Throws `preferences_off` when the bridge
   * was started without --record-preferences.
   */
  async recordChoice(jobId: string, chosen: number[]): Promise<ChoiceReply> {
    const res = await this.request(`/v1/jobs/${encodeURIComponent(jobId)}/choice`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ chosen, host: 'photoshop' }) });
    return (await res.json()) as ChoiceReply;
  }

  async result(jobId: string, index: number, part: 'patch' | 'mask'): Promise<RawResult> {
    const res = await this.request(`/v1/jobs/${encodeURIComponent(jobId)}/results/${index}?part=${part}&format=raw`);
    const num = (h: string): number => Number(res.headers.get(h) ?? 'NaN');
    const out = { width: num('X-Image-Width'), height: num('X-Image-Height'), x: num('X-Region-X'), y: num('X-Region-Y'), data: new Uint8Array(await res.arrayBuffer()) };
    const expected = out.width * out.height * (part === 'patch' ? 4 : 1);
    if (![out.width, out.height, out.x, out.y].every(Number.isFinite) || out.data.length !== expected) {
      throw new PanelError('bridge_error', `The bridge sent a ${part} of ${out.data.length} bytes for ${out.width}x${out.height}; update the bridge (npm i -g byteedit) and try again`);
    }
    return out;
  }

  private async poll(jobId: string, onEvent: (e: BridgeEvent) => void): Promise<BridgeEvent> {
    const seen = new Set<number>();
    let lastProgress = '';
    for (;;) {
      const res = await this.request(`/v1/jobs/${encodeURIComponent(jobId)}`);
      const job = (await res.json()) as {
        state: string;
        progress?: { candidate: number; step: number; total: number; done: number; of: number };
        candidates?: WireCandidate[];
        summary?: WireSummary;
        error?: { code: string; message: string };
      };
      if (job.progress && JSON.stringify(job.progress) !== lastProgress) {
        lastProgress = JSON.stringify(job.progress);
        onEvent({ type: 'progress', ...job.progress });
      }
      for (const c of job.candidates ?? []) {
        if (!seen.has(c.index)) {
          seen.add(c.index);
          onEvent({ type: 'candidate', candidate: c });
        }
      }
      let terminal: BridgeEvent | null = null;
      if (job.state === 'finished' && job.summary) terminal = { type: 'finished', summary: job.summary };
      else if (job.state === 'error') terminal = { type: 'error', error: job.error ?? { code: 'internal', message: 'the job failed' } };
      else if (job.state === 'cancelled') terminal = { type: 'cancelled' };
      if (terminal) {
        onEvent(terminal);
        return terminal;
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  private async request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}, auth = true): Promise<ResponseLike> {
    const headers: Record<string, string> = { ...init.headers };
    if (auth) headers.Authorization = `Bearer ${this.token}`;
    let res: ResponseLike;
    try {
      res = await this.fetchImpl(`${this.url}${path}`, { ...init, headers });
    } catch (err) {
      throw new PanelError('bridge_unreachable', `The byteedit bridge is not running at ${this.url} (${err instanceof Error ? err.message : String(err)}). ${START_HELP}`);
    }
    if (res.ok) return res;
    let code = 'http_error';
    let message = `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // Not JSON: keep the status line.
    }
    if (res.status === 401) {
      throw new PanelError('bad_token', `The bridge refused the token (${message}). Paste the current token from bridge.json (it changes each time the bridge starts) or press "Read token file".`);
    }
    if (code === 'preferences_off') {
      throw new PanelError('preferences_off', 'The bridge does not record choices: restart it with "npx byteedit serve --record-preferences FOLDER", or untick "Keep my choices". The layers were added.');
    }
    throw new PanelError('bridge_error', `The bridge answered ${res.status} ${code}: ${message}`);
  }
}

/** Parses SSE blocks ("event:", "data:", blank line) into bridge events until the terminal one. */
export async function readSse(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> }, onEvent: (e: BridgeEvent) => void): Promise<BridgeEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (value) buffer += decoder.decode(value, { stream: true });
    buffer = buffer.replace(/\r\n?/g, '\n');
    let i: number;
    while ((i = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue; // comments (": keep-alive") and id-only blocks
      const event = normalize(JSON.parse(data) as Record<string, unknown>);
      onEvent(event);
      if (event.type === 'finished' || event.type === 'error' || event.type === 'cancelled') {
        await reader.cancel().catch(() => undefined);
        return event;
      }
    }
    if (done) throw new PanelError('bridge_unreachable', `The bridge closed the event stream before the job ended; is it still running? ${START_HELP}`);
  }
}

/** The wire's `candidate` event is flat ({type, jobId, index, seed, region, scores, urls}). */
function normalize(raw: Record<string, unknown>): BridgeEvent {
  if (raw.type === 'candidate') {
    const { index, seed, region, scores } = raw as unknown as WireCandidate;
    return { type: 'candidate', candidate: { index, seed, region, scores } };
  }
  return raw as unknown as BridgeEvent;
}
