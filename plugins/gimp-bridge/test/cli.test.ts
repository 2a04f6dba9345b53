/**
 * `byteedit serve` as a process: argument errors, port conflicts, SIGTERM, and serving again after
 * the process was killed outright (stale bridge file left behind).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildCli, CLI, startChildBridge } from './engines';
import { http } from './helpers';
import { parseServeArgs } from '../src/cli';

jest.setTimeout(120_000);

beforeAll(() => buildCli());

function serve(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('byteedit serve', () => {
  it('parses its flags, with the first --pack as default and repeatable origins', () => {
    expect(parseServeArgs(['serve', '--port', '0', '--pack', 'a', '--pack=b', '--allow-origin', 'https://x', '--allow-host', 'box.lan', '--max-jobs', '3', '--result-ttl', '0.5'])).toEqual({
      allowHosts: ['box.lan'],
      port: 0,
      packs: ['a', 'b'],
      allowOrigins: ['https://x'],
      maxActiveJobs: 3,
      resultTtlMs: 500,
    });
  });

  it('explains bad arguments with exit 2 and prints help with exit 0', () => {
    expect(serve(['--port', 'abc'])).toMatchObject({ status: 2, out: expect.stringContaining('--port needs an integer') });
    expect(serve(['--device', 'tpu'])).toMatchObject({ status: 2, out: expect.stringContaining('auto, cpu, webgpu, cuda') });
    expect(serve(['--frobnicate'])).toMatchObject({ status: 2, out: expect.stringContaining('unknown option --frobnicate') });
    expect(serve(['--help'])).toMatchObject({ status: 0, out: expect.stringContaining('usage: byteedit serve') });
    expect(serve(['--pack', '/nonexistent/pack'])).toMatchObject({ status: 1, out: expect.stringContaining('pack folder /nonexistent/pack does not exist') });
  });

  it('refuses a port that is taken with a message, and warns before binding a non-loopback address', async () => {
    const a = await startChildBridge();
    try {
      const r = serve(['--port', String(a.port)]);
      expect(r.status).toBe(1);
      expect(r.out).toContain('already in use');
      expect(r.out).toContain('--port');
      const b = await startChildBridge(['--host', '0.0.0.0']);
      expect(b.output()).toContain('WARNING: binding 0.0.0.0');
      expect(await b.close()).toBe(0);
    } finally {
      expect(await a.close()).toBe(0);
    }
  });

  it('serves again after being killed outright, replacing the stale bridge file', async () => {
    const first = await startChildBridge();
    const file = first.bridgeFile;
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    // The stale file still names the dead process.
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(first.pid);
    const second = await startChildBridge([], first.configDir);
    try {
      const info = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; token: string };
      expect(info.pid).toBe(second.child.pid);
      expect(info.token).not.toBe(first.token);
      expect((await http(second.port, '/v1/health')).json()).toMatchObject({ status: 'ok' });
      expect((await http(second.port, '/v1/packs', { headers: { Authorization: `Bearer ${first.token}` } })).status).toBe(401);
    } finally {
      expect(await second.close()).toBe(0);
    }
  });
});
