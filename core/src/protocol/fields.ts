/**
 * The request, defined once: one row per field with its type, range, default, the modes it applies
 * to and a one-line doc. The CLI's flags, the bridge's JSON and multipart fields, the OpenAPI schema
 * and the engine's own checks all derive from this table (request.ts parses, openapi.ts describes),
 * so a limit changed here changes everywhere at once.
 */
import {
  BLEND_MODES,
  DOMAIN_CHOICES,
  EDIT_MODES,
  ENGINE_CHOICES,
  SCHEDULER_NAMES,
  SEARCH_MODES,
  type BlendMode,
  type DomainChoice,
  type EditMode,
  type EngineChoice,
  type Margins,
  type RankWeights,
  type SchedulerName,
  type SearchMode,
} from './unions';

/** Everything a request says apart from its pixels: plain data, the same over every transport. */
export interface RequestParams {
  mode: EditMode;
  prompt?: string;
  negativePrompt?: string;
  /** Outpaint margins in pixels. */
  expand?: Margins;
  /** Pack reference understood by the engine's pack resolver (a folder, URL or catalog name); default pack when absent. */
  pack?: string;
  steps?: number;
  guidance?: number;
  scheduler?: SchedulerName;
  /** img2img strength, 0 < s <= 1: 1 starts from pure noise. */
  strength?: number;
  /** Number of candidates K; seeds are seed, seed+1, ... (each recorded). */
  candidates?: number;
  seed?: number;
  /** Match the generated region's Lab mean/std to a ring around it (default true; false = blend none). */
  colorMatch?: boolean;
  blend?: BlendMode;
  /** Emit a preview every N steps (0 = never). */
  previewEvery?: number;
  /** Maximum source pixels. */
  maxPixels?: number;
  /** Score candidates with the pack's reward models and the analytic coherence (default true). */
  rewards?: boolean;
  /** Ranking weights (normalized within the job); defaults depend on the mode. */
  rank?: RankWeights;
  /** A pack whose `rewards` section scores candidates, when the generation pack has none. */
  rewardPack?: string;
  engine?: EngineChoice;
  /** Diffusion erase/outpaint: fill the hole first (the inpaint pack when one is at hand, else the fill), then denoise from `strength`. */
  prefill?: boolean;
  search?: SearchMode;
  /** What the image is, for routing erase/outpaint (auto: judged from its pixels). */
  domain?: DomainChoice;
  /** The learned erase pack (one-pass inpainting network) for engine inpaint, auto routing and prefill; the engine's installed one when absent. */
  inpaintPack?: string;
}

export type FieldName = keyof RequestParams;

export type FieldKind = 'int' | 'number' | 'text' | 'enum' | 'boolean' | 'margins' | 'weights';

export interface FieldSpec {
  readonly kind: FieldKind;
  /** Numbers: inclusive bounds (`exclusiveMin`: the lower bound itself is refused). Margins: per side. Weights: per weight. */
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: boolean;
  /** Text: at most this many characters. */
  readonly maxLength?: number;
  /** Enums: the accepted values. */
  readonly values?: readonly string[];
  /** What the engine uses when the field is absent, where that is one fixed value (else see `doc`). */
  readonly default?: string | number | boolean;
  /** The modes the field means something for. */
  readonly modes: readonly EditMode[];
  readonly doc: string;
  /** The CLI flag (without `--`); booleans are flags that set `cliSets`. */
  readonly cli: string;
  readonly cliSets?: boolean;
}

const ALL = EDIT_MODES;
const GENERATIVE: readonly EditMode[] = EDIT_MODES;

export const LIMITS = Object.freeze({
  steps: [1, 150] as const,
  guidance: [0, 30] as const,
  candidates: [1, 16] as const,
  expand: [0, 4096] as const,
  previewEvery: [0, 1000] as const,
  seed: [0, 0xffffffff] as const,
  maxPixels: [1, 1_000_000_000] as const,
  weight: [0, 100] as const,
  promptLength: 2000,
  refLength: 4096,
});

