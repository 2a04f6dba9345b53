/**
 * "Keep my choices" (docs/preferences.md): the iframe cannot write files, so the applied candidate
 * goes to the local bridge, which records it only when it was started with
 * --record-preferences DIR. A job that ran on the bridge is named by its id (the bridge holds the
 * pixels); a job that ran in this iframe is sent whole, as the record's PNGs. Without a bridge
 * nothing is recorded anywhere.
 */
import { choiceExamples, jobPictures, recordChoice as recordOnBridge, uploadPreference, type BridgeOptions, type Candidate, type JobSummary, type RgbaImage } from './core';

export interface AppliedJob {
  id: string;
  /** Where the job ran: its id means something to the bridge only when it ran there. */
  where: 'iframe' | 'bridge';
  image: RgbaImage;
  mode: 'edit' | 'erase' | 'outpaint';
  prompt: string;
  summary: JobSummary;
  candidates: Candidate[];
}

/** Records that `chosen` was applied; resolves to a line for the user (never rejects). */
export async function recordChoice(bridge: BridgeOptions, job: AppliedJob, chosen: number): Promise<string> {
  try {
    if (job.candidates.length < 2) return 'Choice not kept: with one candidate there was no choice.';
    if (job.where === 'bridge') {
      const reply = await recordOnBridge(bridge, job.id, [chosen], 'figma');
      return reply.recorded > 0 ? `Choice kept in ${reply.file ?? 'the bridge’s folder'} (on this computer).` : `Choice not kept: ${reply.reason ?? 'nothing to record'}.`;
    }
    const pictures = jobPictures(job.image, job.summary, job.candidates);
    const [example] = choiceExamples(pictures, [chosen], job.summary.ranking, { host: 'figma', mode: job.mode, prompt: job.prompt, pack: { name: job.summary.pack.name, version: job.summary.pack.version } });
    if (!example) return 'Choice not kept: every candidate was applied.';
    const reply = await uploadPreference(bridge, example);
    return `Choice kept in ${reply.file ?? 'the bridge’s folder'} (on this computer).`;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'preferences_off') return 'Choice not kept: the bridge does not record choices. Restart it with `npx byteedit serve --record-preferences FOLDER`, or untick “Keep my choices”.';
    if (code === 'network_unavailable') return 'Choice not kept: no bridge is running (the plug-in cannot write files itself). Start it with `npx byteedit serve --record-preferences FOLDER`.';
    return `Choice not kept: ${err instanceof Error ? err.message : String(err)}`;
  }
}
