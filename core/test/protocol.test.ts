/** The protocol layer: the one request parser, and jobs as handles on the one queue. */
import { FIELD_NAMES, LIMITS, REQUEST_FIELDS } from '../src/protocol/fields';
import { parseField, parseRequestParams, validateRequest } from '../src/protocol/request';
import { requestSchemaProperties } from '../src/protocol/openapi';
import { SdkError } from '../src/protocol/errors';
import { JobQueue } from '../src/engine/queue';
import type { EditRequest, JobEvent } from '../src/protocol/events';
import { boxMask, drain, gradientImage } from './helpers';

const refuses = (fn: () => unknown, code = 'invalid_argument'): void => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SdkError);
  expect((err as SdkError).code).toBe(code);
};

describe('the request parser', () => {
  it('reads every numeric field the same from text and from JSON, at and beyond both limits', () => {
    for (const f of FIELD_NAMES) {
      const spec = REQUEST_FIELDS[f];
      if (spec.kind !== 'int' && spec.kind !== 'number') continue;
      const step = spec.kind === 'int' ? 1 : 1e-6;
      expect(parseField(f, spec.max!, { form: 'typed' })).toBe(spec.max);
      expect(parseField(f, String(spec.max), { form: 'text' })).toBe(spec.max);
      refuses(() => parseField(f, spec.max! + step, { form: 'typed' }));
      refuses(() => parseField(f, String(spec.max! + step), { form: 'text' }));
      if (spec.exclusiveMin) refuses(() => parseField(f, spec.min!, { form: 'typed' }));
      else expect(parseField(f, spec.min!, { form: 'typed' })).toBe(spec.min);
      refuses(() => parseField(f, spec.min! - step, { form: 'typed' }));
      // JSON numbers must be numbers; only text is converted.
      refuses(() => parseField(f, String(spec.max), { form: 'typed' }));
      refuses(() => parseField(f, '', { form: 'text' }));
    }
  });

  it('names the field the way its caller spells it', () => {
    expect(() => parseRequestParams({ guidance: '40' }, { form: 'text', spell: (f) => `--${REQUEST_FIELDS[f].cli}` })).toThrow('--guidance must be a number from 0 up to 30, got 40');
    expect(() => parseRequestParams({ guidance: 40 }, { form: 'typed' })).toThrow('guidance must be a number from 0 up to 30, got 40');
    expect(() => parseRequestParams({ colour: 1 }, { form: 'typed' })).toThrow(/unknown field "colour"; the request fields are mode, prompt/);
    // Names of Object.prototype are not fields (the bridge's fuzzer once got a 500 from "constructor").
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) refuses(() => parseRequestParams(JSON.parse(`{"${key}": 1}`) as Record<string, unknown>, { form: 'typed' }));
  });

  it('reads margins and weights in every spelling, and the old rankWeights name', () => {
    const want = { left: 1, top: 2, right: 3, bottom: 4 };
    expect(parseRequestParams({ mode: 'outpaint', expand: '1,2,3,4' }, { form: 'text' }).expand).toEqual(want);
    expect(parseRequestParams({ mode: 'outpaint', expand: [1, 2, 3, 4] }, { form: 'typed' }).expand).toEqual(want);
    expect(parseRequestParams({ mode: 'outpaint', expand: '{"left":1,"top":2,"right":3,"bottom":4}' }, { form: 'text' }).expand).toEqual(want);
    refuses(() => parseRequestParams({ mode: 'outpaint', expand: [1, 2, 3, LIMITS.expand[1] + 1] }, { form: 'typed' }));
    refuses(() => parseRequestParams({ mode: 'outpaint', expand: { left: 1, middle: 2 } }, { form: 'typed' }));
    expect(parseRequestParams({ rank: 'alignment=1,coherence=0.5' }, { form: 'text' }).rank).toEqual({ alignment: 1, coherence: 0.5 });
    expect(parseRequestParams({ rankWeights: { aesthetic: 2 } }, { form: 'typed' }).rank).toEqual({ aesthetic: 2 });
    refuses(() => parseRequestParams({ rank: { beauty: 1 } }, { form: 'typed' }));
    refuses(() => parseRequestParams({ rank: 'alignment=-1' }, { form: 'text' }));
  });

  it('applies the rules between fields', () => {
    refuses(() => parseRequestParams({ mode: 'outpaint' }, { form: 'typed' }));
    refuses(() => parseRequestParams({ mode: 'erase', expand: [0, 0, 8, 0] }, { form: 'typed' }));
    refuses(() => parseRequestParams({ mode: 'edit', engine: 'fill' }, { form: 'typed' }), 'mode_unsupported');
    expect(parseRequestParams({}, { form: 'typed' })).toEqual({ mode: 'edit' });
  });

  it('checks a whole EditRequest: pixels, fields and mask', () => {
    const ok: EditRequest = { image: gradientImage(8, 8), mask: boxMask(8, 8, 1, 1, 2, 2), mode: 'edit', steps: 4 };
    expect(() => validateRequest(ok)).not.toThrow();
    refuses(() => validateRequest({ ...ok, steps: 151 }));
    refuses(() => validateRequest({ ...ok, mask: undefined }));
    refuses(() => validateRequest({ ...ok, image: { width: 8, height: 8, data: new Uint8ClampedArray(3) } }));
  });

  it('describes each field in the JSON Schema with the same limits', () => {
    const schema = requestSchemaProperties();
    expect(Object.keys(schema)).toEqual(FIELD_NAMES);
    expect(schema.guidance).toMatchObject({ type: 'number', minimum: 0, maximum: LIMITS.guidance[1] });
    expect(schema.strength).toMatchObject({ exclusiveMinimum: 0, maximum: 1 });
    expect(schema.scheduler).toMatchObject({ enum: REQUEST_FIELDS.scheduler.values });
  });
});

