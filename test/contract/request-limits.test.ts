/**
 * One request, three readers that must agree: for every field of core's REQUEST_FIELDS, the CLI
 * (parseEditArgs in-process, plus one real `byteedit edit` run), the bridge (a real server over
 * loopback with the fake engine: POST /v1/jobs as JSON and as multipart) and the OpenAPI document
 * accept and refuse the same values. The cases are generated from the table — each numeric
 * field's limits and just past them, every enum value and one bad one, both booleans, margins and
 * weights at and past their limits, text at its maximum length — so a new field is covered
 * without touching this file. An accepted value must reach the engine as the CLI parsed it; a
 * refused one must be refused up front (400 invalid_argument naming the field, no job, the engine
 * never called).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EDIT_MODES, FIELD_NAMES, REQUEST_FIELDS, REWARD_NAMES, encodePng, type EditMode, type FieldName } from '@byteedit/core';
import { parseEditArgs } from '../../core/src/cli/args';
import { PACK_NAME_FIELDS } from '../../plugins/gimp-bridge/src/decode-input';
import { DEFAULTS, startServer, type BridgeServer } from '../../plugins/gimp-bridge/src/server';
import { FakeEngine } from '../../plugins/gimp-bridge/test/fake-engine';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(text: string): unknown };

const REPO = resolve(__dirname, '..', '..');
const FIXTURE_PACK = join(REPO, 'models', 'fixtures', 'tiny-sd-diffusers');
const FIXTURE_NAME = 'tiny-sd-diffusers';
/** `byteedit`: runs main() of core/dist/node/cli.js (built by jest's globalSetup). */
const BYTEEDIT = join(REPO, 'core', 'bin', 'byteedit.js');
const CORE_CLI = join(REPO, 'core', 'dist', 'node', 'cli.js');

// ---------------------------------------------------------------------------------------------
// The cases, from the table.

interface Case {
  field: FieldName;
  label: string;
  /** The value as a JSON body carries it. */
  typed: unknown;
  /** As a CLI flag and a multipart text part carry it; absent: only JSON can say it (a number for a text field). */
  text?: string;
  valid: boolean;
}

const fmt = (v: number): string => String(Number(v.toFixed(6)));

function casesOf(field: FieldName): Case[] {
  const spec = REQUEST_FIELDS[field];
  const out: Case[] = [];
  /** `text` null: the value has no text form. */
  const add = (label: string, typed: unknown, valid: boolean, text: string | null = typeof typed === 'string' ? typed : typeof typed === 'number' ? fmt(typed) : null): void => {
    out.push({ field, label: `${field} ${label}`, typed, valid, ...(text === null ? {} : { text }) });
  };
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const lo = spec.min!;
      const hi = spec.max!;
      const d = spec.kind === 'int' ? 1 : 0.001;
      if (spec.exclusiveMin) {
        add(`= ${lo} (exclusive minimum)`, lo, false);
        add(`= ${fmt(lo + d)} (just above the minimum)`, Number(fmt(lo + d)), true);
      } else add(`= ${lo} (minimum)`, lo, true);
      add(`= ${fmt(lo - d)} (just below the minimum)`, Number(fmt(lo - d)), false);
      add(`= ${hi} (maximum)`, hi, true);
      add(`= ${fmt(hi + d)} (just above the maximum)`, Number(fmt(hi + d)), false);
      if (spec.kind === 'int') add(`= ${lo + 0.5} (not whole)`, lo + 0.5, false);
      add('= "abc" (not a number)', 'abc', false);
      break;
    }
    case 'enum':
      for (const v of spec.values!) add(`= ${v}`, v, true);
      add('= "bogus"', 'bogus', false);
      break;
    case 'boolean':
      add('= true', true, true, 'true');
      add('= false', false, true, 'false');
      add('= "maybe"', 'maybe', false);
      break;
    case 'text':
      add('empty', '', true);
      add(`of ${spec.maxLength} characters (maximum)`, 'x'.repeat(spec.maxLength!), true);
      add(`of ${spec.maxLength! + 1} characters`, 'x'.repeat(spec.maxLength! + 1), false);
      add('as a number (JSON only)', 42, false, null);
      if ((PACK_NAME_FIELDS as readonly string[]).includes(field)) add(`= ${FIXTURE_NAME} (a pack this bridge serves)`, FIXTURE_NAME, true);
      break;
    case 'margins': {
      const lo = spec.min!;
      const hi = spec.max!;
      const m = (sides: number[]): void => add(`= ${sides.join(',')}`, sides, sides.length === 4 && sides.every((s) => Number.isInteger(s) && s >= lo && s <= hi), sides.join(','));
      m([lo, lo, lo, lo]);
      m([hi, lo, lo, lo]);
      m([lo, lo, lo, hi]);
      m([hi + 1, lo, lo, lo]);
      m([lo, lo, lo - 1, lo]);
      m([lo, lo, lo]);
      m([1.5, lo, lo, lo]);
      break;
    }
    case 'weights': {
      const lo = spec.min!;
      const hi = spec.max!;
      const w = (name: string, v: number, valid: boolean): void => add(`= ${name}=${fmt(v)}`, { [name]: v }, valid, `${name}=${fmt(v)}`);
      for (const r of REWARD_NAMES) {
        w(r, lo, true);
        w(r, hi, true);
      }
      w(REWARD_NAMES[0], Number(fmt(hi + 0.001)), false);
      w(REWARD_NAMES[0], Number(fmt(lo - 0.001)), false);
      w('beauty', 1, false);
      break;
    }
  }
  return out;
}

