/**
 * Learned rewards from a pack's `rewards` section (the small pack's, or a reward pack of CLIP-style
 * towers): alignment (cosine of image and text embeddings; CLIPScore = 2.5 * max(cos, 0), Hessel et
 * al. 2021), aesthetic (a head on the image embedding) and pixel-level coherence (per-pixel logit
 * that a pixel was filled; the reward is 1 - mean probability over the mask and a band around it).
 */
import { SdkError } from '../util/errors';
import { cropImage } from '../image/ops';
import { resizeImage, resizeMask } from '../image/resize';
import { growMask } from '../image/ops';
import { rect, type Space } from '../image/geometry';
import type { Mask, RgbaImage } from '../image/image';
import type { LoadedPack } from '../packs/load';
import { loadTokenizer } from '../packs/load';
import type { Tokenizer } from '../packs/tokenizers';
import type { DeviceName, ModelSession, Runtime, TensorData } from '../runtime/types';
import { asFloat32, intTensor } from '../runtime/tensors';
import type { RewardInput, RewardModel, RewardScore } from './types';

/** A square crop around the mask (padded by a quarter of its side), for the image tower. */
export function subjectCrop(image: RgbaImage, mask: Mask<Space>): RgbaImage {
  const b = mask.bounds ?? rect(0, 0, image.width, image.height);
  const side = Math.min(Math.max(image.width, image.height), Math.round(Math.max(b.width, b.height) * 1.25) + 8);
  const cx = b.x + b.width / 2;
  const cy = b.y + b.height / 2;
  const x = Math.round(Math.max(0, Math.min(image.width - side, cx - side / 2)));
  const y = Math.round(Math.max(0, Math.min(image.height - side, cy - side / 2)));
  return cropImage(image, rect(x, y, side, side));
}

function pixelTensor(image: RgbaImage, size: number, mean: number[], std: number[]): TensorData {
  const r = resizeImage(image, size, size);
  const n = size * size;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) data[c * n + i] = (r.data[i * 4 + c]! / 255 - mean[c]!) / std[c]!;
  return { type: 'float32', dims: [1, 3, size, size], data };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb + 1e-12);
}

interface Towers {
  image: ModelSession;
  imageSize: number;
  mean: number[];
  std: number[];
  text?: ModelSession;
  tokenizer?: Tokenizer;
}

/** Caches the image embedding of the last input so alignment and aesthetic share one tower run. */
class EmbeddingCache {
  private last: { image: RgbaImage; embeds: Float32Array } | null = null;

  constructor(private readonly towers: Towers) {}

  async embed(input: RewardInput): Promise<Float32Array> {
    if (this.last?.image === input.image) return this.last.embeds;
    const t = this.towers;
    const out = await t.image.run({ [t.image.inputs[0]!.name]: pixelTensor(subjectCrop(input.image, input.mask), t.imageSize, t.mean, t.std) });
    const embeds = asFloat32(out[t.image.outputs[0]!.name]!);
    this.last = { image: input.image, embeds };
    return embeds;
  }
}

class AlignmentReward implements RewardModel {
  readonly name = 'alignment' as const;
  private readonly textCache = new Map<string, Float32Array>();

  constructor(
    readonly source: string,
    private readonly towers: Towers,
    private readonly cache: EmbeddingCache,
  ) {}

  async score(input: RewardInput): Promise<RewardScore> {
    const t = this.towers;
    let text = this.textCache.get(input.prompt);
    if (!text) {
      const ids = t.tokenizer!.encode(input.prompt);
      const meta = t.text!.inputs[0]!;
      const out = await t.text!.run({ [meta.name]: intTensor(meta.type === 'int32' ? 'int32' : 'int64', ids, [1, ids.length]) });
      text = asFloat32(out[t.text!.outputs[0]!.name]!);
      this.textCache.set(input.prompt, text);
    }
    return { value: cosine(await this.cache.embed(input), text) };
  }
}

class AestheticReward implements RewardModel {
  readonly name = 'aesthetic' as const;

