/**
 * One panel workflow, free of DOM code so it runs the same against the fake Photoshop in tests:
 * read the selection → PNG in JavaScript → job on the bridge → progress and candidates from its
 * events → on Apply, fetch the chosen candidates' raw patch and mask and add them as layers.
 */
import { encodeGrayPng, encodePng } from '@byteedit/core';
import { toBase64 } from './base64';
import { BridgeClient, type BridgeEvent, type JobParams, type RawResult, type WireCandidate, type WireSummary } from './bridge-client';
import { PanelError } from './errors';
import { box, type Box, type ContextSpace, type DocSpace } from './geometry';
import { applyLayers, layerName, readOutpaintRegion, readSelectionRegion, type ApplyResult, type PixelSource } from './photoshop-adapter';
import type { PhotoshopSubset } from './ps-api';

export type PanelMode = 'edit' | 'erase' | 'outpaint';

export interface Margins {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface GenerateOptions {
  mode: PanelMode;
  prompt?: string;
  candidates?: number;
  seed?: number;
  steps?: number;
  source?: PixelSource;
  /** Outpaint only: how many pixels to add on each side. */
  expand?: Margins;
  onProgress?: (fraction: number, text: string) => void;
  onCandidate?: (candidate: WireCandidate) => void;
}

export interface ApplyOptions {
  /**
   * The user opted in ("Keep my choices", off by default): after the layers are added, the bridge
   * records the applied candidates against the others in its local folder. Never fails the apply.
   */
  recordPreference?: boolean;
}

export interface ApplyOutcome extends ApplyResult {
  /** Only when recordPreference was asked: what was recorded, or why not, for the panel to show. */
  preference?: { recorded: number; message: string };
}

export interface Generation {
  jobId: string;
  mode: PanelMode;
  prompt: string;
  documentID: number;
  context: Box<DocSpace>;
  expand?: Margins;
  summary: WireSummary;
  /** Best first (the bridge's ranking). */
  candidates: WireCandidate[];
}

/** Lets the UI repaint between the synchronous steps (PNG encoding, base64). */
const breathe = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

export class EditSession {
  private activeJob: string | null = null;
  private cancelled = false;
  /** Raw patches already fetched (for thumbnails), reused by apply. Key: jobId/index. */
  private readonly patches = new Map<string, RawResult>();

  constructor(
    private readonly ps: PhotoshopSubset,
    private readonly bridge: BridgeClient,
  ) {}

  async generate(options: GenerateOptions): Promise<Generation> {
    const progress = options.onProgress ?? (() => undefined);
    this.cancelled = false;
    this.patches.clear();
    progress(0, 'Checking the bridge…');
    await this.bridge.health();
    if (options.mode === 'outpaint') {
      const m = options.expand;
      if (!m || m.left + m.top + m.right + m.bottom <= 0 || [m.left, m.top, m.right, m.bottom].some((v) => !Number.isInteger(v) || v < 0 || v > 8192)) {
        throw new PanelError('invalid_input', 'Outpaint needs how many pixels to add: enter whole numbers from 0 to 8192 for left, top, right and bottom (at least one above 0).');
      }
    }
    progress(0, 'Reading the selection…');
    const read = options.mode === 'outpaint' ? await readOutpaintRegion(this.ps, options.expand!, { source: options.source }) : await readSelectionRegion(this.ps, { source: options.source });
    await breathe();
    progress(0, 'Encoding…');
    const image = toBase64(encodePng(read.image));
    await breathe();
    const mask = read.mask ? toBase64(encodeGrayPng(read.mask.width, read.mask.height, read.mask.data)) : undefined;
    await breathe();
    const prompt = (options.prompt ?? '').trim();
    const params: JobParams = {
      image,
      mask,
      mode: options.mode,
      prompt: prompt || undefined,
      expand: options.mode === 'outpaint' ? options.expand : undefined,
      candidates: options.candidates,
      seed: options.seed,
      steps: options.steps,
    };
    if (this.cancelled) throw new PanelError('cancelled', 'Cancelled.');
    progress(0, 'Sending to the bridge…');
    const jobId = await this.bridge.submit(params);
    this.activeJob = jobId;
    const candidates: WireCandidate[] = [];
    let terminal: BridgeEvent;
    try {
      terminal = await this.bridge.watch(jobId, (e) => {
        if (e.type === 'queued') progress(0, e.position > 0 ? `Waiting: ${e.position} job(s) ahead` : 'Queued');
        else if (e.type === 'started') progress(0, `Generating on ${e.device}…`);
        else if (e.type === 'progress') progress(e.of > 0 ? (e.done + e.step / Math.max(1, e.total)) / e.of : 0, `Candidate ${e.candidate + 1}/${e.of}, step ${e.step}/${e.total}`);
        else if (e.type === 'candidate') {
          candidates.push(e.candidate);
          options.onCandidate?.(e.candidate);
        }
      });
    } finally {
      this.activeJob = null;
    }
    if (terminal.type === 'cancelled') throw new PanelError('cancelled', 'Cancelled.');
    if (terminal.type === 'error') throw new PanelError('bridge_error', `Generation failed: ${terminal.error.message}`);
    if (terminal.type !== 'finished') throw new PanelError('bridge_error', `Unexpected end of the job (${terminal.type}).`);
    progress(1, 'Done');
    const order = terminal.summary.ranking.length > 0 ? terminal.summary.ranking : candidates.map((c) => c.index);
    const byIndex = new Map(candidates.map((c) => [c.index, c]));
    return {
      jobId,
      mode: options.mode,
      prompt,
      documentID: read.documentID,
      context: read.context,
      expand: options.mode === 'outpaint' ? options.expand : undefined,
      summary: terminal.summary,
      candidates: order.map((i) => byIndex.get(i)).filter((c): c is WireCandidate => c !== undefined),
    };
  }

