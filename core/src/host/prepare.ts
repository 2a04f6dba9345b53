/**
 * Host-side preparation: how every host adapter turns a selection into the request it sends, and
 * a candidate back into a layer. One rule each, written once: Photoshop and Figma use these
 * functions (Figma exports whole images, so only mask bounds and names), GIMP's Python mirrors
 * them (plugins/gimp-bridge/gimp/byteedit/prepare.py), and a table of cases
 * (plugins/gimp-bridge/test/host-prepare-cases.json) holds both to the same answers.
 * Pure and dependency-free (only geometry types): the Figma sandbox, which has no DOM, bundles it.
 *
 * ## The host's context region and the plan's context crop
 * Two crops, two jobs. The host's region (contextRegion, outpaintContext) is what goes over the
 * wire: the part of the document around the selection. The plan's context crop (plan/context.ts)
 * is what goes through the model, chosen by the engine inside the image it received: the mask
 * bounds padded by min(native, max(16, half their longer side)), grown to the pack's native size
 * around the mask, aligned to 8. The host does not know the pack, so its region is chosen to CONTAIN the
 * plan's crop for every pack with a native size up to 512 (SD 1.5 class, the default pack's 128,
 * the fixtures' 64, the model-free fill's 256). Then cropping on the host changes nothing: the
 * model gets the same crop at the same size as for the whole document (core/test/host-prepare.test.ts
 * runs the plan's contextCrop both ways on thousands of cases; today's Photoshop and GIMP rules fail
 * it even for native 64). Only the pixel budget (maxPixels) can make the region smaller, and then
 * the model sees less around it.
 *
 * ## Edit and erase: contextRegion
 * Chosen from the three hosts' rules (Photoshop's contextRegion, GIMP's context_rect):
 * - the selection (clipped to the document, or to the part the host can read: GIMP's active
 *   layer) padded on each side by half its longer side, at least 32 and at most 512 px. Both hosts
 *   padded by half the longer side with a floor of 32; Photoshop's cap of 512 is kept because the
 *   plan never pads by more than native, so more would only be upload;
 * - then each side grown to at least 512 px around the selection, to a multiple of 8, the way the
 *   plan grows its own crop. Neither host did this: a 20 px selection went out with 84 px of
 *   surroundings, so the plan upscaled that crop (up to 4x) where the CLI on the whole document
 *   gives the model a native-sized one, and the model-free fill had little texture to copy from;
 * - over the pixel budget (default 4 MP, Photoshop's; GIMP had none) the pad halves until it is
 *   0, then the 512 px growth halves: the selection itself is never cut. The host still refuses a
 *   region over what the bridge takes (16 MP by default).
 *
 * ## Outpaint: outpaintContext
 * GIMP's rule (Photoshop and Figma sent the whole document): when one edge grows, only a band of
 * the document along that edge is context, the full length of the edge. The band is 520 px deep
 * (GIMP used max(256, 2 x margin)): the plan's crop reaches at most native + 7 px into the source
 * from the grown edge, whatever the margin, so 520 covers every pack up to native 512 and a deeper
 * band would only be upload. When two or more edges grow the plan's crop is the whole canvas, and
 * the bands' bounding box is the whole document anyway. Every growing edge's band touches that
 * edge, so the request's margins are the user's margins unchanged.
 *
 * ## Names
 * candidateLayerName: one name for a candidate's layer (Photoshop, GIMP) or node (Figma), made for
 * a narrow layers panel that cuts names on the right: what was done and which alternative first
 * (`edit #2`, always visible, so a run's candidates are told apart), then the prompt, short and
 * quoted, then (where a host has no other place for it) the candidate's match, then the seed that
 * makes it again: `edit #2 “a red heart” · seed 43`, `edit #1 “a red heart” · match 88 · seed 42`.
 */
import type { Rect, Size, Space } from '../image/geometry';
import { computeBounds } from '../image/image';
import type { JobSummary } from '../protocol/events';