const CASES = FIELD_NAMES.flatMap(casesOf);

/** The other fields a case needs to be a request on its own: a mode the field applies to (and margins for outpaint). */
function contextOf(c: Case): { mode: EditMode | undefined; fields: Record<string, { typed: unknown; text: string }> } {
  const modes = REQUEST_FIELDS[c.field].modes;
  const mode = c.field === 'mode' ? ((EDIT_MODES as readonly unknown[]).includes(c.typed) ? (c.typed as EditMode) : undefined) : (['erase', 'edit', 'outpaint'] as const).find((m) => modes.includes(m));
  const fields: Record<string, { typed: unknown; text: string }> = {};
  if (c.field !== 'mode' && mode) fields.mode = { typed: mode, text: mode };
  if (mode === 'outpaint' && c.field !== 'expand') fields.expand = { typed: [0, 0, 8, 0], text: '0,0,8,0' };
  return { mode, fields };
}

// ---------------------------------------------------------------------------------------------
// The readers.

type Outcome = { ok: true; value: unknown } | { ok: false; status?: number; code: string; message: string };

let dir: string;
let imagePath: string;
let maskPath: string;
const IMAGE = Buffer.from(encodePng({ width: 1, height: 1, data: new Uint8ClampedArray([90, 120, 200, 255]) }));
const MASK = Buffer.from(encodePng({ width: 1, height: 1, data: new Uint8ClampedArray([255, 255, 255, 255]) }));

/** The CLI's arguments for a case; [] for a boolean at its default (the CLI says it by leaving the flag out). */
function cliArgs(c: Case): string[] | null {
  const spec = REQUEST_FIELDS[c.field];
  const flag = `--${spec.cli}`;
  if (spec.kind === 'boolean') {
    if (c.typed === spec.cliSets) return [flag];
    if (c.typed === !spec.cliSets) return [];
    return [`${flag}=${c.text}`];
  }
  return c.text === undefined ? null : [`${flag}=${c.text}`];
}

function cli(c: Case, args: string[]): Outcome {
  const { mode, fields } = contextOf(c);
  const argv = ['--image', imagePath, '--out', join(dir, 'out.png'), ...(mode === 'outpaint' ? [] : ['--mask', maskPath])];
  for (const [f, v] of Object.entries(fields)) argv.push(`--${REQUEST_FIELDS[f as FieldName].cli}=${v.text}`);
  try {
    return { ok: true, value: parseEditArgs([...argv, ...args]).request[c.field] };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { ok: false, code: e.code ?? 'thrown', message: e.message };
  }
}

let server: BridgeServer;
let engine: FakeEngine;
const auth = (): Record<string, string> => ({ Authorization: `Bearer ${server.token}` });

