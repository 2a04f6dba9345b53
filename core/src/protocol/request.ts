/**
 * The one parser of requests, driven by the field table (fields.ts). Values arrive either typed
 * (JSON bodies, objects from TypeScript callers) or as text (CLI flags, multipart form fields);
 * both go through the same range checks and the same messages, which name the field the way its
 * caller spells it (`--steps` on the command line, `steps` over HTTP). Cross-field rules (outpaint
 * needs margins, fill cannot edit) live here too, so every transport refuses the same requests up
 * front with `invalid_argument` (or `mode_unsupported`).
 */
import { SdkError } from './errors';
import { FIELD_ALIASES, FIELD_NAMES, REQUEST_FIELDS, type FieldName, type FieldSpec, type RequestParams } from './fields';
import type { EditRequest } from './events';
import { EDIT_MODES, REWARD_NAMES, type EditMode, type Margins, type RankWeights, type RewardName } from './unions';

/** `typed`: JSON values (numbers are numbers); `text`: every value is a string as typed. */
export type ValueForm = 'typed' | 'text';

export interface ParseOptions {
  form: ValueForm;
  /** How a field is named in messages (default: its own name). */
  spell?: (field: FieldName) => string;
  /** Refuse names outside the table (default true). */
  strict?: boolean;
}

function bad(message: string): never {
  throw new SdkError('invalid_argument', message);
}

/** A value as the caller wrote it: strings plain where they read back, everything else as JSON. */
function shown(v: unknown): string {
  if (typeof v === 'string') return /^\S+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function number(name: string, spec: FieldSpec, raw: unknown, form: ValueForm): number {
  const n = form === 'text' && typeof raw === 'string' ? (raw.trim() === '' ? NaN : Number(raw)) : raw;
  const lo = spec.min!;
  const hi = spec.max!;
  if (spec.kind === 'int') {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) bad(`${name} must be a whole number from ${lo} to ${hi}, got ${shown(raw)}`);
    return n === 0 ? 0 : n; // never -0
  }
  const low = spec.exclusiveMin ? typeof n === 'number' && n <= lo : typeof n === 'number' && n < lo;
  if (typeof n !== 'number' || !Number.isFinite(n) || low || n > hi) bad(`${name} must be a number ${spec.exclusiveMin ? `above ${lo}` : `from ${lo}`} up to ${hi}, got ${shown(raw)}`);
  return n;
}

function margins(name: string, spec: FieldSpec, raw: unknown): Margins {
  const hint = `${name} takes four whole numbers LEFT,TOP,RIGHT,BOTTOM in pixels (each from ${spec.min} to ${spec.max})`;
  let parts: unknown[];
  if (typeof raw === 'string') {
    const t = raw.trim();
    if (t.startsWith('{') || t.startsWith('[')) return margins(name, spec, json(name, t));
    parts = t.split(',').map((s) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : s));
  } else if (Array.isArray(raw)) parts = raw;
  else if (raw && typeof raw === 'object') {
    const m = raw as Record<string, unknown>;
    const extra = Object.keys(m).filter((k) => !['left', 'top', 'right', 'bottom'].includes(k));
    if (extra.length) bad(`${hint}; unknown side "${extra[0]}"`);
    parts = [m.left ?? 0, m.top ?? 0, m.right ?? 0, m.bottom ?? 0];
  } else bad(`${hint}, got ${shown(raw)}`);
  if (parts.length !== 4 || parts.some((p) => typeof p !== 'number' || !Number.isInteger(p) || p < spec.min! || p > spec.max!)) bad(`${hint}, got ${shown(raw)}`);
  const [left, top, right, bottom] = parts as number[];
  return { left: left!, top: top!, right: right!, bottom: bottom! };
}

function weights(name: string, spec: FieldSpec, raw: unknown): RankWeights {
  const hint = `${name} takes name=weight pairs for ${REWARD_NAMES.join(', ')} (e.g. alignment=1,coherence=0.5; each weight from ${spec.min} to ${spec.max})`;
  let entries: [string, unknown][];
  if (typeof raw === 'string') {
    const t = raw.trim();
    if (t.startsWith('{')) return weights(name, spec, json(name, t));
    entries = t
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((part) => {
        const [k, v, ...rest] = part.split('=');
        return [k ?? '', rest.length === 0 && v !== undefined && /^\d*\.?\d+$/.test(v.trim()) ? Number(v) : v];
      });
  } else if (raw && typeof raw === 'object' && !Array.isArray(raw)) entries = Object.entries(raw as Record<string, unknown>);
  else bad(`${hint}, got ${shown(raw)}`);
  const out: RankWeights = {};
  for (const [k, v] of entries) {
    if (!(REWARD_NAMES as readonly string[]).includes(k)) bad(`${hint}; "${k}" is not a reward`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < spec.min! || v > spec.max!) bad(`${hint}, got ${k}=${shown(v)}`);
    out[k as RewardName] = v;
  }
  return out;
}