  /** Cancels the running job (the bridge stops between denoising steps). */
  async cancel(): Promise<void> {
    this.cancelled = true;
    if (this.activeJob) await this.bridge.cancel(this.activeJob);
  }

  /**
   * A candidate's thumbnail as a data: URL. UXP's <img> is documented for JPEG data URLs, and
   * Photoshop's own encoder makes them from image data: no image decoding in JavaScript.
   */
  async thumbnail(generation: Generation, index: number): Promise<string> {
    const patch = await this.patch(generation.jobId, index);
    const imageData = await this.ps.imaging.createImageDataFromBuffer(patch.data, { width: patch.width, height: patch.height, components: 4, chunky: true, colorSpace: 'RGB' });
    try {
      const jpeg = await this.ps.imaging.encodeImageData({ imageData, base64: true });
      return `data:image/jpeg;base64,${typeof jpeg === 'string' ? jpeg : toBase64(Uint8Array.from(jpeg))}`;
    } finally {
      await imageData.dispose();
    }
  }

  private async patch(jobId: string, index: number): Promise<RawResult> {
    const key = `${jobId}/${index}`;
    let patch = this.patches.get(key);
    if (!patch) {
      patch = await this.bridge.result(jobId, index, 'patch');
      this.patches.set(key, patch);
    }
    return patch;
  }

  /** Adds the chosen candidates (by candidate index) as masked layers, in one history state. */
  async apply(generation: Generation, indices: number[], options: ApplyOptions = {}): Promise<ApplyOutcome> {
    const layers = [];
    for (const index of indices) {
      const c = generation.candidates.find((x) => x.index === index);
      if (!c) throw new PanelError('bridge_error', `Candidate ${index} is not part of this result.`);
      const patch = await this.patch(generation.jobId, index);
      const mask = await this.bridge.result(generation.jobId, index, 'mask');
      if (patch.x !== c.region.x || patch.y !== c.region.y || mask.width !== patch.width || mask.height !== patch.height) {
        throw new PanelError('bridge_error', `Candidate ${index}'s patch and mask disagree on its region; generate again.`);
      }
      layers.push({
        name: layerName(generation.mode, generation.prompt, generation.candidates.indexOf(c) + 1, c.seed),
        region: box<ContextSpace>(patch.x, patch.y, patch.x + patch.width, patch.y + patch.height),
        patch: patch.data,
        mask: mask.data,
      });
    }
    const applied = await applyLayers(this.ps, {
      documentID: generation.documentID,
      context: generation.context,
      sourceOffset: generation.summary.sourceOffset,
      expand: generation.expand,
      historyName: historyName(generation.mode, indices.length),
      layers,
    });
    if (!options.recordPreference) return applied;
    return { ...applied, preference: await this.recordChoice(generation, indices) };
  }

  /** Asks the bridge to record the choice; any failure becomes a message (the layers are in). */
  private async recordChoice(generation: Generation, indices: number[]): Promise<{ recorded: number; message: string }> {
    try {
      const reply = await this.bridge.recordChoice(generation.jobId, indices);
      if (reply.recorded > 0) return { recorded: reply.recorded, message: `Choice kept for training in ${reply.file ?? 'the bridge\'s preferences folder'} (local only).` };
      return { recorded: 0, message: `Choice not kept: ${reply.reason ?? 'nothing to record'}.` };
    } catch (err) {
      return { recorded: 0, message: err instanceof Error ? err.message : String(err) };
    }
  }
}

export function historyName(mode: PanelMode, count: number): string {
  return `byteedit ${mode}${count > 1 ? ` (${count} layers)` : ''}`;
}