/** Pixels added on each side of the document (outpaint), like the request's `expand`. */
export interface EdgeMargins {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

export interface HostContextOptions<S extends Space = Space> {
  /** Fraction of the selection's longer side added on each side (default 0.5). */
  padFraction?: number;
  /** Least and most padding on each side, in pixels (defaults 32 and 512). */
  minPad?: number;
  maxPad?: number;
  /** Each side of the region is grown to at least this (default 512), centred on the selection. */
  minSide?: number;
  /** Pixel budget of the region (default 4 000 000): over it the padding shrinks, never the selection. */
  maxPixels?: number;
  /** The part of the document the region may cover (GIMP: the active layer); default all of it. */
  within?: Rect<S>;
}

export interface OutpaintContextOptions {
  /** Depth of the band along a growing edge (default 520: the plan's reach for native 512, plus alignment). */
  band?: number;
  /** Pixel budget of the region sent (default 4 000 000): over it a single band gets shallower. */
  maxPixels?: number;
}

export interface OutpaintContext<S extends Space = Space> {
  /** The part of the document to send. */
  region: Rect<S>;
  /** The margins to request around it (the user's, since every growing edge's band touches its edge). */
  expand: EdgeMargins;
  /** The job's canvas: the region grown by the margins (what the bridge's pixel limit applies to). */
  canvas: Size;
}

export const HOST_CONTEXT_DEFAULTS = Object.freeze({ padFraction: 0.5, minPad: 32, maxPad: 512, minSide: 512, maxPixels: 4_000_000, band: 520 });

/** Default longest prompt in a layer name, in code points, the ellipsis included. */
export const LAYER_NAME_PROMPT_LENGTH = 32;

const ALIGN = 8;

const alignUp = (v: number): number => Math.ceil(v / ALIGN) * ALIGN;

/**
 * [start, end) grown to `want` around its centre, then shifted into [lo, hi) (clamped to its
 * length). The same centring and rounding (half up) as the plan's growSpan.
 */
function growSpan(start: number, end: number, want: number, lo: number, hi: number): [number, number] {
  const len = end - start;
  const target = Math.min(hi - lo, Math.max(len, want));
  const s = Math.max(lo, Math.min(hi - target, start + Math.floor((len - target + 1) / 2)));
  return [s, s + target];
}

function contextSpan(a: number, b: number, pad: number, side: number, lo: number, hi: number): [number, number] {
  const s = Math.max(lo, a - pad);
  const e = Math.min(hi, b + pad);
  return side > 0 ? growSpan(s, e, alignUp(Math.max(e - s, side)), lo, hi) : [s, e];
}

/**
 * The document region to send for an edit or erase of `selection` (see the header for the rule
 * and why). Null when the selection misses the document (or `within`).
 */
export function contextRegion<S extends Space>(selection: Rect<S>, docSize: Size<S>, options: HostContextOptions<S> = {}): Rect<S> | null {
  const d = HOST_CONTEXT_DEFAULTS;
  const padFraction = options.padFraction ?? d.padFraction;
  const minPad = options.minPad ?? d.minPad;
  const maxPad = options.maxPad ?? d.maxPad;
  const maxPixels = options.maxPixels ?? d.maxPixels;
  const w = options.within;
  const lx0 = Math.max(0, w ? w.x : 0);
  const ly0 = Math.max(0, w ? w.y : 0);
  const lx1 = Math.min(docSize.width, w ? w.x + w.width : docSize.width);
  const ly1 = Math.min(docSize.height, w ? w.y + w.height : docSize.height);
  const x0 = Math.max(lx0, selection.x);
  const y0 = Math.max(ly0, selection.y);
  const x1 = Math.min(lx1, selection.x + selection.width);
  const y1 = Math.min(ly1, selection.y + selection.height);
  if (x1 <= x0 || y1 <= y0) return null;
  let pad = Math.min(maxPad, Math.max(minPad, Math.floor(padFraction * Math.max(x1 - x0, y1 - y0) + 0.5)));
  let side = options.minSide ?? d.minSide;
  for (;;) {
    const [cx0, cx1] = contextSpan(x0, x1, pad, side, lx0, lx1);
    const [cy0, cy1] = contextSpan(y0, y1, pad, side, ly0, ly1);
    if ((cx1 - cx0) * (cy1 - cy0) <= maxPixels || (pad <= 0 && side <= 0)) return { x: cx0, y: cy0, width: cx1 - cx0, height: cy1 - cy0 } as Rect<S>;
    if (pad > 0) pad = Math.floor(pad / 2);
    else side = Math.floor(side / 2);
  }
}

/**
 * What to send for an outpaint of a `docSize` document by `margins` (see the header): a band
 * along the one growing edge, or the whole document when several grow. Null when no margin is
 * above 0.
 */
export function outpaintContext<S extends Space>(docSize: Size<S>, margins: EdgeMargins, options: OutpaintContextOptions = {}): OutpaintContext<S> | null {
  const { width, height } = docSize;
  const { left, top, right, bottom } = margins;
  const growing = [left, top, right, bottom].filter((m) => m > 0).length;
  if (growing === 0) return null;
  let band = options.band ?? HOST_CONTEXT_DEFAULTS.band;
  const maxPixels = options.maxPixels ?? HOST_CONTEXT_DEFAULTS.maxPixels;
  if (growing === 1) {
    const along = left > 0 || right > 0 ? height : width;
    if (band * along > maxPixels) band = Math.max(1, Math.floor(maxPixels / along));
  }
  let x0 = width;
  let y0 = height;
  let x1 = 0;
  let y1 = 0;
  const add = (bx0: number, by0: number, bx1: number, by1: number): void => {
    x0 = Math.min(x0, bx0);
    y0 = Math.min(y0, by0);
    x1 = Math.max(x1, bx1);
    y1 = Math.max(y1, by1);
  };
  if (left > 0) add(0, 0, Math.min(width, band), height);
  if (right > 0) add(Math.max(0, width - band), 0, width, height);
  if (top > 0) add(0, 0, width, Math.min(height, band));
  if (bottom > 0) add(0, Math.max(0, height - band), width, height);
  const region = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } as Rect<S>;
  return { region, expand: { left, top, right, bottom }, canvas: { width: region.width + left + right, height: region.height + top + bottom } };
}

