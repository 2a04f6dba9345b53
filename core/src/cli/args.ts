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

export const EDIT_USAGE = `usage: byteedit edit --image IN --mask MASK [--prompt P] [--mode edit|erase|outpaint]
                     [--expand L,T,R,B] [--pack DIR] [--steps N] [--guidance G] [--scheduler S]
                     [--strength S] [--candidates K] [--seed S] [--device auto|cpu|webgpu|cuda]
                     [--negative-prompt P] [--no-color-match] [--max-pixels N]
                     [--rank aesthetic=A,alignment=B,coherence=C] [--no-rewards]
                     [--engine auto|diffusion|fill] [--prefill] [--search best-of-n|guided]
                     [--blend color-match|poisson|none]
                     --out OUT.png [--json]

  The mask is white (255) where to edit. Outpaint needs no mask: --expand gives the margins.
  K > 1 writes OUT-1.png ... OUT-K.png, best first by the weighted rewards (--rank).
  --engine fill erases and outpaints without a model (PatchMatch); auto uses it when the pack
  cannot do the mode. --prefill fills the hole first, then denoises from --strength (default 0.6).
  Without --pack the embedded default pack is used.`;

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
