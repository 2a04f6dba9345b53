/**
 * Preference records (docs/preferences.md): which candidate of a job a user applied, as one JSON
 * line of `preferences.jsonl` with the pixels in content-addressed PNG files beside it. This file
 * is pure (no Node, no DOM): the record's shape, its validation, the line codec, and how a job's
 * source and candidates become the four equal-size pictures of a record. node-writer.ts writes
 * them to disk; hosts that cannot write files (Figma's iframe) build the same pictures here and
 * hand them to the bridge.
 */
import { SdkError } from '../util/errors';
import { rect, union, type CanvasSpace, type Rect } from '../image/geometry';
import { createMask, type Mask, type RgbaImage } from '../image/image';
import { cropImage, padImage, pasteImage } from '../image/ops';
import { EDIT_MODES, type EditMode } from '../protocol/unions';
import type { Candidate, JobSummary } from '../protocol/events';

export const PREFERENCE_SCHEMA = 'byteedit.preference/1';
/** The JSONL file's name inside the recording folder. */
export const PREFERENCE_FILE = 'preferences.jsonl';
/** Where the PNGs go, relative to the recording folder. */
export const PREFERENCE_IMAGE_DIR = 'images';
/** The hosts this project ships; a third-party host records under its own id (see isPreferenceHost). */
export const PREFERENCE_HOSTS = ['gimp', 'photoshop', 'figma', 'cli', 'bridge'] as const;
/** A host id: lower-case letters, digits and dashes, starting with a letter, at most 32 characters. */
export type PreferenceHost = string;
const HOST_ID = /^[a-z][a-z0-9-]{0,31}$/;

export function isPreferenceHost(value: unknown): value is PreferenceHost {
  return typeof value === 'string' && HOST_ID.test(value);
}

/** What a bad host id is told. */
export function preferenceHostHint(value: unknown): string {
  return `a host id is lower-case letters, digits and dashes starting with a letter, at most 32 characters (e.g. ${PREFERENCE_HOSTS.join(', ')}), got ${JSON.stringify(value)}`;
}
/** Longest prompt a record keeps (the bridge accepts 2000 characters). */
export const MAX_PREFERENCE_PROMPT = 4000;

/** One line of preferences.jsonl. Paths are relative to the folder holding the JSONL file. */
export interface PreferenceRecord {
  schema: typeof PREFERENCE_SCHEMA;
  /** ISO-8601 UTC, when the user applied the candidate. */
  time: string;
  host: PreferenceHost;
  mode: EditMode;
  prompt: string;
  pack: { name: string; version: string };
  /** The context crop around the edit (what the model saw), RGBA PNG. */
  image: string;
  /** 8-bit grey PNG: 255 where the candidates differ from `image` (soft at the edge), 0 elsewhere. */
  mask: string;
  /** The applied candidate, at the size of `image`. */
  chosen: string;
  /** The candidates shown but not applied, best ranked first; never empty. */
  rejected: string[];
}

/** A record before its pictures are files: what a writer is given. */
export interface PreferenceExample {
  host: PreferenceHost;
  mode: EditMode;
  prompt?: string;
  pack: { name: string; version: string };
  image: RgbaImage;
  mask: Mask<CanvasSpace>;
  chosen: RgbaImage;
  rejected: RgbaImage[];
  /** Default: now. */
  time?: Date;
}

function bad(message: string): SdkError {
  return new SdkError('invalid_argument', message);
}

