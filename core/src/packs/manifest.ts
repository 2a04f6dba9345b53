/**
 * pack.json: the schema (types + a validator that names the failing field path) shared by the
 * self-trained default pack, the fixture packs and converted Stable-Diffusion-class packs.
 * Schema id `byteedit.pack/1`; see docs/packs.md for every field.
 */
import { SdkError } from '../util/errors';
import { IMAGE_DOMAINS, type EditMode, type ImageDomain } from '../protocol/unions';
import type { SchedulerName } from '../samplers/types';
import { SCHEDULER_NAMES } from '../samplers/types';

export const PACK_SCHEMA = 'byteedit.pack/1';

export type TokenizerSpec =
  | { type: 'clip-bpe'; vocab: string; merges: string; maxLength: number; padToken?: string }
  | { type: 'word'; vocab: string; maxLength: number; lowercase?: boolean };

export interface ComponentSpec {
  file: string;
}

export interface RewardSpec {
  /** Image tower: pixels -> embedding (alignment / aesthetic). */
  image_encoder?: ComponentSpec & { resolution: number; mean?: number[]; std?: number[] };
  /** Text tower: token ids -> embedding. Uses the pack's tokenizer unless `tokenizer` is given. */
  text_encoder?: ComponentSpec & { tokenizer?: TokenizerSpec };
  /** Aesthetic head: image embedding -> scalar. */
  aesthetic?: ComponentSpec;
  /** Pixel-level coherence: image (+ mask) -> per-pixel map of "filled" probability. */
  coherence?: ComponentSpec & { resolution: number };
}

export interface PackManifest {
  schema: typeof PACK_SCHEMA;
  /** diffusion (the default when absent): text encoder, UNet and VAE; see InpaintManifest for `inpaint`. */
  family?: 'diffusion';
  name: string;
  version: string;
  /** fixture: random weights for tests; trained: our own small pack; converted: a real checkpoint. */
  kind: 'fixture' | 'trained' | 'converted';
  description?: string;
  license?: string;
  components: {
    tokenizer: TokenizerSpec;
    text_encoder: ComponentSpec;
    unet: ComponentSpec;
    vae_encoder: ComponentSpec;
    vae_decoder: ComponentSpec;
  };
  latent: {
    channels: number;
    /** Pixels per latent cell (8 for SD). */
    scaleFactor: number;
    /** Latents are multiplied by this after encoding (0.18215 for SD 1.x/2.x). */
    scalingFactor: number;
    /** Optional linear latent -> RGB map for cheap previews: rows are latent channels, columns R,G,B; then a bias row. */
    previewRgb?: number[][];
  };
  resolution: {
    /** The resolution the model was trained at (square side). */
    native: number;
    /** Model input sides must be multiples of this (VAE factor x UNet downsampling). */
    multiple: number;
    /** Upper bound on a model-input side (default 2 x native). */
    max?: number;
  };
  prediction: 'epsilon' | 'v_prediction';
  noiseSchedule: {
    betaSchedule: 'scaled_linear' | 'linear';
    betaStart: number;
    betaEnd: number;
    trainSteps: number;
  };
  defaults: { scheduler: SchedulerName; steps: number; guidance: number };
  modes: EditMode[];
  /** The kinds of image the pack was trained on and serves well (default: both). */
  domains?: ImageDomain[];
  erase?: { prompt: string; negativePrompt: string };
  rewards?: RewardSpec;
}

/**
 * A learned erase pack: one ONNX network, image + mask -> image in one pass (MI-GAN, LaMa). What
 * the model's metadata says (tensor names, dtypes, fixed or free input size) is read from the
 * session when it opens (packs/inpaint-layout.ts); what it cannot say is written here.
 */