export const REQUEST_FIELDS: { readonly [K in FieldName]-?: FieldSpec } = Object.freeze({
  mode: { kind: 'enum', values: EDIT_MODES, default: 'edit', modes: ALL, cli: 'mode', doc: 'edit (fill the mask from the prompt), erase (remove what the mask covers) or outpaint (extend the canvas by expand)' },
  prompt: { kind: 'text', maxLength: LIMITS.promptLength, modes: ['edit', 'outpaint'], cli: 'prompt', doc: 'what to paint into the mask (edit) or the new area (outpaint)' },
  negativePrompt: { kind: 'text', maxLength: LIMITS.promptLength, modes: GENERATIVE, cli: 'negative-prompt', doc: 'what to steer away from (classifier-free guidance)' },
  expand: { kind: 'margins', min: LIMITS.expand[0], max: LIMITS.expand[1], modes: ['outpaint'], cli: 'expand', doc: 'pixels to add on each side, LEFT,TOP,RIGHT,BOTTOM (required for outpaint, refused otherwise)' },
  pack: { kind: 'text', maxLength: LIMITS.refLength, modes: ALL, cli: 'pack', doc: "the model pack (a folder, a URL or a catalog name; the bridge takes names only); the engine's default pack when absent" },
  steps: { kind: 'int', min: LIMITS.steps[0], max: LIMITS.steps[1], modes: GENERATIVE, cli: 'steps', doc: "denoising steps; the pack's default when absent" },
  guidance: { kind: 'number', min: LIMITS.guidance[0], max: LIMITS.guidance[1], modes: GENERATIVE, cli: 'guidance', doc: "classifier-free guidance scale; the pack's default when absent" },
  scheduler: { kind: 'enum', values: SCHEDULER_NAMES, modes: GENERATIVE, cli: 'scheduler', doc: "the sampler's scheduler; the pack's default when absent" },
  strength: { kind: 'number', min: 0, max: 1, exclusiveMin: true, modes: GENERATIVE, cli: 'strength', doc: 'how far to re-noise before denoising, above 0 up to 1 (1 = from pure noise; 0.6 with prefill)' },
  candidates: { kind: 'int', min: LIMITS.candidates[0], max: LIMITS.candidates[1], default: 1, modes: ALL, cli: 'candidates', doc: 'how many results K, ranked best first; seeds are seed, seed+1, …' },
  seed: { kind: 'int', min: LIMITS.seed[0], max: LIMITS.seed[1], modes: ALL, cli: 'seed', doc: 'base seed (a random one is drawn and reported when absent)' },
  colorMatch: { kind: 'boolean', default: true, modes: ALL, cli: 'no-color-match', cliSets: false, doc: "match the fill's colour statistics to its surroundings; false is the same as blend none" },
  blend: { kind: 'enum', values: BLEND_MODES, default: 'color-match', modes: ALL, cli: 'blend', doc: 'how the generated region meets its surroundings: color-match, poisson (gradient-domain) or none' },
  previewEvery: { kind: 'int', min: LIMITS.previewEvery[0], max: LIMITS.previewEvery[1], modes: GENERATIVE, cli: 'preview-every', doc: 'send a preview image every N steps (0 = never; the engine decides when absent)' },
  maxPixels: { kind: 'int', min: LIMITS.maxPixels[0], max: LIMITS.maxPixels[1], modes: ALL, cli: 'max-pixels', doc: "refuse sources larger than this many pixels; the engine's cap when absent (a bridge never goes above its own)" },
  rewards: { kind: 'boolean', default: true, modes: ALL, cli: 'no-rewards', cliSets: false, doc: 'score and rank the candidates with the reward models and the analytic coherence' },
  rank: { kind: 'weights', min: LIMITS.weight[0], max: LIMITS.weight[1], modes: ALL, cli: 'rank', doc: 'ranking weights per reward (aesthetic, alignment, coherence), normalized within the job; the mode\'s defaults when absent' },
  rewardPack: { kind: 'text', maxLength: LIMITS.refLength, modes: ALL, cli: 'reward-pack', doc: "a pack whose reward models score the candidates when the generation pack has none" },
  engine: { kind: 'enum', values: ENGINE_CHOICES, default: 'auto', modes: ALL, cli: 'engine', doc: "diffusion (the pack), fill (model-free), inpaint (a learned erase pack; fill and inpaint erase and outpaint only) or auto (erase/outpaint on an image the pack does not serve, e.g. a photograph for an illustration-only pack: inpaint when an erase pack is installed, else fill; otherwise diffusion when the pack does the mode)" },
  prefill: { kind: 'boolean', default: false, modes: ['erase', 'outpaint'], cli: 'prefill', cliSets: true, doc: 'diffusion erase/outpaint: fill the hole first (with the erase pack when one is installed, else model-free), then denoise from strength (default 0.6)' },
  search: { kind: 'enum', values: SEARCH_MODES, default: 'best-of-n', modes: ALL, cli: 'search', doc: 'best-of-n (independent samples, ranked) or guided (particles resampled by reward at 25 % and 50 % of the steps, same budget)' },
  domain: { kind: 'enum', values: DOMAIN_CHOICES, default: 'auto', modes: ['erase', 'outpaint'], cli: 'domain', doc: 'what the image is, for choosing the engine: photo, illustration, or auto (judged from flat areas and colour count, see docs/fill.md)' },
  inpaintPack: { kind: 'text', maxLength: LIMITS.refLength, modes: ['erase', 'outpaint'], cli: 'inpaint-pack', doc: 'the learned erase pack (MI-GAN, LaMa) for engine inpaint, auto routing and prefill; the installed one when absent' },
});

export const FIELD_NAMES = Object.keys(REQUEST_FIELDS) as FieldName[];

/** Older spellings still read (and what they mean now). */
export const FIELD_ALIASES: Readonly<Record<string, FieldName>> = Object.freeze({ rankWeights: 'rank' });

/** The fields' own names by CLI flag. */
export const FIELD_BY_FLAG: Readonly<Record<string, FieldName>> = Object.freeze(Object.fromEntries(FIELD_NAMES.map((n) => [REQUEST_FIELDS[n].cli, n])));
