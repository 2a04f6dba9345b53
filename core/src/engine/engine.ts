/**
 * The engine: a FIFO job queue over one device, one job at a time. Jobs are data plus events:
 * `submit` checks the request and returns a handle at once; queued, started, progress, preview,
 * candidate, finished, error and cancelled arrive on the handle's `events`, in that order, as one
 * discriminated union. The same class runs in-process, inside a Web Worker and inside a Node
 * worker_thread.
 */
import { SdkError } from '../protocol/errors';
import { validateRequest } from '../protocol/request';
import { isLoadedInpaintPack, loadAnyPack, type LoadedAnyPack, type LoadedPack } from '../packs/load';
import type { PackSource } from '../packs/source';
import { mayUseInpainter, needsDomain, needsPack, pixelFacts, planEdit, planningProfile, type EditPlan } from '../plan/plan';
import { judgeDomain } from '../image/domain';
import { inpaintPrefill, openInpainter, runInpaint, type OpenInpainter } from './inpaint-job';
import { DEFAULT_MAX_PIXELS } from '../image/codecs';
import { randomSeed } from '../samplers/noise';
import { SCHEDULER_NAMES } from '../samplers/types';
import type { DeviceName, Runtime } from '../runtime/types';
import { openPack, type OpenPack } from './models';
import { now as clock, span, type Profile } from '../util/profile';
import { runPipeline, type PipelineHooks } from './pipeline';
import { prefillCanvas, runFill } from './fill-job';
import { scoreCandidate } from '../rewards/score';
import { rankCandidates } from '../rewards/rank';
import type { RewardModel } from '../rewards/types';
import { EDIT_MODES } from '../protocol/unions';

export { validateRequest } from '../protocol/request';
import type { Capabilities, Candidate, EditRequest, EngineApi, JobHandle, JobSummary } from '../protocol/events';
import { JobQueue, type RunningJob } from './queue';

export const VERSION = '0.1.0';

function asDiffusion(pack: LoadedAnyPack): LoadedPack {
  if (isLoadedInpaintPack(pack)) throw new SdkError('mode_unsupported', `pack ${pack.manifest.name} is a learned erase pack (family inpaint): it has no diffusion or reward models; use it with engine inpaint or as inpaintPack`);
  return pack;
}

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
  /**
   * The learned erase pack to route erase/outpaint to (and prefill with) when a request names
   * none: a reference for `packs`, or undefined when none is installed. Asked per job, so a pack
   * pulled while the engine runs is used from the next job on.
   */
  inpaintPack?: () => Promise<string | undefined>;
}

const now = (): number => Date.now();

