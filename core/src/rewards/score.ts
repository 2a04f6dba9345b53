/** Scores one candidate with every available reward; the analytic coherence is always reported. */
import { analyticCoherence } from './analytic-coherence';
import type { RewardInput, RewardModel } from './types';
import { span, type Profile } from '../util/profile';

export async function scoreCandidate(models: readonly RewardModel[], input: RewardInput, profile?: Profile): Promise<Record<string, number>> {
  const scores: Record<string, number> = {};
  const analytic = (await span(profile, 'reward coherence_analytic', () => analyticCoherence(input))).score;
  scores.coherence_analytic = analytic;
  for (const m of models) {
    if (m.name === 'alignment' && (input.mode === 'erase' || input.prompt.trim() === '')) continue;
    const s = await span(profile, `reward ${m.name}`, () => m.score(input));
    scores[m.name] = s.value;
    if (m.name === 'alignment') scores.clip_score = 2.5 * Math.max(s.value, 0);
  }
  if (scores.coherence === undefined) scores.coherence = analytic;
  return scores;
}
