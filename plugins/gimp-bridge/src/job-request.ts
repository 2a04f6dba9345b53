/**
 * Turns a POST /v1/jobs body (JSON with base64 PNGs, or multipart/form-data) into validated job
 * input: the PNG bytes plus plain parameters. Pure apart from the bytes it is given; decoding and
 * pixel checks happen in decode-input.ts.
 */
import { HttpError } from './errors';
import { boundaryOf, parseMultipart } from './multipart';
import { SCHEDULER_NAMES, type EditMode, type Margins } from './core';

export interface JobParams {
  mode: EditMode;
  prompt?: string;
  negativePrompt?: string;
  expand?: Margins;
  /** A pack *name* known to this bridge (never a path from the network). */
  pack?: string;
  steps?: number;
  guidance?: number;
  scheduler?: string;
  strength?: number;
  candidates?: number;
  seed?: number;
  colorMatch?: boolean;
  previewEvery?: number;
  rankWeights?: Record<string, number>;
}

export interface JobInput {
  image: Uint8Array;
  mask?: Uint8Array;
  params: JobParams;
}

const MODES: readonly EditMode[] = ['edit', 'erase', 'outpaint'];
export const REQUEST_FIELDS = new Set(['image', 'mask', 'mode', 'prompt', 'negativePrompt', 'expand', 'pack', 'steps', 'guidance', 'scheduler', 'strength', 'candidates', 'seed', 'colorMatch', 'previewEvery', 'rankWeights']);

function bad(message: string): HttpError {
  return new HttpError(400, 'invalid_argument', message);
}

function intIn(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function numIn(value: unknown, name: string, min: number, max: number, minExclusive = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value > max || (minExclusive ? value <= min : value < min)) {
    throw bad(`${name} must be a number ${minExclusive ? 'above' : 'from'} ${min} ${minExclusive ? 'and at most' : 'to'} ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function text(value: unknown, name: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) throw bad(`${name} must be a string of at most ${max} characters`);
  return value;
}

function margins(value: unknown): Margins {
  let arr: unknown[];
  if (Array.isArray(value)) arr = value;
  else if (typeof value === 'string') arr = value.split(',').map((s) => Number(s.trim()));
  else if (value && typeof value === 'object') {
    const m = value as Record<string, unknown>;
    arr = [m.left ?? 0, m.top ?? 0, m.right ?? 0, m.bottom ?? 0];
  } else throw bad('expand must be {left,top,right,bottom}, [l,t,r,b] or "l,t,r,b" in pixels');
  if (arr.length !== 4) throw bad('expand needs four margins: left, top, right, bottom');
  const [left, top, right, bottom] = arr.map((v, i) => intIn(v, `expand.${['left', 'top', 'right', 'bottom'][i]}`, 0, 8192));
  return { left: left!, top: top!, right: right!, bottom: bottom! };
}

/** Validates the non-image fields of a request (already parsed from JSON or form fields). */
export function parseParams(raw: Record<string, unknown>): JobParams {
  for (const key of Object.keys(raw)) {
    if (!REQUEST_FIELDS.has(key)) throw bad(`unknown field "${key}"; valid fields: ${[...REQUEST_FIELDS].join(', ')}`);
  }
  const mode = raw.mode ?? 'edit';
  if (!MODES.includes(mode as EditMode)) throw bad(`mode must be one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  const p: JobParams = { mode: mode as EditMode };
  if (raw.prompt !== undefined) p.prompt = text(raw.prompt, 'prompt', 2000);
  if (raw.negativePrompt !== undefined) p.negativePrompt = text(raw.negativePrompt, 'negativePrompt', 2000);
  if (raw.expand !== undefined) p.expand = margins(raw.expand);
  if (raw.pack !== undefined) p.pack = text(raw.pack, 'pack', 200);
  if (raw.steps !== undefined) p.steps = intIn(raw.steps, 'steps', 1, 150);
  if (raw.guidance !== undefined) p.guidance = numIn(raw.guidance, 'guidance', 0, 50);
  if (raw.scheduler !== undefined) {
    if (!(SCHEDULER_NAMES as readonly unknown[]).includes(raw.scheduler)) throw bad(`scheduler must be one of ${SCHEDULER_NAMES.join(', ')}, got ${JSON.stringify(raw.scheduler)}`);
    p.scheduler = raw.scheduler as string;
  }
  if (raw.strength !== undefined) p.strength = numIn(raw.strength, 'strength', 0, 1, true);
  if (raw.candidates !== undefined) p.candidates = intIn(raw.candidates, 'candidates', 1, 16);
  if (raw.seed !== undefined) p.seed = intIn(raw.seed, 'seed', 0, 0xffffffff);
  if (raw.colorMatch !== undefined) {
    if (typeof raw.colorMatch !== 'boolean') throw bad('colorMatch must be true or false');
    p.colorMatch = raw.colorMatch;
  }
  if (raw.previewEvery !== undefined) p.previewEvery = intIn(raw.previewEvery, 'previewEvery', 0, 1000);
  if (raw.rankWeights !== undefined) {
    const w = raw.rankWeights;
    if (!w || typeof w !== 'object' || Array.isArray(w)) throw bad('rankWeights must be an object of reward name → weight');
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(w as Record<string, unknown>)) out[text(k, 'rankWeights key', 40)] = numIn(v, `rankWeights.${k}`, -100, 100);
    p.rankWeights = out;
  }
  if (p.mode === 'outpaint' && !p.expand) throw bad('mode "outpaint" needs expand margins (left, top, right, bottom in pixels)');
  return p;
}

function base64Field(value: unknown, name: string): Uint8Array {
  if (typeof value !== 'string') throw bad(`${name} must be a base64-encoded PNG string`);
  const body = value.startsWith('data:') ? value.slice(value.indexOf(',') + 1) : value;
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(body.replace(/\s+/g, ''))) throw new HttpError(400, 'image_unreadable', `${name} is not valid base64; encode the PNG file with standard base64`);
  return Buffer.from(body, 'base64');
}

