/**
 * What planning needs to know about a pack, and nothing more: its modes, its resolution rules,
 * its latent factor, its defaults, its erase prompt and whether it brings reward models. The plan
 * takes this profile, not the whole manifest (file names, tokenizer, noise schedule are the
 * engine's business), so a plan test builds one in a line and the model-free fill plans without
 * inventing a pack: it passes no profile at all.
 */
import { isInpaintManifest, type AnyPackManifest } from '../packs/manifest';
import { IMAGE_DOMAINS, type EditMode, type ImageDomain, type SchedulerName } from '../protocol/unions';

export interface PlanningProfile {
  /** The pack's name, for messages and the plan's record of what runs. */
  name: string;
  /** diffusion: text encoder, UNet, VAE; inpaint: a one-pass erase network. */
  family: 'diffusion' | 'inpaint';
  /** The kinds of image it serves well (pack.json `domains`; both when the pack does not say). */
  domains: readonly ImageDomain[];
  modes: readonly EditMode[];
  resolution: {
    /** The square side the model was trained at. */
    native: number;
    /** Model input sides are multiples of this. */
    multiple: number;
    /** Upper bound on a model-input side (default 2 x native). */
    max?: number;
  };
  /** Pixels per latent cell (8 for SD). */
  latentScaleFactor: number;
  defaults: { steps: number; guidance: number; scheduler: SchedulerName };
  /** The prompts an erase runs with (the user's prompt is not used for erase). */
  erase?: { prompt: string; negativePrompt: string };
  /** The pack declares reward models of its own (its `rewards` section). */
  hasRewards: boolean;
}

/** The planning profile of a validated manifest: a pure projection, no I/O. */
export function planningProfile(manifest: AnyPackManifest): PlanningProfile {
  const r = manifest.resolution;
  const common = {
    name: manifest.name,
    domains: [...(manifest.domains ?? IMAGE_DOMAINS)],
    modes: [...manifest.modes],
    resolution: { native: r.native, multiple: r.multiple, ...(r.max !== undefined ? { max: r.max } : {}) },
  };
  if (isInpaintManifest(manifest)) {
    return { ...common, family: 'inpaint', latentScaleFactor: 1, defaults: { steps: 1, guidance: 0, scheduler: 'ddim' }, hasRewards: false };
  }
  return {
    ...common,
    family: 'diffusion',
    latentScaleFactor: manifest.latent.scaleFactor,
    defaults: { steps: manifest.defaults.steps, guidance: manifest.defaults.guidance, scheduler: manifest.defaults.scheduler },
    ...(manifest.erase ? { erase: { prompt: manifest.erase.prompt, negativePrompt: manifest.erase.negativePrompt } } : {}),
    hasRewards: manifest.rewards !== undefined,
  };
}
