/** The queueing client on its own, against a scripted worker (message order is the point here). */
import { WorkerEngineClient, type WorkerHandle } from '../src/worker/client';
import { runEdit } from '../src/engine/run';
import type { EditRequest, JobEvent, JobListener } from '../src/engine/types';
import { boxMask, gradientImage } from './helpers';

const request = (): EditRequest => ({ image: gradientImage(8, 8), mask: boxMask(8, 8, 1, 1, 3, 3), mode: 'edit', prompt: 'x' });

/** A worker whose events for a job arrive before the answer to enqueue, as separate ports allow. */
function scriptedWorker(script: (jobId: string) => JobEvent[]): () => WorkerHandle {
  return () => {
    let listener: JobListener | null = null;
    let n = 0;
    const api = {
      subscribe: async (l: JobListener) => {
        listener = l;
      },
      enqueue: async () => {
        const id = `w${++n}`;
        for (const e of script(id)) listener!(e);
        await new Promise((r) => setTimeout(r, 10));
        return id;
      },
      cancel: async () => true,
      capabilities: async () => {
        throw new Error('unused');
      },
      dispose: async () => undefined,
    };
    return { api: api as unknown as WorkerHandle['api'], onExit: () => undefined, terminate: async () => undefined };
  };
}

describe('worker client', () => {
  it('keeps events that arrive before the enqueue answer and delivers them under its own id', async () => {
    const client = new WorkerEngineClient(scriptedWorker((id) => [{ type: 'error', jobId: id, error: { code: 'mask_empty', message: 'empty' } }]));
    await expect(runEdit(client, request())).rejects.toMatchObject({ code: 'mask_empty' });
    // and the queue goes on
    await expect(runEdit(client, request())).rejects.toMatchObject({ code: 'mask_empty' });
    await client.dispose();
  });

  it('ignores early events of other worker jobs', async () => {
    const client = new WorkerEngineClient(
      scriptedWorker((id) => [
        { type: 'error', jobId: 'someone-else', error: { code: 'internal', message: 'not ours' } },
        { type: 'cancelled', jobId: id },
      ]),
    );
    await expect(runEdit(client, request())).rejects.toMatchObject({ code: 'cancelled' });
    await client.dispose();
  });
});
