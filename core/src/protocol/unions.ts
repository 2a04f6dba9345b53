/**
 * The shared unions of the contract, each written once: what a request may name (modes, schedulers,
 * blend and search modes, engines, reward names) and what a host is told about devices. Everything
 * else in core, the CLI, the bridge and the hosts imports these; none writes the lists again.
 */

export const EDIT_MODES = ['edit', 'erase', 'outpaint'] as const;
export type EditMode = (typeof EDIT_MODES)[number];

/** Scheduler names as users type them (CLI, pack.json, HTTP). */
export const SCHEDULER_NAMES = ['ddim', 'euler', 'euler-a', 'dpmpp-2m', 'lcm', 'tcd'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** How the generated region meets its surroundings. */
export const BLEND_MODES = ['color-match', 'poisson', 'none'] as const;
export type BlendMode = (typeof BLEND_MODES)[number];

/** How K candidates are searched. */
export const SEARCH_MODES = ['best-of-n', 'guided'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/**
 * Which engine makes the pixels: the pack's diffusion models, the model-free fill, a learned
 * one-pass erase network (an inpaint pack such as MI-GAN or LaMa), or auto.
 */
export const ENGINE_CHOICES = ['auto', 'diffusion', 'fill', 'inpaint'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/** What kind of picture an image is, as far as routing cares: packs say which kinds they serve. */
export const IMAGE_DOMAINS = ['photo', 'illustration'] as const;
export type ImageDomain = (typeof IMAGE_DOMAINS)[number];
/** A request's say on its image's domain: auto judges it from the pixels (image/domain.ts). */
export const DOMAIN_CHOICES = ['auto', ...IMAGE_DOMAINS] as const;
export type DomainChoice = (typeof DOMAIN_CHOICES)[number];

export const REWARD_NAMES = ['aesthetic', 'alignment', 'coherence'] as const;
export type RewardName = (typeof REWARD_NAMES)[number];
export type RankWeights = Partial<Record<RewardName, number>>;

/** User-facing device names. `auto` tries the runtime's devices in priority order. */
export const DEVICE_NAMES = ['auto', 'cpu', 'webgpu', 'cuda', 'wasm'] as const;
export type DeviceName = (typeof DEVICE_NAMES)[number];

/** Outpaint margins in pixels. */
export interface Margins {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface DeviceStatus {
  name: DeviceName;
  available: boolean;
  reason?: string;
  /** Non-reference devices (webgpu, cuda) run a known-answer check before first use. */
  check?: 'passed' | 'failed';
}

export interface DeviceFallback {
  device: string;
  reason: string;
}

/** The device a request gets, and the checked devices it passed over (with why). */
export interface DeviceChoice {
  requested: DeviceName;
  /** null when no device can run models. */
  device: string | null;
  fallbacks: DeviceFallback[];
}
