import { alphasCumprod, consistencyTimesteps, karrasSigmas, SD_SCHEDULE, spacedTimesteps, trainSigmas, sigmaToTimestep } from '../src/samplers/schedule';
import { createSampler, predictionToX0Eps } from '../src/samplers/sampler';
import { detLog, gaussianNoise, Rng } from '../src/samplers/noise';
import { SCHEDULER_NAMES, type SchedulerName } from '../src/samplers/types';

describe('noise schedule (reference values from the published SD formulas)', () => {
  const ac = alphasCumprod(SD_SCHEDULE);
  const sigmas = trainSigmas(ac);

  it('has alpha_bar_0 = 1 - beta_start and the known final value', () => {
    expect(ac[0]).toBeCloseTo(1 - 0.00085, 12);
    // prod(1 - linspace(sqrt(0.00085), sqrt(0.012), 1000)^2), computed independently in float64
    expect(ac[999]).toBeCloseTo(0.00466009851, 10);
  });

  it('gives SD 1.x sigma_min 0.0292 and sigma_max 14.6146', () => {
    expect(sigmas[0]).toBeCloseTo(0.029168, 5);
    expect(sigmas[999]).toBeCloseTo(14.6146, 3);
  });

  it('spaces timesteps like diffusers (leading + offset 1, trailing, linspace)', () => {
    expect(spacedTimesteps(1000, 50, 'leading').slice(0, 3)).toEqual([981, 961, 941]);
    expect(spacedTimesteps(1000, 50, 'leading').at(-1)).toBe(1);
    expect(spacedTimesteps(1000, 4, 'trailing')).toEqual([999, 749, 499, 249]);
    expect(spacedTimesteps(1000, 3, 'linspace')).toEqual([999, 500, 0]);
  });

  it('picks the LCM 4-step timesteps 999, 759, 499, 259', () => {
    expect(consistencyTimesteps(1000, 4)).toEqual([999, 759, 499, 259]);
    expect(consistencyTimesteps(1000, 1)).toEqual([999]);
  });

  it('ramps Karras sigmas from sigma_max to sigma_min and maps them back to timesteps', () => {
    const ks = karrasSigmas(sigmas[0]!, sigmas[999]!, 10);
    expect(ks[0]).toBeCloseTo(14.6146, 3);
    expect(ks[9]).toBeCloseTo(0.029168, 5);
    for (let i = 1; i < ks.length; i++) expect(ks[i]!).toBeLessThan(ks[i - 1]!);
    expect(sigmaToTimestep(sigmas[500]!, sigmas)).toBeCloseTo(500, 6);
  });
});

describe('prediction types', () => {
  it('recovers x0 and eps from epsilon and v predictions alike', () => {
    const ab = 0.3;
    const x0 = Float32Array.from([0.5, -1, 2]);
    const eps = Float32Array.from([1, 0.2, -0.7]);
    const xvp = x0.map((v, k) => Math.sqrt(ab) * v + Math.sqrt(1 - ab) * eps[k]!);
    const v = eps.map((e, k) => Math.sqrt(ab) * e - Math.sqrt(1 - ab) * x0[k]!);
    for (const [type, out] of [['epsilon', eps], ['v_prediction', v]] as const) {
      const r = predictionToX0Eps(type, xvp, out, ab);
      r.x0.forEach((val, k) => expect(val).toBeCloseTo(x0[k]!, 5));
      r.eps.forEach((val, k) => expect(val).toBeCloseTo(eps[k]!, 5));
    }
  });
});