export interface InpaintManifest {
  schema: typeof PACK_SCHEMA;
  family: 'inpaint';
  name: string;
  version: string;
  kind: 'fixture' | 'trained' | 'converted';
  description?: string;
  license?: string;
  components: { inpaint: ComponentSpec };
  io: {
    /** Values of the image input for a float tensor, e.g. [0, 1] (a uint8 tensor takes 0..255). */
    inputRange: [number, number];
    /** Values of the output for a float tensor (LaMa's exports give 0..255); default inputRange. */
    outputRange?: [number, number];
    /** What the mask's high value (1, or 255 for uint8) marks: the hole to fill (LaMa) or the pixels to keep (MI-GAN). */
    mask: 'hole' | 'keep';
  };
  resolution: {
    /** The side the network was trained at: the context crop is sized around it (a fixed-size input overrides it). */
    native: number;
    /** Free-size inputs: sides are multiples of this. */
    multiple: number;
    /** Upper bound on a side of a free-size input (default 2 x native). */
    max?: number;
  };
  /** erase and/or outpaint. */
  modes: EditMode[];
  domains?: ImageDomain[];
}

export type AnyPackManifest = PackManifest | InpaintManifest;

export function isInpaintManifest(m: AnyPackManifest): m is InpaintManifest {
  return m.family === 'inpaint';
}

type Json = unknown;

class Checker {
  readonly errors: string[] = [];

  obj(v: Json, path: string): Record<string, Json> | undefined {
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, Json>;
    this.errors.push(`${path}: expected an object`);
    return undefined;
  }

