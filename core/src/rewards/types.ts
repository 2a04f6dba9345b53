/** Reward models score a candidate: higher is better. Optional per-pixel maps (coherence). */
import type { Mask, RgbaImage } from '../image/image';
import type { Space } from '../image/geometry';
import type { EditMode, RankWeights, RewardName } from '../protocol/unions';
export { REWARD_NAMES, type RewardName, type RankWeights } from '../protocol/unions';

export interface RewardInput {
  /** The composited result around the edit (context crop), straight RGBA. */
  image: RgbaImage;
  /** Where it was generated (same size as image), 255 = generated. */
  mask: Mask<Space>;
  prompt: string;
  mode: EditMode;
}

export interface RewardScore {
  value: number;
  /** Per-pixel map (same size as the input), when the model gives one. */
  map?: Float32Array;
}

export interface RewardModel {
  readonly name: RewardName;
  /** e.g. "clip-score (pack byteedit-small)" or "analytic". */
  readonly source: string;
  score(input: RewardInput): Promise<RewardScore>;
  release?(): Promise<void>;
}

/** Defaults per mode: erase leans on coherence (nothing new should appear), edit on alignment. */
export const DEFAULT_WEIGHTS: Readonly<Record<EditMode, Required<RankWeights>>> = Object.freeze({
  edit: { alignment: 0.5, coherence: 0.3, aesthetic: 0.2 },
  erase: { alignment: 0, coherence: 0.7, aesthetic: 0.3 },
  outpaint: { alignment: 0.2, coherence: 0.5, aesthetic: 0.3 },
});
