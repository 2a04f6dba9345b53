/** The queueing client on its own, against a scripted worker (message order is the point here). */
import { WorkerEngineClient, type WorkerHandle } from '../src/worker/client';
import { runEdit } from '../src/engine/run';
import type { EditRequest, JobEvent } from '../src/protocol/events';
import { boxMask, drain, gradientImage } from './helpers';

const request = (): EditRequest => ({ image: gradientImage(8, 8), mask: boxMask(8, 8, 1, 1, 3, 3), mode: 'edit', prompt: 'x' });

/**
 * A worker that answers `run` first and sends the job's events afterwards (the listener travels on
 * its own port, so the two are not ordered), then keeps talking after the terminal event.
 */
function scriptedWorker(script: (workerJob: string) => JobEvent[], runs: string[] = []): () => WorkerHandle {
  return () => {
    const api = {
      run: async (id: string, _request: EditRequest, listener: (e: JobEvent) => void) => {
        runs.push(id);
        setTimeout(() => {
          for (const e of script(`w-${id}`)) listener(e);
        }, 10);
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
  it('delivers events that arrive after the run answer under its own id, and the queue goes on', async () => {
    const client = new WorkerEngineClient(scriptedWorker((id) => [{ type: 'error', jobId: id, error: { code: 'mask_empty', message: 'empty' } }]));
    const job = await client.submit(request());
    await expect(job.done).rejects.toMatchObject({ code: 'mask_empty' });
    expect((await drain(job)).map((e) => [e.type, e.jobId])).toEqual([
      ['queued', job.id],
      ['error', job.id],
    ]);
    await expect(runEdit(client, request())).rejects.toMatchObject({ code: 'mask_empty' });
    await client.dispose();
  });

  it('ends a job at its first terminal event and ignores what the worker sends after it', async () => {
    const client = new WorkerEngineClient(
      scriptedWorker((id) => [
        { type: 'cancelled', jobId: id },
        { type: 'error', jobId: id, error: { code: 'internal', message: 'late' } },
      ]),
    );
    const job = await client.submit(request());
    await expect(job.done).rejects.toMatchObject({ code: 'cancelled' });
    const replay: string[] = [];
    for await (const e of job.events) replay.push(e.type);
    expect(replay).toEqual(['queued', 'cancelled']);
    await client.dispose();
  });

  it('refuses a bad request before it reaches the worker', async () => {
    const runs: string[] = [];
    const client = new WorkerEngineClient(scriptedWorker(() => [], runs));
    await expect(client.submit({ ...request(), steps: 0 })).rejects.toMatchObject({ code: 'invalid_argument', message: 'steps must be a whole number from 1 to 150, got 0' });
    expect(runs).toEqual([]);
    await client.dispose();
  });
});
