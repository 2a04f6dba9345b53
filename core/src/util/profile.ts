/**
 * Where an edit's time goes, phase by phase (`npm run bench -- --profile`). The engine and the
 * pipeline report spans to an optional Profile; without one nothing is measured or kept.
 */

export interface Profile {
  /** Adds `ms` to `phase` (a job may report a phase many times: each step, each candidate). */
  add(phase: string, ms: number): void;
}

declare const performance: { now(): number } | undefined;
export const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Runs `fn`, adding its time to `phase` when a profile is given. */
export async function span<T>(profile: Profile | undefined, phase: string, fn: () => T | Promise<T>): Promise<T> {
  if (!profile) return fn();
  const t = now();
  try {
    return await fn();
  } finally {
    profile.add(phase, now() - t);
  }
}

/** A Profile that sums per phase, in the order phases first appear. */
export class PhaseTotals implements Profile {
  readonly phases = new Map<string, { ms: number; calls: number }>();

  add(phase: string, ms: number): void {
    const p = this.phases.get(phase) ?? { ms: 0, calls: 0 };
    p.ms += ms;
    p.calls += 1;
    this.phases.set(phase, p);
  }

  get(phase: string): { ms: number; calls: number } {
    return this.phases.get(phase) ?? { ms: 0, calls: 0 };
  }
}