/** Bounds of the non-zero pixels of a one-byte-per-pixel mask (row-major), or null when all are 0. */
export function maskBounds<S extends Space = Space>(width: number, height: number, data: ArrayLike<number>): Rect<S> | null {
  return computeBounds<S>(width, height, data);
}

/**
 * Where the top-left of a candidate's region (job-canvas pixels) lands in the document: the sent
 * region's origin, minus where the source sits on the job canvas (summary.sourceOffset), plus the
 * shift that growing the document's canvas gives everything (outpaint: the left and top margins).
 */
export function documentOffset(regionOrigin: { x: number; y: number }, sourceOffset: { x: number; y: number }, expand: EdgeMargins | null | undefined, at: { x: number; y: number }): { x: number; y: number } {
  return { x: regionOrigin.x + at.x - sourceOffset.x + (expand?.left ?? 0), y: regionOrigin.y + at.y - sourceOffset.y + (expand?.top ?? 0) };
}

/**
 * The layer mask for a candidate: its compositing mask made hard, 255 wherever it is above 0. The
 * patch is already generated content composited through the soft compositing mask (the source,
 * byte for byte, where it is 0); the soft mask as the layer mask would blend that edge with the
 * source a second time. The hard one shows the patch exactly, what the CLI writes, and still
 * gives designers a mask to paint on (black gives the original back).
 */
export function hardLayerMask(compositing: Uint8Array): Uint8Array {
  return compositing.map((v) => (v > 0 ? 255 : 0));
}

export interface CandidateNameParts {
  mode: 'edit' | 'erase' | 'outpaint';
  /** The user's prompt; left out for erase (the pack's erase prompt is used, not the user's). */
  prompt?: string | null;
  /** The candidate's number as the host lists candidates: 1 = the best ranked. */
  index: number;
  seed: number;
  /** Longest prompt kept, in code points with the ellipsis (default LAYER_NAME_PROMPT_LENGTH). */
  maxPromptLength?: number;
  /** The candidate's 0–100 match (candidateSignals), for hosts whose layer names are all the UI they have (GIMP). */
  match?: number | null;
}

