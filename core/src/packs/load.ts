/**
 * Loading a pack: pack.json (parsed, schema-validated), a check that every file it names exists,
 * and the tokenizer. Models are opened later, by the pipeline, on the chosen device.
 */
import { SdkError } from '../util/errors';
import { isInpaintManifest, manifestFiles, validateAnyManifest, type InpaintManifest, type PackManifest, type TokenizerSpec } from './manifest';
import type { PackSource } from './source';
import { ClipBpeTokenizer, WordTokenizer, type Tokenizer } from './tokenizers';

export interface LoadedPack {
  readonly manifest: PackManifest;
  readonly source: PackSource;
  readonly tokenizer: Tokenizer;
}

/** A learned erase pack: one network, no tokenizer. */
export interface LoadedInpaintPack {
  readonly manifest: InpaintManifest;
  readonly source: PackSource;
}

export type LoadedAnyPack = LoadedPack | LoadedInpaintPack;

export function isLoadedInpaintPack(p: LoadedAnyPack): p is LoadedInpaintPack {
  return isInpaintManifest(p.manifest);
}

const utf8 = new TextDecoder('utf-8');

async function readJson(source: PackSource, rel: string): Promise<unknown> {
  const bytes = await source.readBytes(rel);
  if (!bytes) throw new SdkError('pack_file_missing', `${source.location}/${rel} is missing`);
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch (err) {
    throw new SdkError('pack_invalid', `${source.location}/${rel} is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

export async function loadTokenizer(source: PackSource, spec: TokenizerSpec): Promise<Tokenizer> {
  const vocab = await readJson(source, spec.vocab);
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) {
    throw new SdkError('pack_invalid', `${source.location}/${spec.vocab} must be a JSON object mapping tokens to ids`);
  }
  if (spec.type === 'word') return new WordTokenizer(vocab as Record<string, number>, spec.maxLength);
  const merges = await source.readBytes(spec.merges);
  if (!merges) throw new SdkError('pack_file_missing', `${source.location}/${spec.merges} is missing`);
  return new ClipBpeTokenizer(vocab as Record<string, number>, utf8.decode(merges), spec.maxLength, spec.padToken);
}

/** A pack of either family: pack.json validated, every file it names present, the tokenizer for diffusion. */
export async function loadAnyPack(source: PackSource): Promise<LoadedAnyPack> {
  if (!(await source.exists('pack.json'))) {
    throw new SdkError('pack_not_found', `no pack at ${source.location}: pack.json not found. Pass --pack with a pack folder (one that contains pack.json).`);
  }
  const manifest = validateAnyManifest(await readJson(source, 'pack.json'), `${source.location}/pack.json`);
  const missing: string[] = [];
  for (const f of manifestFiles(manifest)) if (!(await source.exists(f))) missing.push(f);
  if (missing.length > 0) {
    throw new SdkError('pack_file_missing', `pack ${manifest.name} at ${source.location} is incomplete: missing ${missing.join(', ')}. Re-download or regenerate the pack.`);
  }
  if (isInpaintManifest(manifest)) return { manifest, source };
  const tokenizer = await loadTokenizer(source, manifest.components.tokenizer);
  return { manifest, source, tokenizer };
}

/** A diffusion pack (an erase pack here is `mode_unsupported`: it has no text encoder, UNet or VAE). */
export async function loadPack(source: PackSource): Promise<LoadedPack> {
  const pack = await loadAnyPack(source);
  if (isLoadedInpaintPack(pack)) {
    throw new SdkError('mode_unsupported', `pack ${pack.manifest.name} at ${source.location} is a learned erase pack (family inpaint), not a diffusion pack: use it with engine inpaint (--engine inpaint --inpaint-pack ${pack.manifest.name})`);
  }
  return pack;
}
