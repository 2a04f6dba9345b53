/**
 * Ranking candidates by weighted rewards, normalized within the job: each reward becomes a z-score
 * across the job's candidates, then the weighted sum orders them. Differences smaller than the
 * backends disagree by are ties, and ties go to the lower seed, so the order (OUT-1.png ...) is the
 * same on every backend.
 */
import { SdkError } from '../util/errors';
import type { EditMode } from '../protocol/unions';
import { DEFAULT_WEIGHTS, REWARD_NAMES, type RankWeights, type RewardName } from './types';

/**
 * How closely backends (CPU, WebGPU, CUDA; fp32) agree on a reward value, relative to
 * max(1, |value|). A reward spread below this carries no ranking signal, only backend noise.
 */
export const REWARD_AGREEMENT = 1e-4;
/** Float noise left in a sum of z-scores that should be equal. */
const FLOAT_TIE = 1e-9;

export interface Ranking {
  /** Candidate indices, best first. */
  order: number[];
  /** Combined normalized score per candidate index; tied candidates carry their tie's mean. */
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

/**
 * `seeds[i]` is candidate i's seed. A reward whose spread is within backend agreement is left
 * out; combined scores closer than the noise the kept rewards can carry (each reward's agreement
 * over its spread, weighted) are tied, and a tie is ordered by seed, ascending.
 */
export function rankCandidates(scores: Partial<Record<string, number>>[], weights: Record<RewardName, number>, seeds: readonly number[]): Ranking {
  const n = scores.length;
  if (seeds.length !== n) throw new SdkError('invalid_argument', `rankCandidates needs one seed per candidate: ${n} scores, ${seeds.length} seeds`);
  const raw = new Array<number>(n).fill(0);
  let tolerance = FLOAT_TIE;
  for (const name of REWARD_NAMES) {
    const w = weights[name];
    if (!w) continue;
    const vals = scores.map((s) => s[name]);
    if (vals.some((v) => v === undefined || !Number.isFinite(v))) continue;
    const mean = (vals as number[]).reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt((vals as number[]).reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    const noise = REWARD_AGREEMENT * Math.max(1, Math.abs(mean));
    if (sd < noise) continue;
    vals.forEach((v, i) => (raw[i]! += (w * (v! - mean)) / sd));
    tolerance += (w * noise) / sd;
  }
  // Ties are runs of the descending scores whose neighbours are within the tolerance.
  const byScore = raw.map((_, i) => i).sort((a, b) => raw[b]! - raw[a]! || a - b);
  const order: number[] = [];
  const combined = raw.slice();
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && raw[byScore[end - 1]!]! - raw[byScore[end]!]! <= tolerance) end++;
    const tie = byScore.slice(start, end).sort((a, b) => seeds[a]! - seeds[b]! || a - b);
    const mean = tie.reduce((a, i) => a + raw[i]!, 0) / tie.length;
    for (const i of tie) {
      order.push(i);
      if (tie.length > 1) combined[i] = mean;
    }
    start = end;
  }
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