function json(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return bad(`${name} is not valid JSON: ${shown(text)}`);
  }
}

/** One field's value, checked against its row of the table. */
export function parseField(field: FieldName, raw: unknown, options: ParseOptions): unknown {
  const spec = REQUEST_FIELDS[field];
  const name = options.spell ? options.spell(field) : field;
  const form = options.form;
  switch (spec.kind) {
    case 'int':
    case 'number':
      return number(name, spec, raw, form);
    case 'text':
      if (typeof raw !== 'string') bad(`${name} must be text, got ${shown(raw)}`);
      if (raw.length > spec.maxLength!) bad(`${name} must be at most ${spec.maxLength} characters, got ${raw.length}`);
      return raw;
    case 'enum':
      if (typeof raw !== 'string' || !spec.values!.includes(raw)) bad(`${name} must be one of ${spec.values!.join(', ')}, got ${shown(raw)}`);
      return raw;
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (form === 'text' && (raw === 'true' || raw === 'false')) return raw === 'true';
      return bad(`${name} must be true or false, got ${shown(raw)}`);
    case 'margins':
      return margins(name, spec, raw);
    case 'weights':
      return weights(name, spec, raw);
  }
}

/**
 * Parses and checks every field of `raw` (absent, undefined and null fields are left out), then the
 * rules between fields. `raw` holds only request fields: pixels and transport fields are the
 * caller's to take out first.
 */
export function parseRequestParams(raw: Record<string, unknown>, options: ParseOptions): RequestParams {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    // Own keys only: "constructor" or "toString" must be unknown fields, not Object.prototype's.
    const field = (FIELD_NAMES as string[]).includes(key) ? (key as FieldName) : Object.hasOwn(FIELD_ALIASES, key) ? FIELD_ALIASES[key] : undefined;
    if (!field) {
      if (options.strict === false) continue;
      bad(`unknown field "${key}"; the request fields are ${FIELD_NAMES.join(', ')}`);
    }
    out[field] = parseField(field, value, options);
  }
  const params = { mode: 'edit', ...out } as RequestParams;
  checkRules(params, options.spell ?? ((f) => f));
  return params;
}

/** The rules between fields. */
function checkRules(p: RequestParams, spell: (f: FieldName) => string): void {
  const mode: EditMode = p.mode;
  if (mode === 'outpaint' && !p.expand) bad(`mode outpaint needs ${spell('expand')} LEFT,TOP,RIGHT,BOTTOM (pixels to add on each side)`);
  if (mode !== 'outpaint' && p.expand) bad(`${spell('expand')} only applies to mode outpaint (this request's mode is ${mode})`);
  if (mode === 'edit' && p.engine === 'fill') {
    throw new SdkError('mode_unsupported', `the fill engine erases and outpaints; it cannot add content from a prompt: use ${spell('engine')} diffusion (or auto) for edit`);
  }
}

/** The request fields of an object that may carry other keys too (an EditRequest with pixels). */
export function requestParamsOf(request: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of FIELD_NAMES) {
    const v = (request as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Every check of an EditRequest that needs no pack: the pixels' shapes, then the fields through the parser. */
export function validateRequest(req: EditRequest): void {
  if (!req || typeof req !== 'object') bad('the request must be an object');
  if (req.mode === undefined) bad(`mode is required: one of ${EDIT_MODES.join(', ')}`);
  parseRequestParams(requestParamsOf(req), { form: 'typed' });
  const img = req.image;
  const data: unknown = img?.data;
  if (!img || !(data instanceof Uint8ClampedArray || data instanceof Uint8Array) || data.length !== img.width * img.height * 4) {
    bad('request.image must be an RGBA8 image {width, height, data} with width*height*4 bytes');
  }
  if (req.mask && (!(req.mask.data instanceof Uint8Array) || req.mask.data.length !== req.mask.width * req.mask.height)) {
    bad('request.mask must be an 8-bit mask {width, height, data, bounds} with width*height bytes');
  }
  if (req.mode !== 'outpaint' && !req.mask) bad(`mode ${req.mode} needs a mask: white (255) where to ${req.mode}`);
}
