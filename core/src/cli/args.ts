/**
 * `byteedit edit` options: the CLI's own (files, device, output) plus one flag per request field of
 * the protocol's table, parsed by the protocol's parser, so the command line accepts exactly what
 * the bridge and the engine accept.
 */
import { parseArgs } from 'node:util';
import { SdkError } from '../protocol/errors';
import { FIELD_NAMES, REQUEST_FIELDS, type FieldName, type RequestParams } from '../protocol/fields';
import { parseField, parseRequestParams } from '../protocol/request';
import { DEVICE_NAMES, type DeviceName } from '../protocol/unions';

export interface EditArgs {
  image: string;
  mask?: string;
  out: string;
  json: boolean;
  quiet: boolean;
  device: DeviceName;
  /** Every request field given on the command line, parsed by the protocol's one parser. */
  request: RequestParams;
  /** request.candidates or its default: how many files are written. */
  candidates: number;
}

/** One line per request field, from the protocol's table: the flag, its values or range, its doc. */
function fieldUsage(): string {
  const lines = FIELD_NAMES.map((f) => {
    const spec = REQUEST_FIELDS[f];
    const value =
      spec.kind === 'boolean' ? '' : spec.kind === 'enum' ? ` ${spec.values!.join('|')}` : spec.kind === 'int' || spec.kind === 'number' ? ` ${spec.exclusiveMin ? `(${spec.min}` : `[${spec.min}`}..${spec.max}]` : spec.kind === 'margins' ? ' L,T,R,B' : spec.kind === 'weights' ? ' NAME=W,…' : ' TEXT';
    const dflt = spec.default !== undefined && spec.kind !== 'boolean' ? ` (default ${String(spec.default)})` : '';
    return `  --${spec.cli}${value}\n      ${spec.doc}${dflt}`;
  });
  return lines.join('\n');
}

export const EDIT_USAGE = `usage: byteedit edit --image IN [--mask MASK] --out OUT.png [options]

  The mask is white (255) where to edit. Outpaint needs no mask: --expand gives the margins.
  K > 1 writes OUT-1.png ... OUT-K.png, best first by the weighted rewards (--rank).
  Without --pack the embedded default pack is used.

  --image IN        the picture to edit (PNG or JPEG)
  --mask MASK       white where to edit or erase (required except for outpaint)
  --out OUT         where to write the result (.png, .jpg, .jpeg)
  --device D        auto|cpu|webgpu|cuda (default auto: the first device that passes its check)
  --json            print one JSON object on stdout: files, seeds, scores, device, timings
  -q, --quiet       no progress bar or notes

request options (the same fields, limits and defaults as the bridge's POST /v1/jobs):
${fieldUsage()}`;

function bad(message: string): never {
  throw new SdkError('invalid_argument', message);
}

/**
 * util.parseArgs reads "--steps -1" as a flag missing its value ("argument is ambiguous"): join a
 * value that looks like a negative number to its option, so the range check names the problem.
 */
function joinNegativeValues(argv: string[], stringOptions: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && stringOptions.has(a.slice(2)) && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** Options that are the CLI's own; every other flag is a request field from the protocol's table. */
const CLI_OPTIONS = {
  image: { type: 'string' },
  mask: { type: 'string' },
  device: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

const EDIT_OPTIONS: Record<string, OptionSpec> = {
  ...CLI_OPTIONS,
  ...Object.fromEntries(FIELD_NAMES.map((f) => [REQUEST_FIELDS[f].cli, { type: REQUEST_FIELDS[f].kind === 'boolean' ? 'boolean' : 'string' }])),
};

const STRING_OPTIONS: ReadonlySet<string> = new Set(Object.entries(EDIT_OPTIONS).filter(([, o]) => o.type === 'string').map(([k]) => k));

const flag = (field: FieldName): string => `--${REQUEST_FIELDS[field].cli}`;

export function parseEditArgs(argv: string[]): EditArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, STRING_OPTIONS), allowPositionals: false, options: EDIT_OPTIONS });
  } catch (err) {
    bad(`${err instanceof Error ? err.message : String(err)}; see byteedit edit --help`);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const raw: Record<string, unknown> = {};
  for (const f of FIELD_NAMES) {
    const spec = REQUEST_FIELDS[f];
    const given = v[spec.cli];
    if (given === undefined) continue;
    raw[f] = spec.kind === 'boolean' ? spec.cliSets : given;
  }
  // Mode first: the other checks name it.
  if (raw.mode !== undefined) parseField('mode', raw.mode, { form: 'text', spell: flag });
  const mode = (raw.mode as string | undefined) ?? 'edit';
  const image = v.image as string | undefined;
  const out = v.out as string | undefined;
  if (!image) bad('--image is required: the picture to edit (PNG or JPEG)');
  if (!out) bad('--out is required: where to write the result (.png or .jpg)');
  if (!/\.(png|jpe?g)$/i.test(out)) bad(`--out must end in .png, .jpg or .jpeg, got "${out}"`);
  if (mode !== 'outpaint' && !v.mask) bad(`--mask is required for --mode ${mode}: white (255) where to ${mode === 'erase' ? 'erase' : 'edit'}`);
  const request = parseRequestParams(raw, { form: 'text', spell: flag });
  const device = v.device as string | undefined;
  const devices = DEVICE_NAMES.filter((d) => d !== 'wasm');
  if (device !== undefined && !(devices as readonly string[]).includes(device)) bad(`--device must be one of ${devices.join(', ')}, got "${device}"`);
  return {
    image,
    mask: v.mask as string | undefined,
    out,
    json: v.json === true,
    quiet: v.quiet === true,
    device: (device as DeviceName | undefined) ?? 'auto',
    request,
    candidates: request.candidates ?? 1,
  };
}
