/**
 * The packages as a third party gets them (#18 item 6): every public workspace package is packed
 * with `npm pack` after the build (.d.ts included) and the tarballs are installed, with no
 * network, into an empty folder outside the repository (offline-install.ts), next to
 * onnxruntime-node (an optional peer of @byteedit/core: a user installs it to run the engine in
 * Node) and @types/node. There, nothing of the repository is reachable, and:
 *   (a) `npx byteedit edit` without --pack edits docs/examples/before.png on the default pack
 *       from its package (byteedit-small, not the fixture), and says what to install when
 *       onnxruntime-node or the bridge is missing;
 *   (b) `npx byteedit serve` (the bridge package, found by core) completes one job over HTTP;
 *   (c) a small TypeScript program type-checks against the installed, emitted types of
 *       @byteedit/core, /node, /browser (without Node's types) and /http.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { offlineProject, publicWorkspaces, type Tarball } from './offline-install';

jest.setTimeout(300_000);

const REPO = resolve(__dirname, '..', '..');
const EXAMPLES = join(REPO, 'docs', 'examples');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

let dir: string;
const timings: Record<string, number> = {};

/** The environment of a user's shell: nothing that points back at the repository or a pack. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|NODE_PATH$|NODE_OPTIONS$|BYTEEDIT_|INIT_CWD$|JEST_)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extra };
}

function sh(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? userEnv(), encoding: 'utf8', timeout: opts.timeout ?? 240_000, maxBuffer: 64 * 1024 * 1024 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const timed = <T>(name: string, f: () => T): T => {
  const t0 = Date.now();
  try {
    return f();
  } finally {
    timings[name] = Date.now() - t0;
  }
};

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'byteedit-install-')));
  expect(relative(REPO, dir).startsWith('..')).toBe(true);
  const tarDir = join(dir, 'tarballs');
  mkdirSync(tarDir);

  // Pack what npm would publish, after the build. Not through the packages' prepack (a full
  // rebuild): other test files run core's built JS meanwhile, which jest's global setup has just
  // built; only the declarations are added, swapped in whole. The bridge is built the way its own
  // tests build it.
  const workspaces = publicWorkspaces(REPO);
  expect(workspaces.map((w) => w.manifest.name).sort()).toEqual(expect.arrayContaining(['@byteedit/core', '@byteedit/gimp-bridge', '@byteedit/pack-byteedit-small']));
  timed('build', () => {
    ok(sh(process.execPath, [join(REPO, 'core', 'build.mjs'), '--types-only'], { cwd: REPO, env: process.env }), 'core build --types-only');
    ok(sh(process.execPath, [join(REPO, 'plugins', 'gimp-bridge', 'build.mjs')], { cwd: REPO, env: process.env }), 'bridge build');
  });
  timed('npm pack', () => ok(sh('npm', ['pack', '--ignore-scripts', '--pack-destination', tarDir, ...workspaces.flatMap((w) => ['-w', w.workspace])], { cwd: REPO, env: { ...process.env, npm_config_offline: 'true' } }), 'npm pack'));
  const files = readdirSync(tarDir);
  const tarballs: Tarball[] = workspaces.map((w) => {
    const name = `${w.manifest.name.replace(/^@/, '').replace('/', '-')}-${w.manifest.version}.tgz`;
    if (!files.includes(name)) throw new Error(`npm pack wrote no ${name} (it wrote ${files.join(', ')})`);
    return { ...w, file: join(tarDir, name) };
  });

  // The root .npmrc's setting (CUDA libraries come from NuGet, which CI cannot reach), nothing else.
  expect(readFileSync(join(REPO, '.npmrc'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'))).toEqual(['onnxruntime-node-install=skip']);
  writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\n');
  const { pkg, lock } = offlineProject(REPO, tarballs, tarDir, ['onnxruntime-node', '@types/node']);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  timed('npm ci --offline', () => ok(sh('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: dir }), 'npm ci --offline'));
});

afterAll(() => {
  process.stdout.write(`install test timings (ms): ${JSON.stringify(timings)}\n`);
  if (dir && !process.env.BYTEEDIT_KEEP_INSTALL) rmSync(dir, { recursive: true, force: true });
});

describe('the installed packages', () => {
  it('are copies inside the folder, with every file their exports name', () => {
    for (const name of ['@byteedit/core', '@byteedit/gimp-bridge', '@byteedit/pack-byteedit-small']) {
      const at = join(dir, 'node_modules', name);
      expect(realpathSync(at).startsWith(dir)).toBe(true);
      const m = JSON.parse(readFileSync(join(at, 'package.json'), 'utf8')) as { version: string; exports?: Record<string, string | Record<string, string>>; bin?: Record<string, string> };
      expect(m.version).toBe('0.1.0');
      const targets = Object.values(m.exports ?? {}).flatMap((v) => (typeof v === 'string' ? [v] : Object.entries(v).filter(([cond]) => !cond.startsWith('@byteedit/')).map(([, t]) => t)));
      for (const t of [...targets, ...Object.values(m.bin ?? {})]) expect(`${name}: ${existsSync(join(at, t)) ? 'has' : 'lacks'} ${t}`).toBe(`${name}: has ${t}`);
    }
    const core = JSON.parse(readFileSync(join(dir, 'node_modules', '@byteedit', 'core', 'package.json'), 'utf8')) as { dependencies: Record<string, string>; peerDependenciesMeta: Record<string, { optional: boolean }> };
    // A registry install brings the pack with core; the runtimes and the bridge are the user's choice.
    expect(core.dependencies['@byteedit/pack-byteedit-small']).toBe('0.1.0');
    expect(Object.keys(core.peerDependenciesMeta).sort()).toEqual(['@byteedit/gimp-bridge', 'onnxruntime-node', 'onnxruntime-web']);
    expect(existsSync(join(dir, 'node_modules', 'onnxruntime-web'))).toBe(false);
    // Node finds the default pack in the folder, not in the repository.
    const found = ok(sh(process.execPath, ['-p', "require.resolve('@byteedit/pack-byteedit-small/pack.json')"], { cwd: dir }), 'require.resolve').trim();
    expect(found).toBe(join(dir, 'node_modules', '@byteedit', 'pack-byteedit-small', 'pack.json'));
  });
});

describe('(a) npx byteedit edit', () => {
  const edit = (out: string, extraNode: string[] = [], env: Record<string, string> = {}): SpawnSyncReturns<string> =>
    extraNode.length
      ? sh(process.execPath, [...extraNode, join(dir, 'node_modules', '.bin', 'byteedit'), 'edit', '--image', join(EXAMPLES, 'before.png'), '--mask', join(EXAMPLES, 'mask.png'), '--prompt', 'a red heart', '--out', out, '--json'], { cwd: dir, env: userEnv(env) })
      : sh('npx', ['--no', '--', 'byteedit', 'edit', '--image', join(EXAMPLES, 'before.png'), '--mask', join(EXAMPLES, 'mask.png'), '--prompt', 'a red heart', '--out', out, '--json'], { cwd: dir, env: userEnv(env) });

  it('edits on the default pack from its package, without --pack', () => {
    const out = join(dir, 'after.png');
    const r = timed('edit', () => edit(out));
    ok(r, 'npx byteedit edit');
    const json = JSON.parse(r.stdout) as { files: string[]; pack: { name: string; kind: string } };
    expect(json.files).toEqual([out]);
    expect(json.pack.name).toBe('byteedit-small');
    expect(json.pack.kind).not.toBe('fixture');
    expect(r.stderr).not.toMatch(/fixture/i);
    expect(readFileSync(out).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  // Node's own "Cannot find module" for a package that is not there, without uninstalling it.
  const hide = (): string => {
    const file = join(dir, 'hide-modules.cjs');
    writeFileSync(
      file,
      `const Module = require('node:module');
const hidden = (process.env.HIDE_MODULES || '').split(',').filter(Boolean);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (hidden.some((h) => request === h || request.startsWith(h + '/'))) {
    const e = new Error("Cannot find module '" + request + "'");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  return resolveFilename.call(this, request, ...rest);
};
`,
    );
    return file;
  };

  it('names the package to install when onnxruntime-node is missing, and writes nothing', () => {
    const out = join(dir, 'no-ort.png');
    const r = edit(out, ['-r', hide()], { HIDE_MODULES: 'onnxruntime-node' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('byteedit: error [device_unavailable]: onnxruntime-node is not installed: npm install onnxruntime-node');
    expect(existsSync(out)).toBe(false);
  });

  it('names the bridge package when `serve` cannot find it', () => {
    const r = sh(process.execPath, ['-r', hide(), join(dir, 'node_modules', '.bin', 'byteedit'), 'serve', '--port', '0'], { cwd: dir, env: userEnv({ HIDE_MODULES: '@byteedit/gimp-bridge' }) });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('npm install @byteedit/gimp-bridge');
  });
});

function http(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: Buffer; json<T>(): T }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolvePromise({ status: res.statusCode ?? 0, body, json: <T>() => JSON.parse(body.toString('utf8')) as T });
      });
    });
    req.on('error', reject);
    if (init.body) req.write(init.body);
    req.end();
  });
}

describe('(b) npx byteedit serve', () => {
  it('starts the installed bridge, which completes one job over HTTP', async () => {
    const t0 = Date.now();
    const configDir = join(dir, 'config');
    const child = spawn('npx', ['--no', '--', 'byteedit', 'serve', '--port', '0', '--device', 'cpu'], { cwd: dir, env: userEnv({ BYTEEDIT_CONFIG_DIR: configDir }), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!out.includes('listening on')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the bridge did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const { port, token } = JSON.parse(readFileSync(join(configDir, 'bridge.json'), 'utf8')) as { port: number; token: string };
      const auth = { Authorization: `Bearer ${token}` };
      const body = JSON.stringify({
        image: readFileSync(join(EXAMPLES, 'before.png')).toString('base64'),
        mask: readFileSync(join(EXAMPLES, 'mask.png')).toString('base64'),
        mode: 'edit',
        prompt: 'a red heart',
        steps: 4,
        candidates: 1,
        seed: 1,
      });
      const posted = await http(port, '/v1/jobs', { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body });
      expect([200, 201, 202]).toContain(posted.status);
      const { id } = posted.json<{ id: string }>();
      let job: { state: string; ranking?: number[]; candidates?: { index: number }[]; error?: unknown } = { state: 'queued' };
      const until = Date.now() + 120_000;
      while (!['finished', 'error', 'cancelled'].includes(job.state)) {
        if (Date.now() > until) throw new Error(`job ${id} still ${job.state}`);
        await new Promise((r) => setTimeout(r, 200));
        job = (await http(port, `/v1/jobs/${id}`, { headers: auth })).json();
      }
      expect(job).toMatchObject({ state: 'finished' });
      const n = job.ranking?.[0] ?? job.candidates?.[0]?.index ?? 0;
      const result = await http(port, `/v1/jobs/${id}/results/${n}?part=full`, { headers: auth });
      expect(result.status).toBe(200);
      expect(result.body.subarray(1, 4).toString('latin1')).toBe('PNG');
      // The default pack the bridge serves is the installed one.
      const packs = (await http(port, '/v1/packs', { headers: auth })).body.toString('utf8');
      expect(packs).toContain('byteedit-small');
    } finally {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGTERM');
      await exited;
      timings.serve = Date.now() - t0;
    }
    expect(out).not.toMatch(/fixture/i);
  });

  it('has its own command, byteedit-bridge', () => {
    const r = sh('npx', ['--no', '--', 'byteedit-bridge', '--help'], { cwd: dir });
    expect(ok(r, 'npx byteedit-bridge --help')).toContain('usage: byteedit serve');
  });
});

describe('(c) the emitted types', () => {
  const program = (name: string, files: Record<string, string>, compilerOptions: Record<string, unknown>): SpawnSyncReturns<string> => {
    const at = join(dir, name);
    mkdirSync(at, { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(at, f), text);
    writeFileSync(join(at, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', ...compilerOptions }, files: Object.keys(files) }, null, 2));
    const r = sh(process.execPath, [TSC, '-p', at, '--listFiles'], { cwd: at });
    // On failure show the errors, not the file list.
    if (r.status !== 0) r.stdout = r.stdout.split('\n').filter((l) => !l.startsWith('/')).join('\n');
    return r;
  };

  it('type-check a Node program (node16 resolution) against @byteedit/core, /node and /http', () => {
    const r = timed('tsc node', () =>
      program(
        'node-consumer',
        {
          'main.ts': `import { createEngine, createWorkerEngine, defaultPackPath, NodeOrtRuntime } from '@byteedit/core/node';
import { createImage, decodeImage, encodePng, SdkError, type RgbaImage } from '@byteedit/core';
import * as http from '@byteedit/core/http';

export async function demo(png: Uint8Array): Promise<number> {
  const image: RgbaImage = decodeImage(png);
  const blank = encodePng(createImage(image.width, image.height));
  const pack: string = defaultPackPath();
  const engine = createEngine({ pack, device: 'cpu' });
  const worker = await createWorkerEngine({ device: 'cpu' });
  await worker.dispose();
  void engine;
  void new NodeOrtRuntime();
  // The types are real, not any: these are errors.
  // @ts-expect-error a device that does not exist
  createEngine({ device: 'tpu' });
  // @ts-expect-error decodeImage takes bytes
  decodeImage('before.png');
  if (!(new SdkError('invalid_argument', 'x') instanceof Error)) throw new Error('no');
  return blank.length + Object.keys(http).length;
}
`,
          'esm.mts': `import { decodeImage } from '@byteedit/core';
import { defaultPackPath } from '@byteedit/core/node';
export const both: [typeof decodeImage, string] = [decodeImage, defaultPackPath()];
`,
        },
        // DOM too: comlink's and onnxruntime-common's own declarations name DOM types (MessagePort,
        // ImageData), and skipLibCheck stays off so that every .d.ts of ours is checked.
        { module: 'node16', moduleResolution: 'node16', lib: ['ES2022', 'DOM'], types: ['node'] },
      ),
    );
    ok(r, 'tsc (node consumer)');
    // Checked against what was installed here, never the repository's sources.
    const ours = r.stdout.split('\n').filter((f) => f.includes('@byteedit/core'));
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.filter((f) => !f.startsWith(join(dir, 'node_modules', '@byteedit', 'core', 'dist', 'types')))).toEqual([]);
  });

  it('type-check a browser program (bundler resolution, DOM, no Node types) against @byteedit/core/browser', () => {
    const r = timed('tsc browser', () =>
      program(
        'browser-consumer',
        {
          'main.ts': `import { createBrowserWorkerEngine, decodeImage, encodePng, type EngineApi } from '@byteedit/core/browser';

export function start(token: string): EngineApi {
  return createBrowserWorkerEngine(() => new Worker(new URL('@byteedit/core/browser/worker', import.meta.url)), {
    packUrl: 'http://127.0.0.1:7860/v1/packs/byteedit-small/files/',
    headers: { Authorization: 'Bearer ' + token },
  });
}
export const codecs = [decodeImage, encodePng];
// @ts-expect-error the worker config needs its pack URL
createBrowserWorkerEngine(() => new Worker('w.js'), {});
`,
        },
        { module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] },
      ),
    );
    ok(r, 'tsc (browser consumer)');
    const files = r.stdout.split('\n').filter(Boolean);
    expect(files.filter((f) => f.includes('@types/node'))).toEqual([]);
    expect(files.filter((f) => f.includes('@byteedit/core/dist/types/browser.d.ts'))).toHaveLength(1);
  });

  it('resolve @byteedit/core/http at run time in Node too', () => {
    const r = sh(process.execPath, ['-e', "const h = require('@byteedit/core/http'); console.log(typeof h)"], { cwd: dir });
    expect(ok(r, 'require @byteedit/core/http').trim()).toBe('object');
    expect(dirname(ok(sh(process.execPath, ['-p', "require.resolve('@byteedit/core/browser/worker')"], { cwd: dir }), 'resolve worker').trim())).toBe(join(dir, 'node_modules', '@byteedit', 'core', 'dist', 'browser'));
  });
});
