/**
 * The bridge implementations the contract suite runs against:
 * - the FAKE engine behind an in-process server (fast, controllable timing);
 * - the real thing: `byteedit serve` (dist/cli.js) in a child process with the core's worker
 *   engine on the fixture pack (random weights, small and quick). A child process because the
 *   core's crash hook (BYTEEDIT_TEST_HOOKS=1) must be in the environment the worker thread sees,
 *   and because SIGTERM and restarts are only real in a process of its own.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer, type ServerOptions } from '../src/server';
import { FakeEngine } from './fake-engine';
import { http, sleep } from './helpers';

export const FIXTURE_PACK = resolve(__dirname, '../../../models/fixtures/tiny-sd-diffusers');
export const PACKAGE_DIR = resolve(__dirname, '..');
export const CLI = join(PACKAGE_DIR, 'dist', 'cli.js');

export interface BridgeHandle {
  port: number;
  token: string;
  url: string;
  bridgeFile: string;
  pid: number;
  /** Finished + active jobs the server holds (from GET /v1/jobs). */
  stats(): Promise<{ jobs: number; active: number; bytes: number }>;
  /** Graceful stop (close() in-process, SIGTERM for a child); resolves the exit code (0 in-process). */
  close(): Promise<number>;
}

export type BridgeOptions = Pick<ServerOptions, 'maxBodyBytes' | 'maxPixels' | 'maxActiveJobs' | 'allowOrigins' | 'resultTtlMs' | 'recordPreferences' | 'bodyTimeoutMs' | 'maxUploads'>;

export interface BridgeImpl {
  name: string;
  start(options?: BridgeOptions): Promise<BridgeHandle>;
  /** Parameters that make a job last long enough (about a second or more) to be cancelled while running. */
  longJob: { steps: number; candidates: number };
}

async function statsOf(port: number, token: string): Promise<{ jobs: number; active: number; bytes: number }> {
  return (await http(port, '/v1/jobs', { headers: { Authorization: `Bearer ${token}` } })).json<{ stats: { jobs: number; active: number; bytes: number } }>().stats;
}

export const fakeImpl: BridgeImpl = {
  name: 'fake engine, in-process server',
  longJob: { steps: 100, candidates: 1 },
  async start(options = {}) {
    const engine = new FakeEngine({ stepMs: 15 });
    const s = await startServer({ engine, port: 0, packs: [FIXTURE_PACK], configDir: mkdtempSync(join(tmpdir(), 'byteedit-bridge-')), ...options });
    return {
      port: s.port,
      token: s.token,
      url: s.url,
      bridgeFile: s.bridgeFile!,
      pid: process.pid,
      stats: async () => s.stats(),
      close: async () => {
        await s.close();
        await engine.dispose();
        return 0;
      },
    };
  },
};

export function buildCli(): void {
  execFileSync(process.execPath, [join(PACKAGE_DIR, 'build.mjs')], { stdio: 'inherit' });
}

export interface ChildBridge extends BridgeHandle {
  child: ChildProcess;
  output(): string;
  configDir: string;
}

/** Starts `byteedit serve` (dist/cli.js) as a child process and waits for its bridge file. */
export async function startChildBridge(args: string[] = [], configDir = mkdtempSync(join(tmpdir(), 'byteedit-bridge-'))): Promise<ChildBridge> {
  if (!existsSync(CLI)) buildCli();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--pack', FIXTURE_PACK, '--device', 'cpu', ...args], {
    env: { ...process.env, BYTEEDIT_CONFIG_DIR: configDir, BYTEEDIT_TEST_HOOKS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  const file = join(configDir, 'bridge.json');
  const deadline = Date.now() + 90_000;
  while (!out.includes('listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`bridge did not start:\n${out}`);
    await sleep(25);
  }
  const info = JSON.parse(readFileSync(file, 'utf8')) as { port: number; token: string; url: string; pid: number };
  return {
    ...info,
    bridgeFile: file,
    configDir,
    child,
    output: () => out,
    stats: () => statsOf(info.port, info.token),
    close: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export const childImpl: BridgeImpl = {
  name: 'core worker engine, `byteedit serve` child process',
  longJob: { steps: 150, candidates: 3 },
  async start(options = {}) {
    const args: string[] = [];
    if (options.maxBodyBytes !== undefined) args.push('--max-body', String(options.maxBodyBytes));
    if (options.maxPixels !== undefined) args.push('--max-pixels', String(options.maxPixels));
    if (options.maxActiveJobs !== undefined) args.push('--max-jobs', String(options.maxActiveJobs));
    if (options.resultTtlMs !== undefined) args.push('--result-ttl', String(options.resultTtlMs / 1000));
    for (const o of options.allowOrigins ?? []) args.push('--allow-origin', o);
    if (options.recordPreferences !== undefined) args.push('--record-preferences', options.recordPreferences);
    if (options.bodyTimeoutMs !== undefined) args.push('--body-timeout', String(options.bodyTimeoutMs / 1000));
    if (options.maxUploads !== undefined) args.push('--max-uploads', String(options.maxUploads));
    return startChildBridge(args);
  },
};

export const IMPLS: BridgeImpl[] = process.env.BYTEEDIT_BRIDGE_FAKE_ONLY === '1' ? [fakeImpl] : [fakeImpl, childImpl];
