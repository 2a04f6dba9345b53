/**
 * Follows one bridge job into its JobChannel. One SSE reader per job (GET /v1/jobs/{id}/events,
 * read from the fetch body stream, no EventSource); when the stream drops before the terminal
 * event it reconnects with Last-Event-ID, so the bridge replays only what was missed. Events are
 * handled one at a time, in order: a `candidate` is pushed only once its pixels are fetched, and a
 * failure to fetch them counts as a dropped stream (the reconnect replays that event). Only when
 * the host's fetch gives no readable body, or the bridge has no stream left, does it poll
 * GET /v1/jobs/{id} instead (progress then arrives at the polling rate, not every step).
 */
import { SdkError } from '../protocol/errors';
import type { JobEvent } from '../protocol/events';
import type { JobChannel } from '../engine/queue';
import { START_BRIDGE_HELP } from './errors';
import type { BodyReader } from './fetch';
import { SseDecoder, type SseMessage } from './sse';
import { sleep, type BridgeTransport } from './transport';
import { fetchCandidate, parseWireData, plainEvent, previewEvent, wireCandidate, type WireJob } from './wire';

export interface FollowOptions {
  /** Ask the stream for preview events (the job was submitted with previewEvery > 0). */
  previews: boolean;
  cancelOnDisconnect: boolean;
  transport: 'sse' | 'poll';
  pollMs: number;
  /** Consecutive failed (re)connections before the job is given up as failed (network_unavailable). */
  reconnectAttempts: number;
  /** Delay before a reconnection; default: the stream's `retry:` hint, else 1000 ms. */
  reconnectDelayMs?: number;
  /** What the job asked for (the polling fallback reports them in `started`). */
  candidates: number;
  /** Set once the client stops following (disposed and done waiting). */
  stop: Stopper;
}

/** Stops a follower: no more reconnections or polls, and the stream being read is cancelled. */
export class Stopper {
  private flag = false;
  private reader: BodyReader | null = null;

  get stopped(): boolean {
    return this.flag;
  }

  /** The reader of the stream now being read (null between streams). */
  track(reader: BodyReader | null): void {
    this.reader = reader;
  }

  stop(): void {
    this.flag = true;
    this.reader?.cancel().catch(() => undefined);
  }
}

/** Not the network: the bridge answered and said no (job_not_found after a restart, unauthorized, …). */
const isNetwork = (err: unknown): boolean => err instanceof SdkError && err.code === 'network_unavailable';

/** The job's channel plus what has been pushed so far (a switch from streaming to polling resumes, never repeats). */
class Sink {
  queued = false;
  started = false;
  readonly candidates = new Set<number>();

  constructor(readonly channel: JobChannel) {}

  get id(): string {
    return this.channel.id;
  }

  get finished(): boolean {
    return this.channel.finished;
  }

  push(event: JobEvent): void {
    if (event.type === 'queued') this.queued = true;
    else if (event.type === 'started') this.started = true;
    else if (event.type === 'candidate') this.candidates.add(event.candidate.index);
    this.channel.push(event);
  }
}

export async function followJob(transport: BridgeTransport, channel: JobChannel, options: FollowOptions): Promise<void> {
  const sink = new Sink(channel);
  try {
    if (options.transport === 'poll') await poll(transport, sink, options);
    else await stream(transport, sink, options);
  } catch (err) {
    channel.push({ type: 'error', jobId: channel.id, error: err instanceof SdkError ? err.toJSON() : { code: 'internal', message: err instanceof Error ? err.message : String(err) } });
  }
}

function lost(transport: BridgeTransport, channel: Sink, last: unknown): SdkError {
  const why = last instanceof Error ? last.message : 'the event stream ended before the job did';
  return new SdkError('network_unavailable', `lost the byteedit bridge at ${transport.baseUrl} while job ${channel.id} was running (${why}); if it stopped, ${START_BRIDGE_HELP} and submit the job again`);
}

