export { SCHEDULER_NAMES, type SchedulerName } from '../protocol/unions';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';
export type PredictionType = 'epsilon' | 'v_prediction';
