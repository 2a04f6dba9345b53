/**
 * EngineApi over the bridge's HTTP API: the whole job runs in `byteedit serve` (Node, native ORT).
 * Used when configured, or when the iframe cannot run the pack. Events come by SSE; candidate
 * pixels are fetched raw from the results endpoint so the UI sees the same JobEvents as from
 * the worker engine.
 */
import { BridgeError, type BridgeClient } from './bridge-client';
import { encodeGrayPng, encodePng, withBounds, type Capabilities, type EditRequest, type EngineApi, type JobEvent, type JobListener } from './core';

const EVENT_TYPES = ['queued', 'started', 'progress', 'candidate', 'finished', 'error', 'cancelled'] as const;

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

interface WireCandidate {
  type: 'candidate';
  jobId: string;
  index: number;
  seed: number;
  region: { x: number; y: number; width: number; height: number };
  scores: Record<string, number>;
}

export class BridgeEngine implements EngineApi {
  private readonly listeners = new Set<JobListener>();
  private readonly streams = new Map<string, EventSource>();

  constructor(private readonly client: BridgeClient) {}

  async enqueue(r: EditRequest): Promise<string> {
    const body = {
      image: base64(encodePng(r.image)),
      mask: r.mask ? base64(encodeGrayPng(r.mask.width, r.mask.height, r.mask.data)) : undefined,
      mode: r.mode,
      prompt: r.prompt,
      negativePrompt: r.negativePrompt,
      expand: r.expand,
      steps: r.steps,
      guidance: r.guidance,
      candidates: r.candidates,
      seed: r.seed,
    };
    const { id } = await this.client.json<{ id: string }>('/v1/jobs', { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    this.watch(id);
    return id;
  }

  private watch(id: string): void {
    const url = `${this.client.base}/v1/jobs/${id}/events?cancelOnDisconnect=1&token=${encodeURIComponent(this.client.token)}`;
    const es = new EventSource(url);
    this.streams.set(id, es);
    let chain = Promise.resolve();
    let ended = false;
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (e) => {
        const data = JSON.parse((e as MessageEvent<string>).data) as { type: JobEvent['type'] };
        if (type === 'finished' || type === 'error' || type === 'cancelled') {
          ended = true;
          es.close();
          this.streams.delete(id);
        }
        chain = chain.then(async () => this.emit(await this.translate(data))).catch((err: unknown) => this.emit({ type: 'error', jobId: id, error: { code: 'internal', message: String(err) } }));
      });
    }
    es.onerror = () => {
      if (ended || es.readyState !== EventSource.CLOSED) return;
      this.streams.delete(id);
      chain = chain.then(() => this.emit({ type: 'error', jobId: id, error: { code: 'worker_crashed', message: `lost the event stream of job ${id}; is the bridge still running?` } }));
    };
  }

  private async translate(data: { type: JobEvent['type'] }): Promise<JobEvent> {
    if (data.type !== 'candidate') return data as JobEvent;
    const c = data as WireCandidate;
    const path = `/v1/jobs/${c.jobId}/results/${c.index}`;
    const [patch, mask] = await Promise.all([this.client.fetch(`${path}?part=patch&format=raw`), this.client.fetch(`${path}?part=mask&format=raw`)]);
    const { width, height } = c.region;
    return {
      type: 'candidate',
      jobId: c.jobId,
      candidate: {
        index: c.index,
        seed: c.seed,
        region: c.region,
        patch: { width, height, data: new Uint8ClampedArray(await patch.arrayBuffer()) },
        mask: withBounds(width, height, new Uint8Array(await mask.arrayBuffer())),
        scores: c.scores,
      },
    };
  }

  private emit(event: JobEvent): void {
    for (const l of this.listeners) l(event);
  }

  async subscribe(listener: JobListener): Promise<() => void> {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async cancel(jobId: string): Promise<boolean> {
    const reply = await this.client.json<{ cancelRequested?: boolean }>(`/v1/jobs/${jobId}`, { method: 'DELETE' });
    return reply.cancelRequested === true;
  }

  async capabilities(): Promise<Capabilities> {
    const h = await this.client.health();
    if (!h.limits || !h.devices || !h.modes) {
      throw new BridgeError('unauthorized', 'the bridge answered, but without the right token it tells nothing more: paste the token from bridge.json under your config directory into the settings');
    }
    const deviceChoice = (h.deviceChoice as Capabilities['deviceChoice'] | undefined) ?? { requested: 'auto', device: null, fallbacks: [] };
    return { version: h.version, runtime: 'node', devices: h.devices as Capabilities['devices'], deviceChoice, modes: h.modes as Capabilities['modes'], schedulers: [], maxPixels: h.limits.maxPixels };
  }

  async dispose(): Promise<void> {
    for (const es of this.streams.values()) es.close();
    this.streams.clear();
    this.listeners.clear();
  }
}