// Runs of these become one space: C0/C1 controls, DEL, and Unicode spaces, zero-width space and BOM
// (one explicit list: the Python mirror uses the same, where \s would differ from JavaScript's).
const NAME_SPACE = /[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+/g;

/** The prompt as a layer name shows it: one line, spaces collapsed, cut at a word near `max` code points with "…". */
export function shortPrompt(prompt: string, max = LAYER_NAME_PROMPT_LENGTH): string {
  // Code points, not UTF-16 units (Python counts the same way); lone surrogates become U+FFFD.
  const cps = Array.from(prompt.replace(NAME_SPACE, ' ').trim(), (c) => (c.length === 1 && c >= '\ud800' && c <= '\udfff' ? '\ufffd' : c));
  if (cps.length <= max) return cps.join('');
  let cut = cps.slice(0, Math.max(1, max - 1));
  // Back to the last space unless the cut already ends a word, when it is not too early.
  const space = cps[cut.length] === ' ' ? cut.length : cut.lastIndexOf(' ');
  if (space >= Math.floor(max / 2)) cut = cut.slice(0, space);
  while (cut.length > 1 && (cut[cut.length - 1] === ' ' || cut[cut.length - 1] === '\u200d')) cut.pop();
  return `${cut.join('')}…`;
}

/** The candidate's layer (or node) name, the same in every host: `edit #2 “a red heart” · seed 43`. */
export function candidateLayerName(parts: CandidateNameParts): string {
  const prompt = parts.mode === 'erase' ? '' : shortPrompt(parts.prompt ?? '', parts.maxPromptLength);
  const match = parts.match !== undefined && parts.match !== null ? ` · match ${parts.match}` : '';
  return `${parts.mode} #${parts.index}${prompt ? ` “${prompt}”` : ''}${match} · seed ${parts.seed}`;
}

/**
 * Which engine made a job's pixels and why, in one line for a host's status text and the CLI:
 * `inpaint (erase pack migan): the image looks like a photograph (flat share 0.08) and pack
 * byteedit-small serves illustrations only: …`.
 */
export function engineLine(summary: Pick<JobSummary, 'engine' | 'pack' | 'route'>): string {
  const s = summary;
  const what = s.engine === 'diffusion' ? `diffusion (pack ${s.pack.name})` : s.engine === 'inpaint' ? `inpaint (erase pack ${s.pack.name})` : 'content-aware fill';
  const route = s.route as JobSummary['route'] | undefined;
  if (!route) return what;
  const prefill = route.prefill ? `; pre-filled with ${route.prefill === 'inpaint' ? `erase pack ${route.inpaintPack}` : 'the content-aware fill'}` : '';
  return `${what}: ${route.reason}${prefill}`;
}

/** What a designer sees of one candidate: its rank, whether it is the best, and one 0–100 match. */
export interface CandidateSignal {
  index: number;
  /** 1 = best. */
  rank: number;
  best: boolean;
  /** How this candidate compares with the others of its job, 0–100 (50: the job's average); null when nothing was compared. */
  match: number | null;
}

/**
 * One signal per candidate, from the job's ranking: rank, a best mark, and `match` = round(100 /
 * (1 + e^(−2s))) where s is the candidate's rank score (its rewards' weighted z-scores within the
 * job, summary.rankScores): 50 is the job's average, 88 a standard deviation better, 12 one worse.
 * Null when there was nothing to compare (a single candidate, or no rewards scored): the raw
 * metrics stay in the candidate's scores for a details view.
 */
export function candidateSignals(summary: Pick<JobSummary, 'ranking' | 'rankScores'>): CandidateSignal[] {
  const scores = summary.rankScores;
  const compared = summary.ranking.length > 1 && scores.some((s) => s !== 0);
  return summary.ranking.map((index, i) => {
    const s = scores[index] ?? 0;
    return { index, rank: i + 1, best: i === 0, match: compared ? Math.round(100 / (1 + Math.exp(-2 * s))) : null };
  });
}

/** The signal as one short line: `#1 · best · match 88`. */
export function signalLine(signal: CandidateSignal): string {
  return [`#${signal.rank}`, ...(signal.best ? ['best'] : []), ...(signal.match !== null ? [`match ${signal.match}`] : [])].join(' · ');
}