  constructor(
    readonly source: string,
    private readonly head: ModelSession,
    private readonly cache: EmbeddingCache,
  ) {}

  async score(input: RewardInput): Promise<RewardScore> {
    const e = await this.cache.embed(input);
    const out = await this.head.run({ [this.head.inputs[0]!.name]: { type: 'float32', dims: [1, e.length], data: e } });
    return { value: asFloat32(out[this.head.outputs[0]!.name]!)[0]! };
  }
}

class LearnedCoherence implements RewardModel {
  readonly name = 'coherence' as const;

  constructor(
    readonly source: string,
    private readonly session: ModelSession,
    private readonly size: number,
  ) {}

  async score(input: RewardInput): Promise<RewardScore> {
    const s = this.size;
    const img = resizeImage(input.image, s, s);
    const m = resizeMask<Space>(input.mask, s, s);
    const n = s * s;
    const pixels = new Float32Array(3 * n);
    const maskT = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) pixels[c * n + i] = img.data[i * 4 + c]! / 127.5 - 1;
      maskT[i] = m.data[i]! / 255;
    }
    const [imgIn, maskIn] = this.session.inputs;
    const out = await this.session.run({
      [imgIn!.name]: { type: 'float32', dims: [1, 3, s, s], data: pixels },
      [maskIn!.name]: { type: 'float32', dims: [1, 1, s, s], data: maskT },
    });
    const logits = asFloat32(out[this.session.outputs[0]!.name]!);
    const map = logits.map((v) => 1 / (1 + Math.exp(-v)));
    // The region that matters: the mask and a band around it (where seams show).
    const band = growMask(m, Math.max(2, Math.round(s / 16)));
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (band.data[i]! > 0) {
        sum += map[i]!;
        count++;
      }
    }
    return { value: count > 0 ? 1 - sum / count : 1, map };
  }
}

/** Opens the reward models a pack declares (none when it has no `rewards`). */
export async function openPackRewards(pack: LoadedPack, runtime: Runtime, device: DeviceName): Promise<RewardModel[]> {
  const spec = pack.manifest.rewards;
  if (!spec) return [];
  const open = async (file: string): Promise<ModelSession> => runtime.createSession(await pack.source.modelSource(file), device);
  const source = `pack ${pack.manifest.name}`;
  const models: RewardModel[] = [];
  const sessions: ModelSession[] = [];
  try {
    if (spec.image_encoder) {
      const image = await open(spec.image_encoder.file);
      sessions.push(image);
      const towers: Towers = { image, imageSize: spec.image_encoder.resolution, mean: spec.image_encoder.mean ?? [0.5, 0.5, 0.5], std: spec.image_encoder.std ?? [0.5, 0.5, 0.5] };
      const cache = new EmbeddingCache(towers);
      if (spec.text_encoder) {
        towers.text = await open(spec.text_encoder.file);
        sessions.push(towers.text);
        towers.tokenizer = spec.text_encoder.tokenizer ? await loadTokenizer(pack.source, spec.text_encoder.tokenizer) : pack.tokenizer;
        models.push(new AlignmentReward(`${source} (image-text cosine)`, towers, cache));
      }
      if (spec.aesthetic) {
        const head = await open(spec.aesthetic.file);
        sessions.push(head);
        models.push(new AestheticReward(`${source} (preference head)`, head, cache));
      }
    } else if (spec.text_encoder || spec.aesthetic) {
      throw new SdkError('pack_invalid', `${pack.source.location}/pack.json: rewards.text_encoder and rewards.aesthetic need rewards.image_encoder`);
    }
    if (spec.coherence) {
      const s = await open(spec.coherence.file);
      sessions.push(s);
      models.push(new LearnedCoherence(`${source} (pixel-level)`, s, spec.coherence.resolution));
    }
  } catch (err) {
    await Promise.all(sessions.map((s) => s.release()));
    throw err;
  }
  const release = async (): Promise<void> => {
    await Promise.all(sessions.map((s) => s.release()));
  };
  // One release for all (sessions are shared between alignment and aesthetic).
  if (models[0]) models[0].release = release;
  return models;
}