function jsonObject(body: Buffer, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'malformed_request', `${what} is not valid JSON (${(err as Error).message}); send a JSON object or multipart/form-data`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new HttpError(400, 'malformed_request', `${what} must be a JSON object`);
  return raw as Record<string, unknown>;
}

export function parseJsonBody(body: Buffer): JobInput {
  const { image, mask, ...rest } = jsonObject(body, 'request body');
  if (image === undefined) throw bad('"image" is required: a base64-encoded PNG');
  return { image: base64Field(image, 'image'), mask: mask === undefined || mask === null ? undefined : base64Field(mask, 'mask'), params: parseParams(rest) };
}

/** Form fields arrive as text: numbers, booleans and JSON objects are converted per field. */
function formValue(name: string, value: string): unknown {
  if (['steps', 'guidance', 'strength', 'candidates', 'seed', 'previewEvery'].includes(name)) return value.trim() === '' ? NaN : Number(value);
  if (name === 'colorMatch') return value === 'true' ? true : value === 'false' ? false : value;
  if (name === 'rankWeights' || (name === 'expand' && value.trim().startsWith('{'))) {
    try {
      return JSON.parse(value);
    } catch {
      throw bad(`${name} form field must be JSON`);
    }
  }
  return value;
}

export function parseMultipartBody(body: Buffer, contentType: string): JobInput {
  const parts = parseMultipart(body, boundaryOf(contentType));
  let image: Uint8Array | undefined;
  let mask: Uint8Array | undefined;
  const fields: Record<string, unknown> = {};
  for (const part of parts) {
    if (part.name === 'image') image = part.data;
    else if (part.name === 'mask') mask = part.data;
    else if (part.name === 'params') Object.assign(fields, jsonObject(part.data, 'params part'));
    else fields[part.name] = formValue(part.name, part.data.toString('utf8'));
  }
  if (!image) throw bad('multipart request needs a file part named "image" (PNG)');
  return { image, mask, params: parseParams(fields) };
}
