/**
 * Samplers: DDIM (Song et al. 2021), Euler and Euler ancestral (Karras et al. 2022 / k-diffusion),
 * DPM-Solver++(2M) with Karras sigmas (Lu et al. 2022), LCM multistep (Luo et al. 2023) and TCD
 * (Zheng et al. 2024). One interface so the pipeline loop does not care which one runs:
 *
 *   x = sampler.initial(noise, init?)          latents at the first step
 *   for i in sampler.steps: eps|v = unet(sampler.modelInput(x, i), sampler.timesteps[i])
 *                           x = sampler.step(x, i, output, rng).x
 *
 * "vp" samplers keep x as the variance-preserving latent the UNet sees; "ve" (k-diffusion)
 * samplers keep x = x_vp * sqrt(1 + sigma^2) and scale it on the way into the model.
 */
import { LIMITS } from '../protocol/fields';
import { SdkError } from '../util/errors';
import type { Rng } from './noise';
import { alphasCumprod, consistencyTimesteps, karrasSigmas, sigmaAt, sigmaToTimestep, spacedTimesteps, trainSigmas, type NoiseSchedule } from './schedule';
import { SCHEDULER_NAMES, type PredictionType, type SchedulerName, type TimestepSpacing } from './types';

export interface SamplerOptions {
  scheduler: SchedulerName;
  steps: number;
  schedule: NoiseSchedule;
  prediction: PredictionType;
  spacing?: TimestepSpacing;
  /** img2img strength in (0, 1]: only the last round(steps * strength) steps run. */
  strength?: number;
  /** TCD's gamma (stochasticity), default 0.3. */
  gamma?: number;
}

export interface StepResult {
  x: Float32Array;
  /** The current estimate of the clean latents (for previews and reward guidance). */
  x0: Float32Array;
}

export interface Sampler {
  readonly name: SchedulerName;
  /** Model timesteps for the steps that run (after strength), highest noise first. */
  readonly timesteps: readonly number[];
  /** Starting latents: pure noise at strength 1, else `init` noised to the first step's level. */
  initial(noise: Float32Array, init?: Float32Array): Float32Array;
  modelInput(x: Float32Array, i: number): Float32Array;
  step(x: Float32Array, i: number, modelOutput: Float32Array, rng: Rng): StepResult;
  /** `clean` noised to the level x has before step i (i = timesteps.length gives `clean`). */
  noiseTo(clean: Float32Array, noise: Float32Array, i: number): Float32Array;
}

/** Per-step noise level in both parametrizations. */
interface Level {
  t: number;
  /** alpha_bar at this level. */
  ab: number;
  sigma: number;
}

function levelFromSigma(t: number, sigma: number): Level {
  return { t, sigma, ab: 1 / (1 + sigma * sigma) };
}

function levelFromAb(t: number, ab: number): Level {
  return { t, ab, sigma: Math.sqrt((1 - ab) / ab) };
}

/** Converts a model output at VP input x_vp to (x0, eps). */
export function predictionToX0Eps(prediction: PredictionType, xvp: Float32Array, out: Float32Array, ab: number): { x0: Float32Array; eps: Float32Array } {
  const a = Math.sqrt(ab);
  const s = Math.sqrt(1 - ab);
  const x0 = new Float32Array(xvp.length);
  const eps = new Float32Array(xvp.length);
  if (prediction === 'epsilon') {
    for (let k = 0; k < xvp.length; k++) {
      eps[k] = out[k]!;
      x0[k] = (xvp[k]! - s * out[k]!) / a;
    }
  } else {
    for (let k = 0; k < xvp.length; k++) {
      x0[k] = a * xvp[k]! - s * out[k]!;
      eps[k] = s * xvp[k]! + a * out[k]!;
    }
  }
  return { x0, eps };
}

abstract class BaseSampler implements Sampler {
  abstract readonly name: SchedulerName;
  readonly timesteps: number[];
  /** levels[i] is the level before step i; levels[n] is the final (clean) level. */
  protected readonly levels: Level[];
  protected readonly prediction: PredictionType;
  protected readonly ac: Float64Array;
  protected readonly fromPureNoise: boolean;

  constructor(opts: SamplerOptions, allLevels: Level[]) {
    const strength = opts.strength ?? 1;
    const run = Math.max(1, Math.min(opts.steps, Math.round(opts.steps * strength)));
    const start = opts.steps - run;
    this.levels = allLevels.slice(start);
    this.timesteps = this.levels.slice(0, -1).map((l) => l.t);
    this.prediction = opts.prediction;
    this.ac = alphasCumprod(opts.schedule);
    this.fromPureNoise = strength >= 1;
  }

  abstract readonly space: 'vp' | 've';