/** Throws invalid_argument (saying what to fix) unless `e` can become a record. */
export function checkPreferenceExample(e: PreferenceExample): void {
  if (!e || typeof e !== 'object') throw bad('a preference needs {host, mode, prompt, pack, image, mask, chosen, rejected}');
  if (!isPreferenceHost(e.host)) throw bad(`preference host: ${preferenceHostHint(e.host)}`);
  if (!EDIT_MODES.includes(e.mode)) throw bad(`preference mode must be one of ${EDIT_MODES.join(', ')}, got ${JSON.stringify(e.mode)}`);
  if (e.prompt !== undefined && (typeof e.prompt !== 'string' || e.prompt.length > MAX_PREFERENCE_PROMPT)) throw bad(`preference prompt must be a string of at most ${MAX_PREFERENCE_PROMPT} characters`);
  if (!e.pack || typeof e.pack.name !== 'string' || e.pack.name === '' || typeof e.pack.version !== 'string' || e.pack.version === '') {
    throw bad('preference pack must be {name, version} with non-empty strings (the JobSummary of the job has them)');
  }
  if (e.time !== undefined && (!(e.time instanceof Date) || Number.isNaN(e.time.getTime()))) throw bad('preference time must be a valid Date');
  const { width, height } = e.image ?? {};
  const isImage = (img: RgbaImage | undefined): boolean => !!img && img.data instanceof Uint8ClampedArray && img.data.length === img.width * img.height * 4 && img.width > 0 && img.height > 0;
  if (!isImage(e.image)) throw bad('preference image must be an RgbaImage (width*height*4 bytes)');
  if (!Array.isArray(e.rejected) || e.rejected.length === 0) {
    throw bad('a preference needs at least one rejected candidate: with a single candidate there is no choice to learn from (generate 2 or more)');
  }
  const pictures: [string, RgbaImage][] = [['chosen', e.chosen], ...e.rejected.map((r, i): [string, RgbaImage] => [`rejected[${i}]`, r])];
  for (const [name, img] of pictures) {
    if (!isImage(img)) throw bad(`preference ${name} must be an RgbaImage (width*height*4 bytes)`);
    if (img.width !== width || img.height !== height) throw bad(`preference ${name} is ${img.width}x${img.height} but image is ${width}x${height}: all pictures of a record have the size of the context crop`);
  }
  if (!e.mask || !(e.mask.data instanceof Uint8Array) || e.mask.data.length !== e.mask.width * e.mask.height) throw bad('preference mask must be a Mask (width*height bytes)');
  if (e.mask.width !== width || e.mask.height !== height) throw bad(`preference mask is ${e.mask.width}x${e.mask.height} but image is ${width}x${height}`);
  if (!e.mask.data.some((v) => v !== 0)) throw bad('preference mask is empty: it must be white where the candidates were generated');
}

/** A relative path inside the recording folder: forward slashes, no "..", no leading "/", a .png. */
export function isPreferencePath(p: unknown): p is string {
  return typeof p === 'string' && /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\.png$/.test(p) && !p.split('/').some((s) => s === '..' || s === '.');
}

function checkRecord(r: unknown): PreferenceRecord {
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad('a preference record is a JSON object');
  const o = r as Record<string, unknown>;
  if (o.schema !== PREFERENCE_SCHEMA) throw bad(`schema must be "${PREFERENCE_SCHEMA}", got ${JSON.stringify(o.schema)}`);
  if (typeof o.time !== 'string' || Number.isNaN(Date.parse(o.time))) throw bad('time must be an ISO-8601 date-time string');
  if (!isPreferenceHost(o.host)) throw bad(`host: ${preferenceHostHint(o.host)}`);
  if (!(EDIT_MODES as readonly unknown[]).includes(o.mode)) throw bad(`mode must be one of ${EDIT_MODES.join(', ')}, got ${JSON.stringify(o.mode)}`);
  if (typeof o.prompt !== 'string') throw bad('prompt must be a string (empty for erase without one)');
  const pack = o.pack as Record<string, unknown> | undefined;
  if (!pack || typeof pack.name !== 'string' || typeof pack.version !== 'string') throw bad('pack must be {name, version}');
  for (const key of ['image', 'mask', 'chosen'] as const) {
    if (!isPreferencePath(o[key])) throw bad(`${key} must be a relative .png path inside the recording folder, got ${JSON.stringify(o[key])}`);
  }
  if (!Array.isArray(o.rejected) || o.rejected.length === 0 || !o.rejected.every(isPreferencePath)) throw bad('rejected must be a non-empty array of relative .png paths');
  return {
    schema: PREFERENCE_SCHEMA,
    time: o.time,
    host: o.host,
    mode: o.mode as EditMode,
    prompt: o.prompt,
    pack: { name: pack.name, version: pack.version },
    image: o.image as string,
    mask: o.mask as string,
    chosen: o.chosen as string,
    rejected: [...(o.rejected as string[])],
  };
}

/** The record as one line (JSON plus "\n"; JSON escapes every newline inside strings). Validates it. */
export function formatPreferenceLine(record: PreferenceRecord): string {
  const r = checkRecord(record);
  return `${JSON.stringify(r)}\n`;
}

/** Parses one line (without its "\n"); throws invalid_argument naming what is wrong. */
export function parsePreferenceLine(line: string): PreferenceRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  return checkRecord(raw);
}

export interface ParsedPreferences {
  records: PreferenceRecord[];
  /** 1-based line numbers that were left out, and why (a torn last line after a crash, a bad record). */
  skipped: { line: number; reason: string }[];
}

/**
 * Reads a whole preferences.jsonl. A record counts only when its line ends with "\n" and parses:
 * a writer that died mid-append leaves at most one unterminated tail (or, once the next writer
 * has closed it, one unparseable line), and both are skipped and reported, never half-read.
 */