export class Engine implements EngineApi {
  private readonly queue = new JobQueue((job) => this.runJob(job));
  private readonly opened = new Map<string, Promise<OpenPack>>();
  private readonly loaded = new Map<string, Promise<LoadedAnyPack>>();
  private readonly nets = new Map<string, Promise<OpenInpainter>>();
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
    const opened = [...this.opened.values(), ...this.nets.values()];
    this.opened.clear();
    this.nets.clear();
    this.loaded.clear();
    await Promise.all(opened.map((p: Promise<{ release(): Promise<void> }>) => p.then((o) => o.release(), () => undefined)));
  }

  /** Loads (and caches) a pack by reference, without running anything: for hosts that validate early. */
  async loadPack(ref?: string): Promise<LoadedAnyPack> {
    return this.load(await this.options.packs(ref));
  }

  /** pack.json and tokenizer, parsed once per location. */
  private load(source: PackSource): Promise<LoadedAnyPack> {
    let p = this.loaded.get(source.location);
    if (!p) {
      p = loadAnyPack(source);
      this.loaded.set(source.location, p);
      p.catch(() => this.loaded.delete(source.location));
    }
    return p;
  }

  private async open(source: PackSource): Promise<OpenPack> {
    const key = `${source.location}|${this.device}`;
    let p = this.opened.get(key);
    if (!p) {
      p = this.load(source).then((pack) => openPack(asDiffusion(pack), this.options.runtime, this.device));
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

  /** An erase pack's network, opened once per location (it is small next to a diffusion pack: not evicted). */
  private openNet(source: PackSource): Promise<OpenInpainter> {
    const key = `${source.location}|${this.device}`;
    let p = this.nets.get(key);
    if (!p) {
      p = this.load(source).then((pack) => {
        if (!isLoadedInpaintPack(pack)) throw new SdkError('pack_invalid', `pack ${pack.manifest.name} at ${source.location} is a diffusion pack, not a learned erase pack (family inpaint)`);
        return openInpainter(pack, this.options.runtime, this.device);
      });
      this.nets.set(key, p);
      p.catch(() => this.nets.delete(key));
    }
    return p;
  }

  /** The erase pack a job may route to: the request's, else the engine's installed one (a broken installed one is passed over). */
  private async inpainterFor(params: EditRequest): Promise<{ source: PackSource; pack: LoadedAnyPack } | null> {
    if (params.inpaintPack !== undefined) {
      const source = await this.options.packs(params.inpaintPack);
      return { source, pack: await this.load(source) };
    }
    try {
      const ref = await this.options.inpaintPack?.();
      if (!ref) return null;
      const source = await this.options.packs(ref);
      const pack = await this.load(source);
      return isLoadedInpaintPack(pack) ? { source, pack } : null;
    } catch {
      return null;
    }
  }

  /** Executes the job's plan: loads what it names, runs the fill, the erase network or the diffusion pipeline, emits the events. */
  private async runJob(job: RunningJob): Promise<void> {
    const started = now();
    const { image, mask, ...params } = job.request;
    const profile = this.options.profile;
    // The pack is resolved and its pack.json read (cached) to plan against; the fill needs none.
    const source = needsPack(params) ? await this.options.packs(params.pack) : null;
    const packProfile = source ? planningProfile((await this.load(source)).manifest) : null;
    const inpainter = mayUseInpainter(params) && packProfile?.family !== 'inpaint' ? await this.inpainterFor(job.request) : null;
    const tPlan = clock();
    const judged = needsDomain(params) ? judgeDomain(image, mask) : null;
    const facts = { ...pixelFacts(image, mask), ...(judged ? { pixelDomain: { domain: judged.domain, flat: judged.flat } } : {}) };
    const plan: EditPlan = planEdit({ ...params, ...facts, seed: params.seed ?? randomSeed() }, packProfile, { maxPixels: this.options.maxPixels }, inpainter ? planningProfile(inpainter.pack.manifest) : null);
    profile?.add('plan', clock() - tPlan);
    let models: OpenPack | null = null;
    let net: OpenInpainter | null = null;
    if (plan.engine === 'diffusion') {
      if (!source) throw new SdkError('internal', 'a diffusion plan without a pack');
      models = await this.open(source);
    }
    if (plan.engine === 'inpaint' || plan.prefillWith === 'inpaint') {
      const netSource = packProfile?.family === 'inpaint' ? source : inpainter?.source;
      if (!netSource) throw new SdkError('internal', 'an inpaint plan without an erase pack');
      net = await this.openNet(netSource);
    }
    const loadMs = now() - started;
    if (job.cancelled) throw new SdkError('cancelled', 'the job was cancelled');
    const { set, rewardPack, weights } = plan.rewards;
    const scored = set !== 'none';
    let rewardModels: RewardModel[] = [];
    if (set === 'pack') rewardModels = models?.rewards ?? [];
    else if (set === 'reward-pack') rewardModels = (await this.open(await this.options.packs(rewardPack))).rewards;
    const rewardSources: Record<string, string> = { coherence_analytic: 'analytic' };
    for (const r of rewardModels) rewardSources[r.name] = r.source;
    if (!rewardSources.coherence) rewardSources.coherence = 'analytic';
    const device = models ? models.device : plan.engine === 'inpaint' && net ? net.device : 'cpu';
    const fallbacks = models ? [...models.fallbacks] : plan.engine === 'inpaint' && net ? [...net.fallbacks] : [];
    job.emit({ type: 'started', device, candidates: plan.seeds.length, steps: plan.steps, ...(fallbacks.length ? { fallbacks } : {}) });
    const candidates: Candidate[] = [];
    const of = plan.seeds.length;
    const hooks: PipelineHooks = {
      isCancelled: () => job.cancelled,
      onProgress: (candidate, step, total, done, ofAll) =>
        job.emit({ type: 'progress', candidate, step, total, done: done ?? candidate * total + step, of: ofAll ?? of * total }),
      onPreview: (candidate, step, preview) => job.emit({ type: 'preview', candidate, step, image: preview }),
      onCandidate: (candidate) => {
        candidates.push(candidate);
        job.emit({ type: 'candidate', candidate });
      },
      score: scored ? (crop, genMask) => span(profile, 'rewards (all)', () => scoreCandidate(rewardModels, { image: crop, mask: genMask, prompt: plan.prompt, mode: plan.mode }, profile)) : undefined,
      profile,
      rank: (scores) => rankCandidates(scores, weights, plan.seeds).order,
    };
    let t;
    if (plan.engine === 'inpaint') {
      t = await runInpaint(plan, image, mask, net!, hooks);
    } else if (!models) {
      t = await runFill(plan, image, mask, hooks);
    } else {
      const prefilled = !plan.prefill ? undefined : plan.prefillWith === 'inpaint' ? await inpaintPrefill(plan, image, mask, net!) : await prefillCanvas(plan, image, mask, plan.seeds[0]!, { isCancelled: () => job.cancelled });
      t = await runPipeline(plan, image, mask, models, hooks, prefilled);
    }
    const ranking = scored ? rankCandidates(candidates.map((c) => c.scores ?? {}), weights, candidates.map((c) => c.seed)) : { order: candidates.map((c) => c.index), combined: candidates.map(() => 0), weights };
    const manifest = models?.pack.manifest ?? (plan.engine === 'inpaint' ? net?.pack.manifest : undefined);
    const summary: JobSummary = {
      jobId: job.id,
      canvas: plan.canvas,
      sourceOffset: plan.sourceOffset,
      seeds: plan.seeds,
      device,
      deviceChoice: { requested: models || plan.engine === 'inpaint' ? this.device : 'cpu', device, fallbacks },
      pack: manifest ? { name: manifest.name, version: manifest.version, kind: manifest.kind } : { name: 'patchmatch', version: '1', kind: 'model-free' },
      engine: plan.engine === 'fill' ? 'patchmatch' : plan.engine,
      route: { ...plan.route, ...(plan.prefillWith ? { prefill: plan.prefillWith } : {}), ...(plan.inpaintPack ? { inpaintPack: plan.inpaintPack } : {}) },
      steps: plan.steps,
      timings: { queuedMs: started - job.enqueuedAt, loadMs, encodeMs: t.encodeMs, denoiseMs: t.denoiseMs, decodeMs: t.decodeMs, totalMs: now() - started },
      ranking: ranking.order,
      rankScores: ranking.combined,
      rankWeights: ranking.weights,
      rewardSources: scored ? rewardSources : {},
    };
    job.emit({ type: 'finished', summary });
  }
}