  initial(noise: Float32Array, init?: Float32Array): Float32Array {
    const l = this.levels[0]!;
    if (this.fromPureNoise || !init) {
      // k-diffusion starts at sigma_max with the VP marginal's variance (sigma^2 + 1), as SD's
      // leading-spaced schedulers do; VP samplers start from unit noise.
      const scale = this.space === 've' ? Math.sqrt(l.sigma * l.sigma + 1) : 1;
      return noise.map((n) => n * scale);
    }
    return this.noiseTo(init, noise, 0);
  }

  noiseTo(clean: Float32Array, noise: Float32Array, i: number): Float32Array {
    const l = this.levels[Math.min(i, this.levels.length - 1)]!;
    if (i >= this.timesteps.length) return new Float32Array(clean);
    const out = new Float32Array(clean.length);
    if (this.space === 've') {
      for (let k = 0; k < out.length; k++) out[k] = clean[k]! + l.sigma * noise[k]!;
    } else {
      const a = Math.sqrt(l.ab);
      const s = Math.sqrt(1 - l.ab);
      for (let k = 0; k < out.length; k++) out[k] = a * clean[k]! + s * noise[k]!;
    }
    return out;
  }

  modelInput(x: Float32Array, i: number): Float32Array {
    if (this.space === 'vp') return x;
    const scale = 1 / Math.sqrt(this.levels[i]!.sigma ** 2 + 1);
    return x.map((v) => v * scale);
  }

  protected predict(x: Float32Array, i: number, out: Float32Array): { x0: Float32Array; eps: Float32Array } {
    return predictionToX0Eps(this.prediction, this.modelInput(x, i), out, this.levels[i]!.ab);
  }

  abstract step(x: Float32Array, i: number, modelOutput: Float32Array, rng: Rng): StepResult;
}

class DdimSampler extends BaseSampler {
  readonly name = 'ddim' as const;
  readonly space = 'vp' as const;

  step(x: Float32Array, i: number, out: Float32Array): StepResult {
    const { x0, eps } = this.predict(x, i, out);
    const ab = this.levels[i + 1]!.ab;
    const a = Math.sqrt(ab);
    const s = Math.sqrt(1 - ab);
    return { x: x0.map((v, k) => a * v + s * eps[k]!), x0 };
  }
}

class EulerSampler extends BaseSampler {
  readonly name: SchedulerName = 'euler';
  readonly space = 've' as const;
  protected ancestral = false;

  step(x: Float32Array, i: number, out: Float32Array, rng: Rng): StepResult {
    const { x0 } = this.predict(x, i, out);
    const s = this.levels[i]!.sigma;
    const sNext = this.levels[i + 1]!.sigma;
    let sDown = sNext;
    let sUp = 0;
    if (this.ancestral && sNext > 0) {
      sUp = Math.sqrt((sNext * sNext * (s * s - sNext * sNext)) / (s * s));
      sDown = Math.sqrt(sNext * sNext - sUp * sUp);
    }
    const next = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) {
      const d = (x[k]! - x0[k]!) / s;
      next[k] = x[k]! + d * (sDown - s);
    }
    if (sUp > 0) for (let k = 0; k < x.length; k++) next[k]! += rng.normal() * sUp;
    return { x: next, x0 };
  }
}

class EulerAncestralSampler extends EulerSampler {
  override readonly name = 'euler-a' as const;
  protected override ancestral = true;
}

class DpmSolverPP2MSampler extends BaseSampler {
  readonly name = 'dpmpp-2m' as const;
  readonly space = 've' as const;
  private previous: Float32Array | null = null;

  step(x: Float32Array, i: number, out: Float32Array): StepResult {
    const { x0 } = this.predict(x, i, out);
    const s = this.levels[i]!.sigma;
    const sNext = this.levels[i + 1]!.sigma;
    const next = new Float32Array(x.length);
    if (sNext === 0) {
      next.set(x0);
    } else {
      const t = -Math.log(s);
      const tNext = -Math.log(sNext);
      const h = tNext - t;
      const ratio = sNext / s;
      const em1 = -Math.expm1(-h);
      let d = x0;
      if (this.previous && i > 0) {
        const hLast = t + Math.log(this.levels[i - 1]!.sigma);
        const r = hLast / h;
        const c1 = 1 + 1 / (2 * r);
        const c2 = 1 / (2 * r);
        const prev = this.previous;
        d = x0.map((v, k) => c1 * v - c2 * prev[k]!);
      }
      for (let k = 0; k < x.length; k++) next[k] = ratio * x[k]! + em1 * d[k]!;
    }
    this.previous = x0;
    return { x: next, x0 };
  }
}

class LcmSampler extends BaseSampler {
  readonly name: SchedulerName = 'lcm';
  readonly space = 'vp' as const;