async function post(body: Buffer | string, contentType: string): Promise<Outcome> {
  const before = engine.submits;
  const jobsBefore = server.stats().jobs;
  const r = await fetch(`${server.url}/v1/jobs`, { method: 'POST', headers: { ...auth(), 'Content-Type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const reply = (await r.json()) as { id?: string; error?: { code: string; message: string } };
  if (r.status === 202) {
    expect(engine.submits).toBe(before + 1);
    const request = engine.lastRequest!;
    // The job has done its part; cancelling keeps the fake's queue short.
    await fetch(`${server.url}/v1/jobs/${reply.id}`, { method: 'DELETE', headers: auth() });
    return { ok: true, value: request };
  }
  // Refused up front: the engine was never asked and no job exists.
  if (r.status === 400) {
    expect(engine.submits).toBe(before);
    expect(server.stats().jobs).toBe(jobsBefore);
  }
  return { ok: false, status: r.status, code: reply.error!.code, message: reply.error!.message };
}

function bridgeJson(c: Case): Promise<Outcome> {
  const { mode, fields } = contextOf(c);
  const body: Record<string, unknown> = { image: IMAGE.toString('base64'), ...(mode === 'outpaint' ? {} : { mask: MASK.toString('base64') }) };
  for (const [f, v] of Object.entries(fields)) body[f] = v.typed;
  body[c.field] = c.typed;
  return post(JSON.stringify(body), 'application/json');
}

function bridgeMultipart(c: Case): Promise<Outcome> {
  const { mode, fields } = contextOf(c);
  const boundary = 'limitsBoundary7';
  const part = (name: string, value: Buffer | string, file = false): Buffer =>
    Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${name}.png"\r\nContent-Type: image/png` : ''}\r\n\r\n`), Buffer.from(value), Buffer.from('\r\n')]);
  const parts = [part('image', IMAGE, true), ...(mode === 'outpaint' ? [] : [part('mask', MASK, true)])];
  for (const [f, v] of Object.entries(fields)) parts.push(part(f, v.text));
  parts.push(part(c.field, c.text!), Buffer.from(`--${boundary}--\r\n`));
  return post(Buffer.concat(parts), `multipart/form-data; boundary=${boundary}`);
}

/** What the engine must have been given for a value the CLI parsed as `value`. */
function engineValue(field: FieldName, value: unknown): unknown {
  if ((PACK_NAME_FIELDS as readonly string[]).includes(field)) return value === FIXTURE_NAME ? realpathSync(FIXTURE_PACK) : undefined;
  if (field === 'maxPixels') return Math.min(value as number, DEFAULTS.maxPixels);
  return value;
}

// The OpenAPI document's JobRequest properties, and a validator for the JSON Schema keywords they
// use. An unknown keyword fails the test rather than passing unchecked.
type Schema = Record<string, unknown>;
let properties: Record<string, Schema>;

function matches(schema: Schema, v: unknown): boolean {
  const known = ['type', 'enum', 'minimum', 'maximum', 'exclusiveMinimum', 'maxLength', 'pattern', 'oneOf', 'properties', 'additionalProperties', 'items', 'minItems', 'maxItems', 'description', 'default'];
  for (const k of Object.keys(schema)) if (!known.includes(k)) throw new Error(`the test's schema validator does not know "${k}"`);
  const s = schema as {
    type?: string;
    enum?: unknown[];
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    maxLength?: number;
    pattern?: string;
    oneOf?: Schema[];
    properties?: Record<string, Schema>;
    additionalProperties?: boolean;
    items?: Schema;
    minItems?: number;
    maxItems?: number;
  };
  if (s.oneOf && s.oneOf.filter((sub) => matches(sub, v)).length !== 1) return false;
  const typeOk: Record<string, (x: unknown) => boolean> = {
    string: (x) => typeof x === 'string',
    integer: (x) => Number.isInteger(x),
    number: (x) => typeof x === 'number' && Number.isFinite(x),
    boolean: (x) => typeof x === 'boolean',
    object: (x) => !!x && typeof x === 'object' && !Array.isArray(x),
    array: Array.isArray,
  };
  if (s.type && !typeOk[s.type]!(v)) return false;
  if (s.enum && !s.enum.includes(v)) return false;
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) return false;
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) return false;
    if (s.maximum !== undefined && v > s.maximum) return false;
  }
  if (typeof v === 'string') {
    if (s.maxLength !== undefined && [...v].length > s.maxLength) return false;
    if (s.pattern !== undefined && !new RegExp(s.pattern).test(v)) return false;
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) return false;
    if (s.maxItems !== undefined && v.length > s.maxItems) return false;
    if (s.items && !v.every((x) => matches(s.items!, x))) return false;
  }
  if (v && typeof v === 'object' && !Array.isArray(v) && s.properties) {
    for (const [k, x] of Object.entries(v)) {
      if (s.properties[k]) {
        if (!matches(s.properties[k], x)) return false;
      } else if (s.additionalProperties === false) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'byteedit-limits-'));
  imagePath = join(dir, 'in.png');
  maskPath = join(dir, 'mask.png');
  writeFileSync(imagePath, IMAGE);
  writeFileSync(maskPath, MASK);
  engine = new FakeEngine({ stepMs: 1 });
  server = await startServer({ engine, port: 0, packs: [FIXTURE_PACK], writeBridgeFile: false, maxActiveJobs: 10_000 });
  const spec = yaml.load(readFileSync(join(REPO, 'plugins', 'gimp-bridge', 'openapi.yaml'), 'utf8')) as { components: { schemas: { JobRequest: { properties: Record<string, Schema> } } } };
  properties = spec.components.schemas.JobRequest.properties;
});

