/**
 * bridge.json without races: nothing in the config dir can redirect the write, a dir others can
 * change is refused, a stale file (bridge killed outright) is replaced on start while a live one
 * stops the second bridge, and the plug-in clients say the bridge is not running.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgeFilePath, ConfigDirError, inspectBridgeFile, prepareConfigDir, writeBridgeFile, type BridgeFile } from '../src/config-file';
import { buildCli, CLI, FIXTURE_PACK, PACKAGE_DIR, startChildBridge } from './engines';

jest.setTimeout(120_000);

const PYTHON = process.env.PYTHON ?? 'python3';
const CLIENT_DIR = join(PACKAGE_DIR, 'gimp', 'byteedit');
const posix = process.platform !== 'win32';
const asRoot = posix && process.getuid?.() === 0;

function privateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'byteedit-config-'));
  chmodSync(dir, 0o700);
  return dir;
}

const content = (pid = process.pid): BridgeFile => ({ port: 7860, token: 'secret-token', pid, url: 'http://127.0.0.1:7860', version: '0.1.0' });

function victim(): { path: string; check: () => void } {
  const path = join(mkdtempSync(join(tmpdir(), 'byteedit-victim-')), 'victim.txt');
  writeFileSync(path, 'precious\n', { mode: 0o644 });
  chmodSync(path, 0o644);
  return {
    path,
    check: () => {
      expect(readFileSync(path, 'utf8')).toBe('precious\n');
      if (posix) expect(statSync(path).mode & 0o777).toBe(0o644);
    },
  };
}

/** `byteedit serve` with BYTEEDIT_CONFIG_DIR set; killed after timeoutMs if it starts serving. */
function serveIn(dir: string, timeoutMs = 20_000): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--pack', FIXTURE_PACK, '--device', 'cpu'], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, BYTEEDIT_CONFIG_DIR: dir },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function python(code: string, env: Record<string, string>): Promise<string> {
  const prelude = `import sys; sys.path.insert(0, ${JSON.stringify(CLIENT_DIR)}); import bridge_client as bc\ntry:\n${code.replace(/^/gm, '    ')}\nexcept bc.BridgeError as e:\n    print(e.code + ': ' + str(e))\n`;
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', prelude], { env: { PATH: process.env.PATH ?? '', HOME: '/home/someone', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve(out.trim()) : reject(new Error(`python failed (${status}): ${err}`))));
  });
}