export function parsePreferences(text: string): ParsedPreferences {
  const out: ParsedPreferences = { records: [], skipped: [] };
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.records.push(parsePreferenceLine(line));
    } catch (err) {
      out.skipped.push({ line: i + 1, reason: (err as Error).message });
    }
  });
  if (tail.trim() !== '') out.skipped.push({ line: lines.length + 1, reason: 'unterminated last line (a writer stopped mid-append); skipped' });
  return out;
}

/**
 * The crop a record keeps around an edit: `region` (the candidates' compositing bounds, canvas
 * pixels) padded by half its longer side (at least 16 px) and clamped to the canvas. The planner
 * starts its context from the same padding (core/src/plan/plan.ts), so this is the context the
 * model saw, minus the growth to the pack's native size that a very small selection gets.
 */
export function preferenceCrop(canvas: { width: number; height: number }, region: Rect<CanvasSpace>): Rect<CanvasSpace> {
  const pad = Math.max(16, Math.ceil(Math.max(region.width, region.height) / 2));
  const x0 = Math.max(0, region.x - pad);
  const y0 = Math.max(0, region.y - pad);
  const x1 = Math.min(canvas.width, region.x + region.width + pad);
  const y1 = Math.min(canvas.height, region.y + region.height + pad);
  return rect<CanvasSpace>(x0, y0, x1 - x0, y1 - y0);
}

export interface JobPictures {
  /** Where the pictures sit on the job's output canvas. */
  crop: Rect<CanvasSpace>;
  image: RgbaImage;
  mask: Mask<CanvasSpace>;
  /** Per candidate index: the canvas crop with that candidate pasted in. */
  candidates: Map<number, RgbaImage>;
}

/**
 * Turns a finished job into the pictures of a record: the source (padded for outpaint, new area
 * transparent) cropped around the candidates, their compositing masks on the same crop, and each
 * candidate pasted into it. `source` is the image the job was given.
 */
export function jobPictures(source: RgbaImage, summary: Pick<JobSummary, 'canvas' | 'sourceOffset'>, candidates: readonly Pick<Candidate, 'index' | 'region' | 'patch' | 'mask'>[]): JobPictures {
  if (candidates.length === 0) throw bad('the job has no candidates to record');
  const region = candidates.map((c) => c.region).reduce((a, b) => union(a, b));
  const crop = preferenceCrop(summary.canvas, region);
  const canvas = padImage(source, summary.canvas.width, summary.canvas.height, summary.sourceOffset.x, summary.sourceOffset.y);
  const image = cropImage(canvas, crop);
  const mask = new Uint8Array(crop.width * crop.height);
  const pictures = new Map<number, RgbaImage>();
  for (const c of candidates) {
    if (c.patch.width !== c.region.width || c.patch.height !== c.region.height || c.mask.width !== c.region.width || c.mask.height !== c.region.height) {
      throw bad(`candidate ${c.index}: its patch and mask must have the size of its region (${c.region.width}x${c.region.height})`);
    }
    const ox = c.region.x - crop.x;
    const oy = c.region.y - crop.y;
    for (let y = 0; y < c.region.height; y++) {
      for (let x = 0; x < c.region.width; x++) {
        const v = c.mask.data[y * c.region.width + x]!;
        const o = (oy + y) * crop.width + ox + x;
        if (v > mask[o]!) mask[o] = v;
      }
    }
    const out = cropImage(canvas, crop);
    pasteImage(out, c.patch, ox, oy);
    pictures.set(c.index, out);
  }
  return { crop, image, mask: createMask<CanvasSpace>(crop.width, crop.height, mask), candidates: pictures };
}

/**
 * The examples a user's choice makes: one per applied candidate, each against every candidate
 * that was not applied (best ranked first). Nothing when every candidate was applied (no
 * preference) or when an index is unknown (throws).
 */
export function choiceExamples(
  pictures: JobPictures,
  chosen: readonly number[],
  ranking: readonly number[],
  meta: Pick<PreferenceExample, 'host' | 'mode' | 'prompt' | 'pack' | 'time'>,
): PreferenceExample[] {
  const known = [...pictures.candidates.keys()];
  for (const k of chosen) {
    if (!pictures.candidates.has(k)) throw bad(`candidate ${k} is not part of this job; its candidates are ${known.join(', ')}`);
  }
  const order = [...ranking.filter((i) => pictures.candidates.has(i)), ...known.filter((i) => !ranking.includes(i))];
  const rejected = order.filter((i) => !chosen.includes(i));
  if (rejected.length === 0) return [];
  return [...new Set(chosen)].map((k) => ({
    ...meta,
    image: pictures.image,
    mask: pictures.mask,
    chosen: pictures.candidates.get(k)!,
    rejected: rejected.map((i) => pictures.candidates.get(i)!),
  }));
}