/** A model that knows the clean latents: every sampler must land on them. */
function oracleRun(name: SchedulerName, prediction: 'epsilon' | 'v_prediction', steps: number): { x: Float32Array; target: Float32Array } {
  const target = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.8);
  const sampler = createSampler({ scheduler: name, steps, schedule: SD_SCHEDULE, prediction });
  const rng = new Rng(7);
  let x = sampler.initial(gaussianNoise(3, 64));
  const ac = alphasCumprod(SD_SCHEDULE);
  const sig = trainSigmas(ac);
  for (let i = 0; i < sampler.timesteps.length; i++) {
    const xin = sampler.modelInput(x, i);
    const t = sampler.timesteps[i]!;
    const lo = Math.floor(t);
    const s = sig[lo]! + (sig[Math.min(999, lo + 1)]! - sig[lo]!) * (t - lo);
    const ab = 1 / (1 + s * s);
    const eps = xin.map((v, k) => (v - Math.sqrt(ab) * target[k]!) / Math.sqrt(1 - ab));
    const out = prediction === 'epsilon' ? eps : eps.map((e, k) => Math.sqrt(ab) * e - Math.sqrt(1 - ab) * target[k]!);
    x = sampler.step(x, i, out, rng).x;
  }
  return { x, target };
}

describe('samplers', () => {
  it.each(SCHEDULER_NAMES.map((n) => [n]))('%s converges to the clean latents under a perfect denoiser', (name) => {
    for (const prediction of ['epsilon', 'v_prediction'] as const) {
      const { x, target } = oracleRun(name, prediction, 8);
      const err = Math.max(...x.map((v, k) => Math.abs(v - target[k]!)));
      // DDIM and TCD end at alpha_bar_0 = 0.99915 (SD's set_alpha_to_one = false), which leaves
      // sqrt(1 - 0.99915) ~ 0.029 of the last noise estimate; the others end at sigma = 0.
      expect(err).toBeLessThan(name === 'ddim' || name === 'tcd' ? 4 * Math.sqrt(0.00085) : 1e-3);
    }
  });

  it('img2img strength runs only the last steps', () => {
    const full = createSampler({ scheduler: 'ddim', steps: 10, schedule: SD_SCHEDULE, prediction: 'epsilon' });
    const half = createSampler({ scheduler: 'ddim', steps: 10, schedule: SD_SCHEDULE, prediction: 'epsilon', strength: 0.5 });
    expect(half.timesteps).toEqual(full.timesteps.slice(5));
  });

  it('rejects unknown schedulers and bad step counts with invalid_argument', () => {
    expect(() => createSampler({ scheduler: 'heun' as SchedulerName, steps: 4, schedule: SD_SCHEDULE, prediction: 'epsilon' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => createSampler({ scheduler: 'ddim', steps: 0, schedule: SD_SCHEDULE, prediction: 'epsilon' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

describe('seeded noise', () => {
  it('computes ln with only exactly rounded operations, to double precision', () => {
    for (const x of [1e-300, 1e-9, 0.001, 0.5, 0.9999999, 1, 1.5, 2, 10, 12345.678]) {
      expect(Math.abs(detLog(x) - Math.log(x))).toBeLessThan(1e-13 * Math.max(1, Math.abs(Math.log(x))));
    }
  });

  it('is reproducible for a seed and differs between seeds', () => {
    expect(Array.from(gaussianNoise(42, 16))).toEqual(Array.from(gaussianNoise(42, 16)));
    expect(Array.from(gaussianNoise(42, 16))).not.toEqual(Array.from(gaussianNoise(43, 16)));
  });

  it('keeps the same first values across releases (golden values; browsers must match)', () => {
    const r = new Rng(42);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toMatchSnapshot();
    expect(Array.from(gaussianNoise(42, 4))).toMatchSnapshot();
  });

  it('is standard normal (mean ~0, variance ~1, symmetric tails)', () => {
    const n = gaussianNoise(1, 200000);
    let mean = 0;
    let sq = 0;
    let beyond2 = 0;
    for (const v of n) {
      mean += v;
      sq += v * v;
      if (Math.abs(v) > 2) beyond2++;
    }
    mean /= n.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(sq / n.length - mean * mean).toBeCloseTo(1, 1);
    expect(beyond2 / n.length).toBeCloseTo(0.0455, 2);
  });
});
