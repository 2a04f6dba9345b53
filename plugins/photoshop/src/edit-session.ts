/**
 * One panel workflow, free of DOM code so it runs the same against the fake Photoshop in tests:
 * read the selection → job on the bridge through core's HTTP engine (the request's pixels go as
 * PNG) → progress and candidates, with their pixels, from the job handle's events → on Apply, the
 * chosen candidates' patch and mask become masked layers.
 */
import { bridgeHealth, createImage, createMask, encodeBase64, HttpEngineClient, recordChoice, type BridgeOptions, type Candidate, type EditRequest, type EngineApi, type JobHandle, type JobSummary } from '@byteedit/core/http';
import { errorCode, PanelError } from './errors';
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
  onCandidate?: (candidate: Candidate) => void;
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
  summary: JobSummary;
  /** Best first (the bridge's ranking), each with its patch and compositing mask. */
  candidates: Candidate[];
}

const view = (data: Uint8ClampedArray): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

export const PREFERENCES_OFF_MESSAGE = 'The bridge does not record choices: restart it with "npx byteedit serve --record-preferences FOLDER", or untick "Keep my choices". The layers were added.';

export class EditSession {
  private active: JobHandle | null = null;
  private cancelled = false;
  /** The engine jobs run on: core's HTTP engine for this bridge unless one is given. */
  readonly engine: EngineApi;

  constructor(
    private readonly ps: PhotoshopSubset,
    private readonly bridge: BridgeOptions,
    engine?: EngineApi,
  ) {
    this.engine = engine ?? new HttpEngineClient(bridge);
  }

  async generate(options: GenerateOptions): Promise<Generation> {
    const progress = options.onProgress ?? (() => undefined);
    this.cancelled = false;
    progress(0, 'Checking the bridge…');
    // Before any pixels are read: a bridge that is not running is the most common problem.
    await bridgeHealth(this.bridge);
    if (options.mode === 'outpaint') {
      const m = options.expand;
      if (!m || m.left + m.top + m.right + m.bottom <= 0 || [m.left, m.top, m.right, m.bottom].some((v) => !Number.isInteger(v) || v < 0 || v > 8192)) {
        throw new PanelError('invalid_input', 'Outpaint needs how many pixels to add: enter whole numbers from 0 to 8192 for left, top, right and bottom (at least one above 0).');
      }
    }
    progress(0, 'Reading the selection…');
    const read = options.mode === 'outpaint' ? await readOutpaintRegion(this.ps, options.expand!, { source: options.source }) : await readSelectionRegion(this.ps, { source: options.source });
    const prompt = (options.prompt ?? '').trim();
    const request: EditRequest = {
      image: createImage(read.image.width, read.image.height, read.image.data),
      mode: options.mode,
      ...(read.mask ? { mask: createMask(read.mask.width, read.mask.height, read.mask.data) } : {}),
      ...(prompt ? { prompt } : {}),
      ...(options.mode === 'outpaint' ? { expand: options.expand } : {}),
      ...(options.candidates !== undefined ? { candidates: options.candidates } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.steps !== undefined ? { steps: options.steps } : {}),
    };
    if (this.cancelled) throw new PanelError('cancelled', 'Cancelled.');
    progress(0, 'Sending to the bridge…');
    const handle = await this.engine.submit(request);
    this.active = handle;
    const candidates: Candidate[] = [];
    let count = options.candidates ?? 1;
    try {
      // Cancel pressed while the request was on its way.
      if (this.cancelled) await handle.cancel();
      for await (const e of handle.events) {
        if (e.type === 'queued') progress(0, e.position > 0 ? `Waiting: ${e.position} job(s) ahead` : 'Queued');
        else if (e.type === 'started') {
          count = e.candidates;
          progress(0, `Generating on ${e.device}…`);
        } else if (e.type === 'progress') progress(e.of > 0 ? e.done / e.of : 0, `Candidate ${e.candidate + 1}/${count}, step ${e.step}/${e.total}`);
        else if (e.type === 'candidate') {
          candidates.push(e.candidate);
          options.onCandidate?.(e.candidate);
        }
      }
    } finally {
      this.active = null;
    }
    // Rejects with the job's SdkError: code cancelled, or what failed on the bridge.
    const summary = await handle.done;
    progress(1, 'Done');
    const order = summary.ranking.length > 0 ? summary.ranking : candidates.map((c) => c.index);
    const byIndex = new Map(candidates.map((c) => [c.index, c]));
    return {
      jobId: handle.id,
      mode: options.mode,
      prompt,
      documentID: read.documentID,
      context: read.context,
      expand: options.mode === 'outpaint' ? options.expand : undefined,
      summary,
      candidates: order.map((i) => byIndex.get(i)).filter((c): c is Candidate => c !== undefined),
    };
  }

  /** Cancels the running job (the bridge stops between denoising steps). */
  async cancel(): Promise<void> {
    this.cancelled = true;
    if (this.active) await this.active.cancel();
  }

  private candidate(generation: Generation, index: number): Candidate {
    const c = generation.candidates.find((x) => x.index === index);
    if (!c) throw new PanelError('invalid_input', `Candidate ${index} is not part of this result; generate again.`);
    return c;
  }

  /**
   * A candidate's thumbnail as a data: URL. UXP's <img> is documented for JPEG data URLs, and
   * Photoshop's own encoder makes them from image data: no image decoding in JavaScript.
   */
  async thumbnail(generation: Generation, index: number): Promise<string> {
    const { patch } = this.candidate(generation, index);
    const imageData = await this.ps.imaging.createImageDataFromBuffer(view(patch.data), { width: patch.width, height: patch.height, components: 4, chunky: true, colorSpace: 'RGB' });
    try {
      const jpeg = await this.ps.imaging.encodeImageData({ imageData, base64: true });
      return `data:image/jpeg;base64,${typeof jpeg === 'string' ? jpeg : encodeBase64(Uint8Array.from(jpeg))}`;
    } finally {
      await imageData.dispose();
    }
  }

  /** Adds the chosen candidates (by candidate index) as masked layers, in one history state. */
  async apply(generation: Generation, indices: number[], options: ApplyOptions = {}): Promise<ApplyOutcome> {
    const layers = indices.map((index) => {
      const c = this.candidate(generation, index);
      const { x, y, width, height } = c.region;
      return {
        name: layerName(generation.mode, generation.prompt, generation.candidates.indexOf(c) + 1, c.seed),
        region: box<ContextSpace>(x, y, x + width, y + height),
        patch: view(c.patch.data),
        mask: c.mask.data,
      };
    });
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
      const reply = await recordChoice(this.bridge, generation.jobId, indices, 'photoshop');
      if (reply.recorded > 0) return { recorded: reply.recorded, message: `Choice kept for training in ${reply.file ?? 'the bridge\'s preferences folder'} (local only).` };
      return { recorded: 0, message: `Choice not kept: ${reply.reason ?? 'nothing to record'}.` };
    } catch (err) {
      return { recorded: 0, message: errorCode(err) === 'preferences_off' ? PREFERENCES_OFF_MESSAGE : err instanceof Error ? err.message : String(err) };
    }
  }
}

export function historyName(mode: PanelMode, count: number): string {
  return `byteedit ${mode}${count > 1 ? ` (${count} layers)` : ''}`;
}
