/**
 * HttpEngineClient: the EngineApi over the bridge's HTTP+SSE API (`byteedit serve`), so a host
 * holds the bridge the way it holds an in-process or worker engine. `submit` checks the request
 * with the protocol's parser (a bad one is refused before any pixels are encoded), POSTs it as
 * JSON with base64 PNGs and returns a JobChannel fed by one SSE reader (follow.ts); candidates
 * carry real pixels. Errors the bridge answers come back as the SdkError they were there.
 */
import { SdkError } from '../protocol/errors';
import type { Capabilities, EditRequest, EngineApi, JobHandle } from '../protocol/events';
import { requestParamsOf, validateRequest } from '../protocol/request';
import { SCHEDULER_NAMES } from '../protocol/unions';
import { encodeGrayPng, encodePng } from '../image/codecs';
import { JobChannel } from '../engine/queue';
import { encodeBase64 } from './base64';
import { bridgeHealth } from './bridge-api';
import { followJob, Stopper } from './follow';
import { BridgeTransport, breathe, sleep, type BridgeOptions } from './transport';

export interface HttpEngineOptions extends BridgeOptions {
  /**
   * Deliver `preview` events for requests that ask for them (previewEvery > 0). Default true;
   * false never asks the bridge for previews (it then encodes none).
   */
  previews?: boolean;
  /** The bridge's pack (by name, see listPacks) for requests that name none; default: the bridge's default pack. */
  pack?: string;
  /**
   * The bridge cancels a job whose event stream closes before it ends (a host window that went
   * away takes its job with it). Default false.
   */
  cancelOnDisconnect?: boolean;
  /**
   * How events arrive: 'sse' (default) reads the event stream and polls by itself only where the
   * host's fetch gives no readable body; 'poll' always polls GET /v1/jobs/{id}.
   */
  transport?: 'sse' | 'poll';
  /** Polling period (ms), default 250. */
  pollMs?: number;
  /** Failed (re)connections in a row before a job is failed with network_unavailable (default 5). */
  reconnectAttempts?: number;
  /** Delay before reconnecting (ms); default: the stream's `retry:` hint (the bridge says 2000). */
  reconnectDelayMs?: number;
  /** How long dispose() waits for the bridge to confirm cancellations before ending the jobs itself (ms, default 10000). */
  disposeTimeoutMs?: number;
}

interface FollowedJob {
  channel: JobChannel;
  stop: Stopper;
}

export class HttpEngineClient implements EngineApi {
  readonly transport: BridgeTransport;
  private readonly jobs = new Map<string, FollowedJob>();
  private disposed = false;

  constructor(private readonly options: HttpEngineOptions) {
    this.transport = new BridgeTransport(options);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  async submit(request: EditRequest): Promise<JobHandle> {
    if (this.disposed) throw new SdkError('internal', 'the engine has been disposed');
    // The same checks as every engine, before anything is encoded or sent.
    validateRequest(request);
    const previews = this.options.previews !== false && (request.previewEvery ?? 0) > 0;
    const body = await this.body(request, previews);
    const reply = await this.transport.postJson<{ id?: unknown }>('/v1/jobs', body);
    if (typeof reply.id !== 'string' || reply.id === '') throw new SdkError('internal', `the bridge at ${this.baseUrl} accepted the job but named no job id; update the bridge`);
    const id = reply.id;
    const channel = new JobChannel(id, () => this.cancelJob(id));
    const stop = new Stopper();
    void followJob(this.transport, channel, {
      previews,
      cancelOnDisconnect: this.options.cancelOnDisconnect === true,
      transport: this.options.transport ?? 'sse',
      pollMs: this.options.pollMs ?? 250,
      reconnectAttempts: this.options.reconnectAttempts ?? 5,
      reconnectDelayMs: this.options.reconnectDelayMs,
      candidates: request.candidates ?? 1,
      stop,
    });
    this.jobs.set(id, { channel, stop });
    const forget = (): void => void this.jobs.delete(id);
    channel.done.then(forget, forget);
    return channel;
  }

  /** The JSON body of POST /v1/jobs: the request's fields as they are, the pixels as base64 PNGs. */
  private async body(request: EditRequest, previews: boolean): Promise<Record<string, unknown>> {
    const params = requestParamsOf(request);
    if (params.pack === undefined && this.options.pack !== undefined) params.pack = this.options.pack;
    if (!previews) delete params.previewEvery;
    await breathe();
    const image = encodeBase64(encodePng(request.image));
    let mask: string | undefined;
    if (request.mask) {
      await breathe();
      mask = encodeBase64(encodeGrayPng(request.mask.width, request.mask.height, request.mask.data));
    }
    return { ...params, image, ...(mask !== undefined ? { mask } : {}) };
  }

  /** DELETE /v1/jobs/{id}: true when the bridge will cancel it (the `cancelled` event follows). */
  private async cancelJob(id: string): Promise<boolean> {
    const reply = await this.transport.json<{ cancelRequested?: boolean }>(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
    return reply.cancelRequested === true;
  }

  /** From the bridge's authenticated health: its devices, modes and pixel cap. */
  async capabilities(): Promise<Capabilities> {
    const h = await bridgeHealth(this.transport);
    if (!h.authenticated || !h.devices || !h.modes || !h.limits) {
      throw new SdkError('unauthorized', `the bridge at ${this.baseUrl} did not accept the token; use the current token from bridge.json under your config directory (it changes each time the bridge starts)`);
    }
    return {
      version: h.version,
      runtime: 'node',
      devices: h.devices,
      deviceChoice: h.deviceChoice ?? { requested: 'auto', device: null, fallbacks: [] },
      modes: h.modes,
      // The bridge runs core's engine, which has every scheduler; its health does not list them.
      schedulers: [...SCHEDULER_NAMES],
      maxPixels: h.limits.maxPixels,
    };
  }

  /**
   * Cancels every job this client submitted that has not ended and waits (up to disposeTimeoutMs)
   * for the bridge's `cancelled`; a job the bridge cannot be asked about any more ends as cancelled here.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const active = [...this.jobs.values()].filter((j) => !j.channel.finished);
    await Promise.all(active.map((j) => j.channel.cancel().catch(() => false)));
    const deadline = Date.now() + (this.options.disposeTimeoutMs ?? 10_000);
    while (active.some((j) => !j.channel.finished) && Date.now() < deadline) await sleep(25);
    for (const j of active) {
      j.stop.stop();
      if (!j.channel.finished) j.channel.push({ type: 'cancelled', jobId: j.channel.id });
    }
  }
}