  /** Boundary-condition scalings of consistency models (sigma_data 0.5, timestep scaling 10). */
  protected scalings(t: number): { cSkip: number; cOut: number } {
    const st = t * 10;
    return { cSkip: 0.25 / (st * st + 0.25), cOut: st / Math.sqrt(st * st + 0.25) };
  }

  step(x: Float32Array, i: number, out: Float32Array, rng: Rng): StepResult {
    const { x0: pred } = this.predict(x, i, out);
    const { cSkip, cOut } = this.scalings(this.levels[i]!.t);
    const x0 = pred.map((v, k) => cOut * v + cSkip * x[k]!);
    if (i === this.timesteps.length - 1) return { x: x0, x0 };
    const ab = this.levels[i + 1]!.ab;
    const a = Math.sqrt(ab);
    const s = Math.sqrt(1 - ab);
    return { x: x0.map((v) => a * v + s * rng.normal()), x0 };
  }
}

class TcdSampler extends BaseSampler {
  readonly name = 'tcd' as const;
  readonly space = 'vp' as const;
  private readonly gamma: number;

  constructor(opts: SamplerOptions, levels: Level[]) {
    super(opts, levels);
    this.gamma = opts.gamma ?? 0.3;
  }

  step(x: Float32Array, i: number, out: Float32Array, rng: Rng): StepResult {
    const { x0, eps } = this.predict(x, i, out);
    const last = i === this.timesteps.length - 1;
    const prevT = last ? 0 : this.levels[i + 1]!.t;
    const sT = Math.floor((1 - this.gamma) * prevT);
    const abS = this.ac[sT]!;
    const xs = x0.map((v, k) => Math.sqrt(abS) * v + Math.sqrt(1 - abS) * eps[k]!);
    if (last || this.gamma <= 0) return { x: xs, x0 };
    const abPrev = this.levels[i + 1]!.ab;
    const keep = Math.sqrt(abPrev / abS);
    const add = Math.sqrt(Math.max(0, 1 - abPrev / abS));
    return { x: xs.map((v) => keep * v + add * rng.normal()), x0 };
  }
}

export function createSampler(opts: SamplerOptions): Sampler {
  if (!SCHEDULER_NAMES.includes(opts.scheduler)) {
    throw new SdkError('invalid_argument', `unknown scheduler "${String(opts.scheduler)}"; use one of ${SCHEDULER_NAMES.join(', ')}`);
  }
  if (!Number.isInteger(opts.steps) || opts.steps < LIMITS.steps[0] || opts.steps > LIMITS.steps[1]) {
    throw new SdkError('invalid_argument', `steps must be a whole number from ${LIMITS.steps[0]} to ${LIMITS.steps[1]}, got ${opts.steps}`);
  }
  if (opts.strength !== undefined && !(opts.strength > 0 && opts.strength <= 1)) {
    throw new SdkError('invalid_argument', `strength must be in (0, 1], got ${opts.strength}`);
  }
  const ac = alphasCumprod(opts.schedule);
  const sigmas = trainSigmas(ac);
  const n = opts.schedule.trainSteps;
  const spacing = opts.spacing ?? 'leading';
  // DDIM ends at alpha_bar[0] (SD's set_alpha_to_one = false); k-samplers end at sigma 0.
  const finalVp = levelFromAb(-1, ac[0]!);
  switch (opts.scheduler) {
    case 'ddim': {
      const ts = spacedTimesteps(n, opts.steps, spacing);
      return new DdimSampler(opts, [...ts.map((t) => levelFromAb(t, ac[t]!)), finalVp]);
    }
    case 'euler':
    case 'euler-a': {
      const ts = spacedTimesteps(n, opts.steps, spacing);
      const levels = [...ts.map((t) => levelFromSigma(t, sigmaAt(t, sigmas))), levelFromSigma(-1, 0)];
      return opts.scheduler === 'euler' ? new EulerSampler(opts, levels) : new EulerAncestralSampler(opts, levels);
    }
    case 'dpmpp-2m': {
      const ks = karrasSigmas(sigmas[0]!, sigmas[n - 1]!, opts.steps);
      return new DpmSolverPP2MSampler(opts, [...ks.map((s) => levelFromSigma(sigmaToTimestep(s, sigmas), s)), levelFromSigma(-1, 0)]);
    }
    case 'lcm':
    case 'tcd': {
      const ts = consistencyTimesteps(n, opts.steps);
      const levels = [...ts.map((t) => levelFromAb(t, ac[t]!)), levelFromAb(-1, 1 - 1e-12)];
      return opts.scheduler === 'lcm' ? new LcmSampler(opts, levels) : new TcdSampler(opts, levels);
    }
  }
}