  str(o: Record<string, Json> | undefined, key: string, path: string, optional = false): void {
    if (!o) return;
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || (!optional && v.length === 0)) this.errors.push(`${path}.${key}: expected a non-empty string`);
  }

  num(o: Record<string, Json> | undefined, key: string, path: string, min: number, max: number, opts: { int?: boolean; optional?: boolean } = {}): void {
    if (!o) return;
    const v = o[key];
    if (v === undefined && opts.optional) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (opts.int && !Number.isInteger(v))) {
      this.errors.push(`${path}.${key}: expected ${opts.int ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(v)}`);
    }
  }

  oneOf(o: Record<string, Json> | undefined, key: string, path: string, values: readonly string[], optional = false): void {
    if (!o) return;
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== 'string' || !values.includes(v)) {
      this.errors.push(`${path}.${key}: expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
    }
  }

  file(o: Record<string, Json> | undefined, key: string, path: string): void {
    if (!o) return;
    const v = o[key];
    if (typeof v !== 'string' || v.length === 0) {
      this.errors.push(`${path}.${key}: expected a relative file path`);
    } else if (v.startsWith('/') || v.split(/[\\/]/).includes('..') || /^[a-zA-Z]:/.test(v)) {
      this.errors.push(`${path}.${key}: must be a path inside the pack folder, got ${JSON.stringify(v)}`);
    }
  }
}

/** The fields every pack.json starts with, of either family. */
function checkHeader(c: Checker, root: Record<string, Json>): void {
  if (root.schema !== PACK_SCHEMA) c.errors.push(`$.schema: expected "${PACK_SCHEMA}", got ${JSON.stringify(root.schema)} (is this a byteedit pack?)`);
  c.str(root, 'name', '$');
  c.str(root, 'version', '$');
  c.oneOf(root, 'kind', '$', ['fixture', 'trained', 'converted']);
  c.str(root, 'description', '$', true);
  c.str(root, 'license', '$', true);
}

function checkTokenizer(c: Checker, v: Json, path: string): void {
  const t = c.obj(v, path);
  if (!t) return;
  c.oneOf(t, 'type', path, ['clip-bpe', 'word']);
  c.file(t, 'vocab', path);
  c.num(t, 'maxLength', path, 2, 4096, { int: true });
  if (t.type === 'clip-bpe') {
    c.file(t, 'merges', path);
    c.str(t, 'padToken', path, true);
  }
}

/** Validates parsed pack.json; throws `pack_invalid` listing every problem with its field path. */
export function validateManifest(json: Json, where = 'pack.json'): PackManifest {
  const c = new Checker();
  const root = c.obj(json, '$');
  if (root) {
    checkHeader(c, root);
    const comps = c.obj(root.components, '$.components');
    if (comps) {
      checkTokenizer(c, comps.tokenizer, '$.components.tokenizer');
      for (const name of ['text_encoder', 'unet', 'vae_encoder', 'vae_decoder']) {
        c.file(c.obj(comps[name], `$.components.${name}`), 'file', `$.components.${name}`);
      }
    }
    const latent = c.obj(root.latent, '$.latent');
    c.num(latent, 'channels', '$.latent', 1, 64, { int: true });
    c.num(latent, 'scaleFactor', '$.latent', 1, 64, { int: true });
    c.num(latent, 'scalingFactor', '$.latent', 1e-6, 1e3);
    if (latent && latent.previewRgb !== undefined) {
      const m = latent.previewRgb;
      const ch = typeof latent.channels === 'number' ? latent.channels : -1;
      const ok = Array.isArray(m) && m.length === ch + 1 && m.every((r) => Array.isArray(r) && r.length === 3 && r.every((x) => typeof x === 'number'));
      if (!ok) c.errors.push(`$.latent.previewRgb: expected ${ch} rows of 3 numbers plus a bias row`);
    }
    const res = c.obj(root.resolution, '$.resolution');
    c.num(res, 'native', '$.resolution', 8, 8192, { int: true });
    c.num(res, 'multiple', '$.resolution', 1, 1024, { int: true });
    c.num(res, 'max', '$.resolution', 8, 16384, { int: true, optional: true });
    c.oneOf(root, 'prediction', '$', ['epsilon', 'v_prediction']);
    const ns = c.obj(root.noiseSchedule, '$.noiseSchedule');
    c.oneOf(ns, 'betaSchedule', '$.noiseSchedule', ['scaled_linear', 'linear']);
    c.num(ns, 'betaStart', '$.noiseSchedule', 0, 1);
    c.num(ns, 'betaEnd', '$.noiseSchedule', 0, 1);
    c.num(ns, 'trainSteps', '$.noiseSchedule', 2, 100000, { int: true });
    const d = c.obj(root.defaults, '$.defaults');
    c.oneOf(d, 'scheduler', '$.defaults', SCHEDULER_NAMES);
    c.num(d, 'steps', '$.defaults', 1, 1000, { int: true });
    c.num(d, 'guidance', '$.defaults', 0, 100);
    if (!Array.isArray(root.modes) || root.modes.length === 0 || !root.modes.every((m) => m === 'edit' || m === 'erase' || m === 'outpaint')) {
      c.errors.push('$.modes: expected a non-empty array of "edit", "erase", "outpaint"');
    }
    checkDomains(c, root);
    if (root.erase !== undefined) {
      const e = c.obj(root.erase, '$.erase');
      c.str(e, 'prompt', '$.erase', true);
      c.str(e, 'negativePrompt', '$.erase', true);
    }
    if (root.rewards !== undefined) {
      const r = c.obj(root.rewards, '$.rewards');
      if (r) {
        for (const [key, spec] of Object.entries(r)) {
          if (!['image_encoder', 'text_encoder', 'aesthetic', 'coherence'].includes(key)) {
            c.errors.push(`$.rewards.${key}: unknown reward component (expected image_encoder, text_encoder, aesthetic, coherence)`);
            continue;
          }
          const o = c.obj(spec, `$.rewards.${key}`);
          c.file(o, 'file', `$.rewards.${key}`);
          if (key === 'image_encoder' || key === 'coherence') c.num(o, 'resolution', `$.rewards.${key}`, 8, 4096, { int: true });
          if (key === 'text_encoder' && o && o.tokenizer !== undefined) checkTokenizer(c, o.tokenizer, `$.rewards.${key}.tokenizer`);
        }
      }
    }
  }
  failOn(c, where);
  return json as PackManifest;
}

function failOn(c: Checker, where: string): void {
  if (c.errors.length > 0) {
    const shown = c.errors.slice(0, 5).join('; ');
    const more = c.errors.length > 5 ? ` (and ${c.errors.length - 5} more)` : '';
    throw new SdkError('pack_invalid', `${where} is invalid: ${shown}${more}. Fix the field(s) named, or regenerate the pack.`);
  }
}

function checkDomains(c: Checker, root: Record<string, Json>): void {
  const d = root.domains;
  if (d === undefined) return;
  if (!Array.isArray(d) || d.length === 0 || !d.every((x) => (IMAGE_DOMAINS as readonly unknown[]).includes(x))) {
    c.errors.push(`$.domains: expected a non-empty array of ${IMAGE_DOMAINS.map((x) => `"${x}"`).join(', ')}`);
  }
}

function checkRange(c: Checker, v: Json, path: string, optional: boolean): void {
  if (v === undefined && optional) return;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)) || !((v[0] as number) < (v[1] as number))) {
    c.errors.push(`${path}: expected [low, high] with low < high, got ${JSON.stringify(v)}`);
  }
}

/** Validates the pack.json of a learned erase pack (family "inpaint"). */
export function validateInpaintManifest(json: Json, where = 'pack.json'): InpaintManifest {
  const c = new Checker();
  const root = c.obj(json, '$');
  if (root) {
    checkHeader(c, root);
    if (root.family !== 'inpaint') c.errors.push(`$.family: expected "inpaint", got ${JSON.stringify(root.family)}`);
    const comps = c.obj(root.components, '$.components');
    if (comps) c.file(c.obj(comps.inpaint, '$.components.inpaint'), 'file', '$.components.inpaint');
    const io = c.obj(root.io, '$.io');
    if (io) {
      checkRange(c, io.inputRange, '$.io.inputRange', false);
      checkRange(c, io.outputRange, '$.io.outputRange', true);
      c.oneOf(io, 'mask', '$.io', ['hole', 'keep']);
    }
    const res = c.obj(root.resolution, '$.resolution');
    c.num(res, 'native', '$.resolution', 8, 8192, { int: true });
    c.num(res, 'multiple', '$.resolution', 1, 1024, { int: true });
    c.num(res, 'max', '$.resolution', 8, 16384, { int: true, optional: true });
    if (!Array.isArray(root.modes) || root.modes.length === 0 || !root.modes.every((m) => m === 'erase' || m === 'outpaint')) {
      c.errors.push('$.modes: expected a non-empty array of "erase", "outpaint" (an erase network cannot edit from a prompt)');
    }
    checkDomains(c, root);
  }
  failOn(c, where);
  return json as InpaintManifest;
}

/** Either family, by its `family` field (absent: diffusion). */
export function validateAnyManifest(json: Json, where = 'pack.json'): AnyPackManifest {
  const family = json && typeof json === 'object' ? (json as Record<string, Json>).family : undefined;
  if (family === 'inpaint') return validateInpaintManifest(json, where);
  if (family !== undefined && family !== 'diffusion') {
    throw new SdkError('pack_invalid', `${where} is invalid: $.family: expected "diffusion" or "inpaint", got ${JSON.stringify(family)}. Fix the field named, or regenerate the pack.`);
  }
  return validateManifest(json, where);
}

/** Every file the pack refers to, relative to its folder. */
export function manifestFiles(m: AnyPackManifest): string[] {
  if (isInpaintManifest(m)) return [m.components.inpaint.file];
  const files = [m.components.text_encoder.file, m.components.unet.file, m.components.vae_encoder.file, m.components.vae_decoder.file, m.components.tokenizer.vocab];
  if (m.components.tokenizer.type === 'clip-bpe') files.push(m.components.tokenizer.merges);
  for (const spec of Object.values(m.rewards ?? {})) {
    if (spec && typeof spec === 'object' && 'file' in spec) files.push(spec.file);
  }
  const tt = m.rewards?.text_encoder?.tokenizer;
  if (tt) {
    files.push(tt.vocab);
    if (tt.type === 'clip-bpe') files.push(tt.merges);
  }
  return [...new Set(files)];
}
