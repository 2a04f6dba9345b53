/**
 * The discrete noise schedule of DDPM-family models (Ho et al. 2020; SD's "scaled_linear"):
 * betas, cumulative alphas, and the matching k-diffusion sigmas (Karras et al. 2022). Float64
 * throughout; these numbers are checked against published values in the tests.
 */
import type { TimestepSpacing } from './types';

export interface NoiseSchedule {
  betaSchedule: 'scaled_linear' | 'linear';
  betaStart: number;
  betaEnd: number;
  trainSteps: number;
}

export const SD_SCHEDULE: NoiseSchedule = { betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, trainSteps: 1000 };

export function linspace(a: number, b: number, n: number): number[] {
  if (n === 1) return [a];
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

export function betas(s: NoiseSchedule): Float64Array {
  const out = new Float64Array(s.trainSteps);
  if (s.betaSchedule === 'scaled_linear') {
    const l = linspace(Math.sqrt(s.betaStart), Math.sqrt(s.betaEnd), s.trainSteps);
    for (let i = 0; i < out.length; i++) out[i] = l[i]! * l[i]!;
  } else {
    const l = linspace(s.betaStart, s.betaEnd, s.trainSteps);
    for (let i = 0; i < out.length; i++) out[i] = l[i]!;
  }
  return out;
}

export function alphasCumprod(s: NoiseSchedule): Float64Array {
  const b = betas(s);
  const out = new Float64Array(b.length);
  let acc = 1;
  for (let i = 0; i < b.length; i++) {
    acc *= 1 - b[i]!;
    out[i] = acc;
  }
  return out;
}

/** sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t) for every training timestep. */
export function trainSigmas(ac: Float64Array): Float64Array {
  return ac.map((a) => Math.sqrt((1 - a) / a));
}

/** Inference timesteps, highest first, as diffusers spaces them (SD uses leading + offset 1). */
export function spacedTimesteps(trainSteps: number, steps: number, spacing: TimestepSpacing, offset = 1): number[] {
  if (spacing === 'leading') {
    const ratio = Math.floor(trainSteps / steps);
    return Array.from({ length: steps }, (_, i) => Math.round((steps - 1 - i) * ratio) + offset);
  }
  if (spacing === 'trailing') {
    const ratio = trainSteps / steps;
    return Array.from({ length: steps }, (_, i) => Math.round(trainSteps - i * ratio) - 1);
  }
  return linspace(trainSteps - 1, 0, steps).map((t) => Math.round(t));
}

/** Karras et al. (2022) sigma ramp with rho = 7 between sigma_max and sigma_min. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number, rho = 7): number[] {
  const minInv = Math.pow(sigmaMin, 1 / rho);
  const maxInv = Math.pow(sigmaMax, 1 / rho);
  return linspace(0, 1, steps).map((r) => Math.pow(maxInv + r * (minInv - maxInv), rho));
}

/** Fractional training timestep whose sigma is `sigma` (log-sigma interpolation over the table). */
export function sigmaToTimestep(sigma: number, sigmas: Float64Array): number {
  const ls = Math.log(Math.max(sigma, 1e-10));
  const n = sigmas.length;
  if (ls <= Math.log(sigmas[0]!)) return 0;
  if (ls >= Math.log(sigmas[n - 1]!)) return n - 1;
  let lo = 0;
  while (lo < n - 2 && Math.log(sigmas[lo + 1]!) < ls) lo++;
  const a = Math.log(sigmas[lo]!);
  const b = Math.log(sigmas[lo + 1]!);
  return lo + (ls - a) / (b - a);
}

/** sigma at a possibly fractional timestep (linear interpolation, as diffusers' np.interp). */
export function sigmaAt(t: number, sigmas: Float64Array): number {
  const lo = Math.max(0, Math.min(sigmas.length - 1, Math.floor(t)));
  const hi = Math.min(sigmas.length - 1, lo + 1);
  const w = t - lo;
  return sigmas[lo]! * (1 - w) + sigmas[hi]! * w;
}

/** LCM / TCD timesteps: `steps` picked from the 50-step "origin" schedule (Luo et al. 2023). */
export function consistencyTimesteps(trainSteps: number, steps: number, originalSteps = 50): number[] {
  const k = Math.floor(trainSteps / originalSteps);
  const origin = Array.from({ length: originalSteps }, (_, i) => (i + 1) * k - 1).reverse();
  return Array.from({ length: steps }, (_, i) => origin[Math.floor((i * origin.length) / steps)]!);
}
