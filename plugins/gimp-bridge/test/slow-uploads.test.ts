/**
 * Slow uploads (issue 17, item 3): a job takes a queue slot only once its body is complete and
 * valid; bodies have a deadline and a cap on how many are received at once. Slow senders are
 * bounded (a few connections, a few bytes), loopback only, and destroyed at the end.
 */
import { request, type ClientRequest } from 'node:http';
import { parseServeArgs } from '../src/cli';
import { fakeImpl, type BridgeHandle } from './engines';
import { http, pngOf, rectMaskPng, sleep, testImage } from './helpers';

const BODY = JSON.stringify({ image: pngOf(testImage(64, 48)).toString('base64'), mask: rectMaskPng(64, 48, { x: 8, y: 8, width: 16, height: 16 }).toString('base64'), mode: 'edit', steps: 1 });

interface SlowSender {
  req: ClientRequest;
  /** The server's answer (status and error code), or null when none came before the sender stopped. */
  answer: Promise<{ status: number; code: string; message: string; afterMs: number } | null>;
  stop(): void;
}

/** Declares a full-size JSON body and sends it one byte every `everyMs`. */
function slowSender(s: BridgeHandle, everyMs: number): SlowSender {
  const started = Date.now();
  const req = request({ host: '127.0.0.1', port: s.port, path: '/v1/jobs', method: 'POST', headers: { Host: `127.0.0.1:${s.port}`, Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(BODY) } });
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < BODY.length && !req.destroyed) req.write(BODY[sent++]!);
  }, everyMs);
  const answer = new Promise<{ status: number; code: string; message: string; afterMs: number } | null>((resolve) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const error = (JSON.parse(Buffer.concat(chunks).toString()) as { error: { code: string; message: string } }).error;
        resolve({ status: res.statusCode ?? 0, code: error.code, message: error.message, afterMs: Date.now() - started });
      });
    });
    req.on('error', () => resolve(null));
    req.on('close', () => resolve(null));
  });
  req.flushHeaders();
  return {
    req,
    answer,
    stop: () => {
      clearInterval(timer);
      req.destroy();
    },
  };
}

async function submitNormally(s: BridgeHandle): Promise<{ status: number; code?: string }> {
  const r = await http(s.port, '/v1/jobs', { method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' }, body: BODY });
  return { status: r.status, code: r.status === 202 ? undefined : r.json<{ error: { code: string } }>().error.code };
}

describe('slow uploads', () => {
  const servers: BridgeHandle[] = [];
  const senders: SlowSender[] = [];
  afterEach(async () => {
    for (const sender of senders.splice(0)) sender.stop();
    for (const s of servers.splice(0)) await s.close();
  });

  it('with --max-jobs 3, three connections trickling bodies do not make normal submissions 429', async () => {
    const s = await fakeImpl.start({ maxActiveJobs: 3, bodyTimeoutMs: 20_000 });
    servers.push(s);
    senders.push(slowSender(s, 200), slowSender(s, 200), slowSender(s, 200));
    await sleep(300);
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await submitNormally(s));
    expect(replies).toEqual([{ status: 202 }, { status: 202 }, { status: 202 }]);
  });

  it('answers a body that does not arrive within the deadline with 408 body_timeout, which says what to do', async () => {
    const s = await fakeImpl.start({ bodyTimeoutMs: 600 });
    servers.push(s);
    const sender = slowSender(s, 200);
    senders.push(sender);
    const answer = await Promise.race([sender.answer, sleep(5_000).then(() => 'no answer within 5 s' as const)]);
    expect(answer).toMatchObject({ status: 408, code: 'body_timeout' });
    if (answer && typeof answer === 'object') {
      expect(answer.message).toContain('--body-timeout');
      expect(answer.afterMs).toBeGreaterThanOrEqual(550);
      expect(answer.afterMs).toBeLessThan(3_000);
    }
    // The bridge is free again: a normal job goes through.
    expect(await submitNormally(s)).toEqual({ status: 202 });
  });

  it('caps the bodies received at once: one more gets 503 too_many_uploads, and a place frees when one ends', async () => {
    const s = await fakeImpl.start({ maxActiveJobs: 10, maxUploads: 2, bodyTimeoutMs: 20_000 });
    servers.push(s);
    const a = slowSender(s, 200);
    const b = slowSender(s, 200);
    senders.push(a, b);
    await sleep(300);
    const r = await http(s.port, '/v1/jobs', { method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' }, body: BODY });
    expect([r.status, r.json<{ error: { code: string } }>().error.code]).toEqual([503, 'too_many_uploads']);
    expect(r.headers['retry-after']).toBeDefined();
    expect(r.json<{ error: { message: string } }>().error.message).toContain('--max-uploads');
    a.stop();
    await sleep(100);
    expect(await submitNormally(s)).toEqual({ status: 202 });
  });

  it('takes the deadline and the cap from `serve --body-timeout SECS --max-uploads N`', () => {
    expect(parseServeArgs(['serve', '--body-timeout', '2.5', '--max-uploads', '3'])).toMatchObject({ bodyTimeoutMs: 2500, maxUploads: 3 });
    expect(() => parseServeArgs(['--body-timeout', '0'])).toThrow('--body-timeout needs a positive number of seconds');
    expect(() => parseServeArgs(['--max-uploads', '0'])).toThrow('--max-uploads needs an integer >= 1');
  });
});
