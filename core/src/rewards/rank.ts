/**
 * Ranking candidates by weighted rewards, normalized within the job: each reward becomes a z-score
 * across the job's candidates (0 for all when they tie), then the weighted sum orders them. Ties
 * keep candidate order, so the ranking is deterministic for a seed.
 */
import { SdkError } from '../util/errors';
import type { EditMode } from '../engine/types';
import { DEFAULT_WEIGHTS, REWARD_NAMES, type RankWeights, type RewardName } from './types';

export interface Ranking {
  /** Candidate indices, best first. */
  order: number[];
  /** Combined normalized score per candidate index. */
  combined: number[];
  weights: Record<RewardName, number>;
}

export function resolveWeights(mode: EditMode, given?: RankWeights): Record<RewardName, number> {
  const w = { ...DEFAULT_WEIGHTS[mode], ...(given ?? {}) };
  for (const [k, v] of Object.entries(w)) {
    if (!REWARD_NAMES.includes(k as RewardName)) throw new SdkError('invalid_argument', `unknown reward "${k}" in rank weights; use ${REWARD_NAMES.join(', ')}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SdkError('invalid_argument', `rank weight ${k} must be a non-negative number, got ${String(v)}`);
  }
  return w;
}

export function rankCandidates(scores: Partial<Record<string, number>>[], weights: Record<RewardName, number>): Ranking {
  const n = scores.length;
  const combined = new Array<number>(n).fill(0);
  for (const name of REWARD_NAMES) {
    const w = weights[name];
    if (!w) continue;
    const vals = scores.map((s) => s[name]);
    if (vals.some((v) => v === undefined || !Number.isFinite(v))) continue;
    const mean = (vals as number[]).reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt((vals as number[]).reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    if (sd < 1e-9) continue;
    vals.forEach((v, i) => (combined[i]! += (w * (v! - mean)) / sd));
  }
  const order = combined.map((c, i) => [c, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
  return { order, combined, weights };
}

/** Parses the CLI's `aesthetic=a,alignment=b,coherence=c`. */
export function parseRankWeights(text: string): RankWeights {
  const out: RankWeights = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!k || v === undefined || !REWARD_NAMES.includes(k as RewardName) || !/^\d*\.?\d+$/.test(v)) {
      throw new SdkError('invalid_argument', `--rank takes name=weight pairs for ${REWARD_NAMES.join(', ')} (e.g. alignment=1,coherence=0.5), got "${text}"`);
    }
    out[k as RewardName] = Number(v);
  }
  return out;
}
