/**
 * The engine: a FIFO job queue over one device, one job at a time. Jobs are data plus events:
 * `submit` checks the request and returns a handle at once; queued, started, progress, preview,
 * candidate, finished, error and cancelled arrive on the handle's `events`, in that order, as one
 * discriminated union. The same class runs in-process, inside a Web Worker and inside a Node
 * worker_thread.
 */
import { SdkError } from '../protocol/errors';
import { validateRequest } from '../protocol/request';
import { loadPack, type LoadedPack } from '../packs/load';
import type { PackSource } from '../packs/source';
import { planEdit, type EditPlan } from '../plan/plan';
import { DEFAULT_MAX_PIXELS } from '../image/codecs';
import { randomSeed } from '../samplers/noise';
import { SCHEDULER_NAMES } from '../samplers/types';
import type { DeviceName, Runtime } from '../runtime/types';
import { openPack, type OpenPack } from './models';
import { now as clock, span, type Profile } from '../util/profile';
import { runPipeline } from './pipeline';
import { FILL_ENGINE_MANIFEST, prefillCanvas, runFill } from './fill-job';
import { scoreCandidate } from '../rewards/score';
import { rankCandidates, resolveWeights } from '../rewards/rank';
import type { RewardModel } from '../rewards/types';
import { EDIT_MODES } from '../protocol/unions';

export { validateRequest } from '../protocol/request';
import type { Capabilities, Candidate, EditRequest, EngineApi, JobHandle, JobSummary } from '../protocol/events';
import { JobQueue, type RunningJob } from './queue';

export const VERSION = '0.1.0';

export type PackResolver = (ref: string | undefined) => Promise<PackSource>;

export interface EngineOptions {
  runtime: Runtime;
  packs: PackResolver;
  device?: DeviceName;
  maxPixels?: number;
  /** How many opened packs to keep (sessions are large); older ones are released. */
  cachedPacks?: number;
  /** Time per phase of every job (the bench's --profile); nothing is measured without it. */
  profile?: Profile;
}

const now = (): number => Date.now();

export class Engine implements EngineApi {
  private readonly queue = new JobQueue((job) => this.runJob(job));
  private readonly opened = new Map<string, Promise<OpenPack>>();
  private readonly loaded = new Map<string, Promise<LoadedPack>>();
  private readonly device: DeviceName;
  private disposed = false;

  constructor(private readonly options: EngineOptions) {
    this.device = options.device ?? 'auto';
  }

  async submit(request: EditRequest): Promise<JobHandle> {
    if (this.disposed) throw new SdkError('internal', 'the engine has been disposed');
    validateRequest(request);
    return this.queue.submit(request);
  }

  async capabilities(): Promise<Capabilities> {
    const devices = await this.options.runtime.devices();
    return {
      version: VERSION,
      runtime: this.options.runtime.kind,
      devices,
      deviceChoice: await this.options.runtime.choose(this.device),
      modes: [...EDIT_MODES],
      schedulers: [...SCHEDULER_NAMES],
      maxPixels: this.options.maxPixels ?? DEFAULT_MAX_PIXELS,
    };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.queue.dispose();
    const opened = [...this.opened.values()];
    this.opened.clear();
    this.loaded.clear();
    await Promise.all(opened.map((p) => p.then((o) => o.release(), () => undefined)));
  }

  /** Loads (and caches) a pack by reference, without running anything: for hosts that validate early. */
  async loadPack(ref?: string): Promise<LoadedPack> {
    return this.load(await this.options.packs(ref));
  }

  /** pack.json and tokenizer, parsed once per location. */
  private load(source: PackSource): Promise<LoadedPack> {
    let p = this.loaded.get(source.location);
    if (!p) {
      p = loadPack(source);
      this.loaded.set(source.location, p);
      p.catch(() => this.loaded.delete(source.location));
    }
    return p;
  }

  private async open(source: PackSource): Promise<OpenPack> {
    const key = `${source.location}|${this.device}`;
    let p = this.opened.get(key);
    if (!p) {
      p = this.load(source).then((pack) => openPack(pack, this.options.runtime, this.device));
      this.opened.set(key, p);
      p.catch(() => this.opened.delete(key));
      const keep = this.options.cachedPacks ?? 2;
      while (this.opened.size > keep) {
        const [oldKey, old] = this.opened.entries().next().value as [string, Promise<OpenPack>];
        this.opened.delete(oldKey);
        void old.then((o) => o.release(), () => undefined);
      }
    }
    return p;
  }