describe('jobs as handles on the one queue', () => {
  const req = (prompt = 'x'): EditRequest => ({ image: gradientImage(4, 4), mask: boxMask(4, 4, 0, 0, 2, 2), mode: 'edit', prompt });

  it('replays every event to a late iteration, and keeps only the latest preview of a candidate', async () => {
    const img = gradientImage(2, 2);
    const q = new JobQueue(async (job) => {
      job.emit({ type: 'started', device: 'cpu', candidates: 1, steps: 3 });
      for (let step = 1; step <= 3; step++) job.emit({ type: 'preview', candidate: 0, step, image: img });
      job.emit({ type: 'progress', candidate: 0, step: 3, total: 3, done: 3, of: 3 });
      job.emit({ type: 'error', error: { code: 'mask_empty', message: 'm' } });
    });
    const job = q.submit(req());
    await expect(job.done).rejects.toMatchObject({ code: 'mask_empty' });
    const types = (await drain(job)).map((e) => e.type);
    // previews of a finished job are dropped; every other event is there, in order
    expect(types).toEqual(['queued', 'started', 'progress', 'error']);
    expect((await drain(job)).map((e) => e.type)).toEqual(types);
  });

  it('shows a live iteration every preview, and a lagging one the latest', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const img = gradientImage(2, 2);
    const q = new JobQueue(async (job) => {
      for (let step = 1; step <= 3; step++) job.emit({ type: 'preview', candidate: 0, step, image: img });
      await gate;
      job.emit({ type: 'cancelled' });
    });
    const job = q.submit(req());
    await new Promise((r) => setTimeout(r, 10));
    const seen: JobEvent[] = [];
    const it = (async () => {
      for await (const e of job.events) seen.push(e);
    })();
    await new Promise((r) => setTimeout(r, 10));
    expect(seen.map((e) => (e.type === 'preview' ? e.step : e.type))).toEqual(['queued', 3]);
    release();
    await it;
  });

  it('runs jobs one at a time in order; a runner that throws or ends silently fails only its job', async () => {
    const order: string[] = [];
    const q = new JobQueue(async (job) => {
      order.push(`start ${job.request.prompt}`);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`end ${job.request.prompt}`);
      if (job.request.prompt === 'throw') throw new Error('boom');
      if (job.request.prompt === 'silent') return;
      job.emit({ type: 'cancelled' });
    });
    const a = q.submit(req('throw'));
    const b = q.submit(req('silent'));
    const c = q.submit(req('ok'));
    await expect(a.done).rejects.toMatchObject({ code: 'internal', message: 'boom' });
    await expect(b.done).rejects.toMatchObject({ code: 'internal', message: 'the job ended without a result' });
    await expect(c.done).rejects.toMatchObject({ code: 'cancelled' });
    expect(order).toEqual(['start throw', 'end throw', 'start silent', 'end silent', 'start ok', 'end ok']);
    expect((await drain(b))[0]).toMatchObject({ type: 'queued', position: 1 });
  });

  it('cancels a queued job without running it, a running one through its runner, and nothing after the end', async () => {
    const ran: string[] = [];
    const q = new JobQueue(async (job) => {
      ran.push(job.request.prompt!);
      await new Promise<void>((resolve) => job.onCancel(resolve));
      throw new SdkError('cancelled', 'stopped');
    });
    const running = q.submit(req('running'));
    const queued = q.submit(req('queued'));
    expect(await queued.cancel()).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(await running.cancel()).toBe(true);
    await expect(running.done).rejects.toMatchObject({ code: 'cancelled' });
    await expect(queued.done).rejects.toMatchObject({ code: 'cancelled' });
    expect(ran).toEqual(['running']);
    expect(await running.cancel()).toBe(false);
    await q.dispose();
    expect(() => q.submit(req())).toThrow('disposed');
  });
});

describe('SdkError across bundles', () => {
  it('is recognised by instanceof whichever copy of core made it, and subclasses keep their own check', () => {
    // A second copy of the class, as a host mixing @byteedit/core and @byteedit/core/http gets.
    let copy!: typeof import('../src/protocol/errors');
    jest.isolateModules(() => {
      copy = jest.requireActual<typeof import('../src/protocol/errors')>('../src/protocol/errors');
    });
    expect(copy.SdkError).not.toBe(SdkError);
    const foreign = new copy.SdkError('cancelled', 'x');
    expect(foreign instanceof SdkError).toBe(true);
    expect(new SdkError('internal', 'y') instanceof copy.SdkError).toBe(true);
    expect(new Error('z') instanceof SdkError).toBe(false);
    expect({ code: 'internal', message: 'forged' } instanceof SdkError).toBe(false);
    class Narrow extends SdkError {}
    expect(new Narrow('internal', 'n') instanceof Narrow).toBe(true);
    expect(foreign instanceof Narrow).toBe(false);
  });
});
