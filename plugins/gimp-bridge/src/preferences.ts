/**
 * Recording which candidate a user applied (docs/preferences.md), only when the bridge was started
 * with --record-preferences DIR. Two ways in:
 * - POST /v1/jobs/{id}/choice {chosen, host}: the bridge still holds the job (source, candidates,
 *   summary) and builds the record itself (GIMP, Photoshop, Figma jobs run on the bridge);
 * - POST /v1/preferences {host, mode, prompt, pack, image, mask, chosen, rejected} with base64
 *   PNGs: for hosts that ran the job elsewhere (Figma's in-iframe engine) and cannot write files.
 * Records go to the local folder only; nothing here sends anything anywhere.
 */
import {
  SdkError,
  choiceExamples,
  createPreferenceWriter,
  decodeImage,
  jobPictures,
  maskFromImage,
  isPreferenceHost,
  preferenceHostHint,
  type EditMode,
  type PreferenceExample,
  type PreferenceHost,
  type PreferenceRecord,
  type PreferenceWriterApi,
} from './core';
import { HttpError } from './errors';
import type { JobRecord } from './job-store';

export const PREFERENCES_OFF_HELP = 'this bridge is not recording preferences: start it with `byteedit serve --record-preferences DIR` to keep them (locally, in DIR; see docs/preferences.md)';

function bad(message: string): HttpError {
  return new HttpError(400, 'invalid_argument', message);
}

function host(value: unknown, fallback: PreferenceHost): PreferenceHost {
  if (value === undefined) return fallback;
  if (!isPreferenceHost(value)) throw bad(`host: ${preferenceHostHint(value)}`);
  return value;
}

function jsonObject(body: Buffer): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'malformed_request', `request body is not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new HttpError(400, 'malformed_request', 'request body must be a JSON object');
  return raw as Record<string, unknown>;
}

export interface ChoiceReply {
  recorded: number;
  /** Why nothing was recorded, when recorded is 0. */
  reason?: string;
  records: PreferenceRecord[];
  file: string;
}

export class PreferenceRecorder {
  private readonly writer: PreferenceWriterApi;
  /** Choices already recorded per job (a second Apply of the same candidate records nothing). */
  private readonly done = new WeakMap<JobRecord, Set<number>>();

  constructor(readonly dir: string) {
    this.writer = createPreferenceWriter(dir);
  }

  get file(): string {
    return this.writer.file;
  }

  /** POST /v1/jobs/{id}/choice: body {chosen: k | [k, …], host?}. */
  async choice(job: JobRecord, body: Buffer): Promise<ChoiceReply> {
    const raw = jsonObject(body);
    for (const key of Object.keys(raw)) if (!['chosen', 'host'].includes(key)) throw bad(`unknown field "${key}"; send {chosen, host}`);
    const list = Array.isArray(raw.chosen) ? raw.chosen : [raw.chosen];
    if (list.length === 0 || !list.every((k) => Number.isInteger(k) && (k as number) >= 0)) {
      throw bad('chosen must be the index of the applied candidate (or a list of them), as in the job\'s candidates[].index');
    }
    const chosen = list as number[];
    const who = host(raw.host, 'bridge');
    if (job.state !== 'finished' || !job.summary) {
      throw new HttpError(409, 'result_not_ready', `job ${job.id} is ${job.state}: a choice can be recorded once it has finished`);
    }
    const seen = this.done.get(job) ?? new Set<number>();
    const fresh = chosen.filter((k) => !seen.has(k));
    const reply = (reason: string): ChoiceReply => ({ recorded: 0, reason, records: [], file: this.file });
    if (job.candidates.size < 2) return reply('the job made one candidate: there was no choice to learn from');
    if (fresh.length === 0) return reply('this choice is already recorded');
    const pictures = jobPictures(decodeImage(job.sourcePng, { name: 'image' }), job.summary, [...job.candidates.values()]);
    // One example per distinct chosen index, in that order; keep those not recorded before.
    const unique = [...new Set(chosen)];
    const examples = choiceExamples(pictures, chosen, job.summary.ranking, {
      host: who,
      mode: job.params.mode,
      prompt: job.params.prompt ?? '',
      pack: { name: job.summary.pack.name, version: job.summary.pack.version },
    }).filter((_, i) => fresh.includes(unique[i]!));
    if (examples.length === 0) return reply('every candidate was applied: no preference among them');
    const records: PreferenceRecord[] = [];
    for (const e of examples) records.push(await this.writer.write(e));
    for (const k of fresh) seen.add(k);
    this.done.set(job, seen);
    return { recorded: records.length, records, file: this.file };
  }

  /** POST /v1/preferences: a whole record with base64 PNGs, from a host that ran the job itself. */
  async upload(body: Buffer): Promise<ChoiceReply> {
    const raw = jsonObject(body);
    const fields = ['host', 'mode', 'prompt', 'pack', 'image', 'mask', 'chosen', 'rejected'];
    for (const key of Object.keys(raw)) if (!fields.includes(key)) throw bad(`unknown field "${key}"; valid fields: ${fields.join(', ')}`);
    const png = (value: unknown, name: string): Uint8Array => {
      if (typeof value !== 'string' || value === '') throw bad(`${name} must be a base64-encoded PNG`);
      return Buffer.from(value.startsWith('data:') ? value.slice(value.indexOf(',') + 1) : value, 'base64');
    };
    if (!Array.isArray(raw.rejected)) throw bad('rejected must be a list of base64-encoded PNGs (the candidates not applied)');
    const pack = raw.pack as { name?: unknown; version?: unknown } | undefined;
    const example: PreferenceExample = {
      host: host(raw.host, 'bridge'),
      mode: raw.mode as EditMode,
      prompt: raw.prompt === undefined ? '' : (raw.prompt as string),
      pack: { name: pack?.name as string, version: pack?.version as string },
      image: decodeImage(png(raw.image, 'image'), { name: 'image' }),
      mask: maskFromImage(decodeImage(png(raw.mask, 'mask'), { name: 'mask' })),
      chosen: decodeImage(png(raw.chosen, 'chosen'), { name: 'chosen' }),
      rejected: raw.rejected.map((r, i) => decodeImage(png(r, `rejected[${i}]`), { name: `rejected[${i}]` })),
    };
    try {
      const record = await this.writer.write(example);
      return { recorded: 1, records: [record], file: this.file };
    } catch (err) {
      if (err instanceof SdkError && err.code === 'invalid_argument') throw bad(err.message);
      throw err;
    }
  }
}