  private async runJob(job: RunningJob): Promise<void> {
    const started = now();
    const req = job.request;
    {
      // Which engine: the pack's diffusion models, or the model-free fill.
      let useFill = req.engine === 'fill';
      let models: OpenPack | null = null;
      if (!useFill) {
        const source = await this.options.packs(req.pack);
        const manifest = (await this.load(source)).manifest;
        if (!manifest.modes.includes(req.mode) && req.engine !== 'diffusion' && (req.mode === 'erase' || req.mode === 'outpaint')) useFill = true;
        else models = await this.open(source);
      }
      if (useFill && req.mode === 'edit') {
        throw new SdkError('mode_unsupported', 'the fill engine erases and outpaints; it cannot add content from a prompt: use a diffusion pack for edit');
      }
      const loadMs = now() - started;
      const manifest = models ? models.pack.manifest : FILL_ENGINE_MANIFEST;
      const profile = this.options.profile;
      const tPlan = clock();
      const plan: EditPlan = planEdit(
        {
          imageSize: { width: req.image.width, height: req.image.height },
          mask: req.mask ? { width: req.mask.width, height: req.mask.height, bounds: req.mask.bounds } : undefined,
          mode: req.mode,
          expand: req.expand,
          prompt: req.prompt,
          negativePrompt: req.negativePrompt,
          steps: req.steps,
          guidance: req.guidance,
          scheduler: req.scheduler,
          strength: req.strength ?? (req.prefill && models ? 0.6 : undefined),
          candidates: req.candidates,
          seed: req.seed ?? randomSeed(),
          colorMatch: req.colorMatch,
          blend: req.blend,
          previewEvery: req.previewEvery,
          maxPixels: req.maxPixels ?? this.options.maxPixels,
          search: req.search,
        },
        manifest,
      );
      profile?.add('plan', clock() - tPlan);
      if (job.cancelled) throw new SdkError('cancelled', 'the job was cancelled');
      const weights = resolveWeights(req.mode, req.rank);
      let rewardModels: RewardModel[] = [];
      if (req.rewards !== false) {
        rewardModels = models?.rewards ?? [];
        if (req.rewardPack) rewardModels = (await this.open(await this.options.packs(req.rewardPack))).rewards;
      }
      const rewardSources: Record<string, string> = { coherence_analytic: 'analytic' };
      for (const r of rewardModels) rewardSources[r.name] = r.source;
      if (!rewardSources.coherence) rewardSources.coherence = 'analytic';
      const device = models ? models.device : 'cpu';
      const fallbacks = models ? [...models.fallbacks] : [];
      job.emit({ type: 'started', device, candidates: plan.seeds.length, steps: models ? plan.steps : 100, ...(fallbacks.length ? { fallbacks } : {}) });
      const candidates: Candidate[] = [];
      const of = plan.seeds.length;
      const hooks: Parameters<typeof runPipeline>[4] = {
        isCancelled: () => job.cancelled,
        onProgress: (candidate, step, total, done, ofAll) =>
          job.emit({ type: 'progress', candidate, step, total, done: done ?? candidate * total + step, of: ofAll ?? of * total }),
        onPreview: (candidate, step, image) => job.emit({ type: 'preview', candidate, step, image }),
        onCandidate: (candidate) => {
          candidates.push(candidate);
          job.emit({ type: 'candidate', candidate });
        },
        score: req.rewards === false ? undefined : (image, mask) => span(profile, 'rewards (all)', () => scoreCandidate(rewardModels, { image, mask, prompt: plan.prompt, mode: plan.mode }, profile)),
        profile,
        rank: (scores) => rankCandidates(scores, weights, plan.seeds).order,
      };
      let t;
      if (!models) {
        t = await runFill(plan, req.image, req.mask, hooks);
      } else {
        const prefilled = req.prefill && plan.mode !== 'edit' ? await prefillCanvas(plan, req.image, req.mask, plan.seeds[0]!, { isCancelled: () => job.cancelled }) : undefined;
        t = await runPipeline(plan, req.image, req.mask, models, hooks, prefilled);
      }
      const ranking = req.rewards === false ? { order: candidates.map((c) => c.index), combined: candidates.map(() => 0), weights } : rankCandidates(candidates.map((c) => c.scores ?? {}), weights, candidates.map((c) => c.seed));
      const summary: JobSummary = {
        jobId: job.id,
        canvas: plan.canvas,
        sourceOffset: plan.sourceOffset,
        seeds: plan.seeds,
        device,
        deviceChoice: { requested: models ? this.device : 'cpu', device, fallbacks },
        pack: models ? { name: manifest.name, version: manifest.version, kind: manifest.kind } : { name: 'patchmatch', version: '1', kind: 'model-free' },
        engine: models ? 'diffusion' : 'patchmatch',
        steps: plan.steps,
        timings: { queuedMs: started - job.enqueuedAt, loadMs, encodeMs: t.encodeMs, denoiseMs: t.denoiseMs, decodeMs: t.decodeMs, totalMs: now() - started },
        ranking: ranking.order,
        rankScores: ranking.combined,
        rankWeights: ranking.weights,
        rewardSources: req.rewards === false ? {} : rewardSources,
      };
      job.emit({ type: 'finished', summary });
    }
  }
}
