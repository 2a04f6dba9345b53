/** Scheduler names as users type them (CLI, pack.json, HTTP). */
export const SCHEDULER_NAMES = ['ddim', 'euler', 'euler-a', 'dpmpp-2m', 'lcm', 'tcd'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';
export type PredictionType = 'epsilon' | 'v_prediction';