afterAll(async () => {
  await server?.close({ mode: 'cancel' });
  await engine?.dispose();
});

describe('request limits: the CLI, the bridge and the OpenAPI document agree on every field of the table', () => {
  it('has cases for every field, valid and invalid ones', () => {
    for (const f of FIELD_NAMES) {
      expect([f, CASES.some((c) => c.field === f && c.valid)]).toEqual([f, true]);
      expect([f, CASES.some((c) => c.field === f && !c.valid)]).toEqual([f, true]);
    }
  });

  it.each(CASES.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    const spec = REQUEST_FIELDS[c.field];
    const refusedBy = (o: Outcome, name: string): void => {
      expect(o).toMatchObject({ ok: false, code: 'invalid_argument', message: expect.stringContaining(name) });
    };

    // The OpenAPI document.
    expect(properties[c.field]).toBeDefined();
    expect(matches(properties[c.field]!, c.typed)).toBe(c.valid);

    // The CLI.
    const args = cliArgs(c);
    let parsed: unknown = c.typed;
    if (args) {
      const o = cli(c, args);
      if (c.valid) {
        expect(o).toMatchObject({ ok: true });
        if (args.length === 0) {
          // A boolean at its default: the CLI leaves it out, and the table says it is this value.
          expect((o as { value: unknown }).value).toBeUndefined();
          expect(spec.default).toBe(c.typed);
        } else parsed = (o as { value: unknown }).value;
      } else refusedBy(o, `--${spec.cli}`);
    }

    // The bridge, as JSON and (where the value has a text form) as multipart text fields.
    // One at a time: each reply is checked against the engine's count of submissions.
    const readers = [() => bridgeJson(c), ...(c.text !== undefined ? [() => bridgeMultipart(c)] : [])];
    for (const read of readers) {
      const o = await read();
      if (!c.valid) {
        expect(o).toMatchObject({ status: 400 });
        refusedBy(o, c.field);
      } else if ((PACK_NAME_FIELDS as readonly string[]).includes(c.field) && c.typed !== FIXTURE_NAME) {
        // Pack fields are names of packs this bridge serves: valid text, but not a pack here.
        expect(o).toMatchObject({ ok: false, status: 404, code: 'pack_not_found' });
      } else {
        expect(o).toMatchObject({ ok: true });
        const request = (o as { value: Record<string, unknown> }).value;
        expect(request[c.field]).toEqual(engineValue(c.field, parsed));
      }
    }
  });

  it('reads the old name rankWeights as rank', async () => {
    const o = await post(JSON.stringify({ image: IMAGE.toString('base64'), mask: MASK.toString('base64'), mode: 'erase', rankWeights: { coherence: 2 } }), 'application/json');
    expect(o).toMatchObject({ ok: true });
    const request = (o as { value: Record<string, unknown> }).value;
    expect(request.rank).toEqual({ coherence: 2 });
    expect(request).not.toHaveProperty('rankWeights');
  });

  it('refuses guidance 40 up front: `byteedit edit` exits non-zero naming --guidance and writes nothing; the bridge answers 400 and creates no job', async () => {
    if (!existsSync(CORE_CLI)) execFileSync(process.execPath, [join(REPO, 'core', 'build.mjs')], { stdio: 'inherit' });
    const out = join(dir, 'guidance-40.png');
    const run = spawnSync(process.execPath, [BYTEEDIT, 'edit', '--image', imagePath, '--mask', maskPath, '--prompt', 'a red ball', '--guidance', '40', '--out', out], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status).not.toBe(0);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/invalid_argument.*--guidance/);
    expect(existsSync(out)).toBe(false);

    const jobs = (await (await fetch(`${server.url}/v1/jobs`, { headers: auth() })).json()) as { jobs: unknown[] };
    const o = await post(JSON.stringify({ image: IMAGE.toString('base64'), mask: MASK.toString('base64'), mode: 'edit', prompt: 'a red ball', guidance: 40 }), 'application/json');
    expect(o).toMatchObject({ ok: false, status: 400, code: 'invalid_argument', message: expect.stringContaining('guidance') });
    const after = (await (await fetch(`${server.url}/v1/jobs`, { headers: auth() })).json()) as { jobs: unknown[] };
    expect(after.jobs).toHaveLength(jobs.jobs.length);
  });
});