/** A port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(() => buildCli());

describe('writing bridge.json', () => {
  it('writes a 0600 file through a random temp name and leaves no temp file behind', () => {
    const dir = privateDir();
    const path = bridgeFilePath(dir);
    writeBridgeFile(path, dir, content());
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ token: 'secret-token', pid: process.pid });
    if (posix) expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['bridge.json']);
  });

  (posix ? it : it.skip)('does not write through a symlink planted at the old predictable temp name', () => {
    const dir = privateDir();
    const path = bridgeFilePath(dir);
    const target = victim();
    symlinkSync(target.path, `${path}.${process.pid}.tmp`);
    writeBridgeFile(path, dir, content());
    target.check();
    expect(lstatSync(path).isFile()).toBe(true);
  });

  (posix ? it : it.skip)('replaces a symlink at bridge.json instead of writing or chmod-ing its target', () => {
    const dir = privateDir();
    const path = bridgeFilePath(dir);
    const target = victim();
    symlinkSync(target.path, path);
    writeBridgeFile(path, dir, content());
    target.check();
    expect(lstatSync(path).isSymbolicLink()).toBe(false);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ token: 'secret-token' });
  });

  (posix ? it : it.skip)('refuses a config dir other users can write, saying to chmod 700 it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'byteedit-config-'));
    chmodSync(dir, 0o777);
    expect(() => writeBridgeFile(bridgeFilePath(dir), dir, content())).toThrow(ConfigDirError);
    expect(() => prepareConfigDir(dir)).toThrow(`chmod 700 ${dir}`);
    chmodSync(dir, 0o770);
    expect(() => prepareConfigDir(dir)).toThrow(/mode 770/);
    expect(existsSync(bridgeFilePath(dir))).toBe(false);
  });

  (asRoot ? it : it.skip)('refuses a config dir that belongs to another user (run as root: chown to nobody)', () => {
    const dir = privateDir();
    chownSync(dir, 65534, 65534);
    expect(() => writeBridgeFile(bridgeFilePath(dir), dir, content())).toThrow(/belongs to another user \(uid 65534/);
    expect(existsSync(bridgeFilePath(dir))).toBe(false);
  });

  it('creates a missing config dir 0700', () => {
    const dir = join(privateDir(), 'nested', 'byteedit');
    writeBridgeFile(bridgeFilePath(dir), dir, content());
    if (posix) expect(statSync(dir).mode & 0o777).toBe(0o700);
  });
});

describe('byteedit serve and the config dir', () => {
  (posix ? it : it.skip)('exits 1 on a 0777 config dir with what to do, and never claims the file is private', () => {
    const dir = mkdtempSync(join(tmpdir(), 'byteedit-config-'));
    chmodSync(dir, 0o777);
    const r = serveIn(dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain(`chmod 700 ${dir}`);
    expect(r.out).not.toContain('readable only by you');
    expect(existsSync(bridgeFilePath(dir))).toBe(false);
  });

  (asRoot ? it : it.skip)('exits 1 on a config dir owned by another user', () => {
    const dir = privateDir();
    chownSync(dir, 65534, 65534);
    const r = serveIn(dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain('belongs to another user');
    expect(existsSync(bridgeFilePath(dir))).toBe(false);
  });
});

describe('stale bridge files', () => {
  it('tells a live bridge from a leftover: dead pid, or a live pid whose port answers nothing', async () => {
    const dir = privateDir();
    const path = bridgeFilePath(dir);
    expect(await inspectBridgeFile(path)).toEqual({ state: 'none' });
    writeFileSync(path, JSON.stringify({ ...content(2 ** 22 + 12345), port: await deadPort() }));
    expect(await inspectBridgeFile(path)).toMatchObject({ state: 'stale', reason: expect.stringContaining('is gone') });
    // This jest worker is alive, but it is no bridge (a pid reused after a reboot looks like this).
    writeFileSync(path, JSON.stringify({ ...content(process.pid), port: await deadPort() }));
    expect(await inspectBridgeFile(path)).toMatchObject({ state: 'stale', reason: expect.stringContaining('no bridge answers') });
    writeFileSync(path, 'garbage');
    expect(await inspectBridgeFile(path)).toMatchObject({ state: 'stale' });
  });

  it('after SIGKILL: the clients say the bridge is not running, and the next start replaces the file and says so', async () => {
    const first = await startChildBridge();
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    expect(JSON.parse(readFileSync(first.bridgeFile, 'utf8')).pid).toBe(first.pid);

    const env = { BYTEEDIT_CONFIG_DIR: first.configDir };
    // The GIMP client checks the pid where it can ...
    expect(await python('bc.read_bridge_file()', env)).toMatch(/^not_running: The bridge is not running: start it with `npx byteedit serve`.*left over from a bridge that stopped/);
    // ... and otherwise meets a refused connection on the recorded port.
    expect(await python("import json\ninfo = json.load(open(bc.os.path.join(bc.config_dir(), 'bridge.json')))\ninfo['path'] = 'bridge.json'\nbc.Bridge(info).job('x')", env)).toMatch(
      /^not_running: The bridge is not running: start it with `npx byteedit serve`.*names port \d+, where nothing answers/,
    );

    const second = await startChildBridge([], first.configDir);
    try {
      expect(second.output()).toContain('replacing the stale');
      expect(second.output()).toContain(`process ${first.pid} that wrote it is gone`);
      expect(JSON.parse(readFileSync(second.bridgeFile, 'utf8')).pid).toBe(second.child.pid);
    } finally {
      expect(await second.close()).toBe(0);
    }
  });

  it('a second bridge for the same user says "already running on port N" and leaves the live file alone', async () => {
    const live = await startChildBridge();
    try {
      const before = readFileSync(live.bridgeFile, 'utf8');
      const r = serveIn(live.configDir);
      expect(r.status).toBe(1);
      expect(r.out).toContain(`already running on port ${live.port}`);
      expect(readFileSync(live.bridgeFile, 'utf8')).toBe(before);
    } finally {
      expect(await live.close()).toBe(0);
    }
  });
});

describe('mkdir of an existing private dir', () => {
  it('accepts the dir the bridge made itself on a second start', () => {
    const dir = join(privateDir(), 'byteedit');
    mkdirSync(dir, { mode: 0o700 });
    expect(() => prepareConfigDir(dir)).not.toThrow();
  });
});