async function stream(transport: BridgeTransport, channel: Sink, options: FollowOptions): Promise<void> {
  const id = encodeURIComponent(channel.id);
  const query = [options.previews ? 'previews=1' : '', options.cancelOnDisconnect ? 'cancelOnDisconnect=1' : ''].filter(Boolean).join('&');
  const path = `/v1/jobs/${id}/events${query ? `?${query}` : ''}`;
  let lastEventId = '';
  let retryMs = options.reconnectDelayMs ?? 1000;
  let failures = 0;
  let lastError: unknown = null;
  while (!channel.finished && !options.stop.stopped) {
    let reader: BodyReader | null = null;
    try {
      const res = await transport.request(path, { headers: { Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } });
      const body = res.body;
      reader = body && typeof body.getReader === 'function' ? body.getReader() : null;
      options.stop.track(reader);
      if (!reader) {
        // This host's fetch cannot stream a body: poll instead (from where the stream would have started).
        await poll(transport, channel, options);
        return;
      }
    } catch (err) {
      // Every stream slot taken: the bridge itself suggests polling.
      if (err instanceof SdkError && err.code === 'queue_full') {
        await poll(transport, channel, options);
        return;
      }
      if (!isNetwork(err)) throw err;
      lastError = err;
    }
    if (reader) {
      const decoder = new SseDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          const messages = value ? decoder.push(value) : [];
          if (done) messages.push(...decoder.end());
          for (const m of messages) {
            await handle(transport, channel, m);
            // Acknowledged only once handled: a reconnect replays an event whose pixels failed to arrive.
            lastEventId = m.id;
            failures = 0;
            if (channel.finished) break;
          }
          if (done || channel.finished || options.stop.stopped) break;
        }
        lastError = null;
      } catch (err) {
        if (!isNetwork(err) && err instanceof SdkError) throw err;
        lastError = err;
      } finally {
        if (decoder.parser.retry !== null && options.reconnectDelayMs === undefined) retryMs = decoder.parser.retry;
        options.stop.track(null);
        reader.cancel().catch(() => undefined);
      }
    }
    if (channel.finished || options.stop.stopped) return;
    if (++failures > options.reconnectAttempts) throw lost(transport, channel, lastError);
    await sleep(retryMs);
  }
}

/** One SSE message: rebuilt into its JobEvent (pixels fetched) and pushed. */
async function handle(transport: BridgeTransport, channel: Sink, m: SseMessage): Promise<void> {
  const data = parseWireData(m.data, `${m.event} event`);
  let event: JobEvent | null;
  if (m.event === 'candidate') event = { type: 'candidate', jobId: channel.id, candidate: await fetchCandidate(transport, channel.id, wireCandidate(data)) };
  else if (m.event === 'preview') event = previewEvent(channel.id, data);
  else event = plainEvent(channel.id, m.event, data);
  if (event) channel.push(event);
}

/**
 * The fallback: GET /v1/jobs/{id} every pollMs, turned into the same events. What polling cannot
 * see is left out: steps between two polls (progress reports the latest), previews, and `started`
 * before the first progress (its step count comes from there).
 */
async function poll(transport: BridgeTransport, channel: Sink, options: FollowOptions): Promise<void> {
  const id = encodeURIComponent(channel.id);
  let lastProgress = '';
  let failures = 0;
  while (!channel.finished && !options.stop.stopped) {
    let job: WireJob;
    try {
      job = await transport.json<WireJob>(`/v1/jobs/${id}`);
      failures = 0;
    } catch (err) {
      if (!isNetwork(err)) throw err;
      if (++failures > options.reconnectAttempts) throw lost(transport, channel, err);
      await sleep(options.reconnectDelayMs ?? 1000);
      continue;
    }
    if (!channel.queued) {
      channel.push({ type: 'queued', jobId: channel.id, position: job.position ?? 0 });
    }
    const p = job.progress;
    const hasProgress = p !== undefined && typeof p.step === 'number' && typeof p.total === 'number';
    if (!channel.started && (hasProgress || job.state === 'finished')) {
      channel.push({ type: 'started', jobId: channel.id, device: job.device ?? job.summary?.device ?? 'unknown', candidates: options.candidates, steps: hasProgress ? p.total! : (job.summary?.steps ?? 0) });
    }
    if (hasProgress) {
      const key = `${p.candidate}/${p.step}/${p.done}`;
      if (key !== lastProgress) {
        lastProgress = key;
        channel.push({ type: 'progress', jobId: channel.id, candidate: p.candidate ?? 0, step: p.step!, total: p.total!, done: p.done ?? 0, of: p.of ?? 0 });
      }
    }
    for (const c of job.candidates ?? []) {
      if (channel.candidates.has(c.index)) continue;
      const candidate = await fetchCandidate(transport, channel.id, wireCandidate(c as unknown as Record<string, unknown>));
      channel.push({ type: 'candidate', jobId: channel.id, candidate });
    }
    if (job.state === 'finished' && job.summary) channel.push({ type: 'finished', jobId: channel.id, summary: job.summary });
    else if (job.state === 'error') channel.push({ type: 'error', jobId: channel.id, error: job.error ?? { code: 'internal', message: 'the job failed on the bridge' } });
    else if (job.state === 'cancelled') channel.push({ type: 'cancelled', jobId: channel.id });
    if (!channel.finished) await sleep(options.pollMs);
  }
}
