/**
 * The GIMP plug-in's pure-Python half (gimp/byteedit/bridge_client.py, standard library only),
 * run with the host's python3 against the TypeScript side: same bridge-file location rules, PNGs
 * the core can decode, and its HTTP client against a live bridge. The context-region, outpaint and
 * naming rules (gimp/byteedit/prepare.py) are held to core's by host-prepare.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeImage } from '@byteedit/core';
import { configDir } from '../src/config-file';
import { fakeImpl, PACKAGE_DIR, type BridgeHandle } from './engines';
import { pngOf, rectMaskPng, testImage } from './helpers';
import { readPreferences } from '../../../core/src/preferences/node-writer';

const CLIENT_DIR = join(PACKAGE_DIR, 'gimp', 'byteedit');
const PYTHON = process.env.PYTHON ?? 'python3';

const prelude = `import sys, json, base64; sys.path.insert(0, ${JSON.stringify(CLIENT_DIR)}); import bridge_client as bc\n`;
const pyEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '', HOME: '/home/someone', ...env });

function py(code: string, env: Record<string, string> = {}): string {
  const r = spawnSync(PYTHON, ['-c', prelude + code], { encoding: 'utf8', env: pyEnv(env) });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Asynchronous variant for talking to an in-process server (spawnSync would block its event loop). */
function pyAsync(code: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', prelude + code], { env: pyEnv(env) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve(out.trim()) : reject(new Error(`python failed (${status}): ${err}`))));
  });
}

describe('bridge_client.py', () => {
  it('finds bridge.json where the server writes it', () => {
    const cases: Record<string, string>[] = [{}, { XDG_CONFIG_HOME: '/x/cfg' }, { BYTEEDIT_CONFIG_DIR: '/y/be' }, { XDG_CONFIG_HOME: '/x/cfg', BYTEEDIT_CONFIG_DIR: '/y/be' }];
    for (const env of cases) {
      expect(py('print(bc.config_dir())', env)).toBe(configDir({ HOME: '/home/someone', ...env }).replace(homedir(), '/home/someone'));
    }
    expect(py("print(bc.config_dir({'APPDATA': 'C:/Users/u/AppData/Roaming'}, 'win32'))")).toBe(join('C:/Users/u/AppData/Roaming', 'byteedit'));
  });

  it('writes RGBA and grey PNGs that the core decodes to the same pixels', () => {
    const rgba = Buffer.from(Array.from({ length: 5 * 3 * 4 }, (_, i) => (i * 37) & 255));
    const grey = Buffer.from(Array.from({ length: 5 * 3 }, (_, i) => (i * 17) & 255));
    const out = py(`
rgba = base64.b64decode('${rgba.toString('base64')}'); grey = base64.b64decode('${grey.toString('base64')}')
print(json.dumps([base64.b64encode(bc.encode_png(5, 3, 4, rgba)).decode(), base64.b64encode(bc.encode_png(5, 3, 1, grey)).decode()]))`);
    const [a, g] = (JSON.parse(out) as string[]).map((s) => decodeImage(Buffer.from(s, 'base64')));
    expect(Buffer.from(a!.data).equals(rgba)).toBe(true);
    expect(Array.from(g!.data).filter((_, i) => i % 4 === 0)).toEqual(Array.from(grey));
  });

  it('tags candidate layers with their job and index, and ignores parasites that are not its own', () => {
    expect(JSON.parse(py("print(json.dumps([bc.parse_candidate_tag(list(bc.candidate_tag('job-7', 2))), bc.parse_candidate_tag(b'{}'), bc.parse_candidate_tag([0xff, 0x00]), bc.parse_candidate_tag(b'[1]')]))"))).toEqual([
      { job: 'job-7', index: 2 },
      null,
      null,
      null,
    ]);
  });

  describe('recording a kept candidate (Keep Candidate, docs/preferences.md)', () => {
    const prefs = mkdtempSync(join(tmpdir(), 'byteedit-py-prefs-'));
    let recording: BridgeHandle;
    let plain: BridgeHandle;
    beforeAll(async () => {
      recording = await fakeImpl.start({ recordPreferences: prefs });
      plain = await fakeImpl.start();
    });
    afterAll(async () => {
      await recording.close();
      await plain.close();
    });

    const image = pngOf(testImage(32, 24)).toString('base64');
    const mask = rectMaskPng(32, 24, { x: 8, y: 6, width: 10, height: 8 }).toString('base64');
    const keep = (server: BridgeHandle): Promise<string> =>
      pyAsync(
        `
b = bc.Bridge(bc.read_bridge_file())
jid = b.submit(base64.b64decode('${image}'), base64.b64decode('${mask}'), {'mode': 'edit', 'prompt': 'a hat', 'steps': 2, 'candidates': 3})
b.follow(jid, lambda k, d: None)
try:
    print(json.dumps(b.record_choice(jid, 2)))
except bc.BridgeError as e:
    print(e.code + ': ' + str(e))`,
        { BYTEEDIT_CONFIG_DIR: dirname(server.bridgeFile) },
      );

    it('has the bridge record the kept candidate against the others, as the GIMP host', async () => {
      expect(JSON.parse(await keep(recording))).toMatchObject({ recorded: 1 });
      const { records } = await readPreferences(prefs);
      expect(records).toEqual([expect.objectContaining({ host: 'gimp', mode: 'edit', prompt: 'a hat' })]);
      expect(records[0]!.rejected).toHaveLength(2);
    });

    it('says how to turn recording on, and when the bridge has forgotten the job', async () => {
      expect(await keep(plain)).toMatch(/^preferences_off: .*restart it with `npx byteedit serve --record-preferences FOLDER`/);
      const forgotten = await pyAsync(
        "b = bc.Bridge(bc.read_bridge_file())\ntry:\n    b.record_choice('no-such-job', 0)\nexcept bc.BridgeError as e:\n    print(e.code + ': ' + str(e))",
        { BYTEEDIT_CONFIG_DIR: dirname(recording.bridgeFile) },
      );
      expect(forgotten).toMatch(/^job_not_found: .*no longer holds this job/);
    });
  });

  describe('against a live bridge (fake engine)', () => {
    let server: BridgeHandle;
    beforeAll(async () => {
      server = await fakeImpl.start();
    });
    afterAll(async () => {
      await server.close();
    });

    it('submits, follows events to the end and fetches raw results', async () => {
      const image = pngOf(testImage(32, 24)).toString('base64');
      const mask = rectMaskPng(32, 24, { x: 8, y: 6, width: 10, height: 8 }).toString('base64');
      const out = await pyAsync(
        `
b = bc.Bridge(bc.read_bridge_file())
jid = b.submit(base64.b64decode('${image}'), base64.b64decode('${mask}'), {'mode': 'edit', 'prompt': 'x', 'steps': 2, 'candidates': 2})
seen = []
kind, data = b.follow(jid, lambda k, d: seen.append(k))
w, h, patch = b.result(jid, 1, 'patch')
mw, mh, m = b.result(jid, 1, 'mask')
print(json.dumps({'kind': kind, 'seen': seen, 'size': [w, h, len(patch), mw, mh, len(m)], 'job': b.job(jid)['state']}))`,
        { BYTEEDIT_CONFIG_DIR: dirname(server.bridgeFile) },
      );
      const r = JSON.parse(out) as { kind: string; seen: string[]; size: number[]; job: string };
      expect(r.kind).toBe('finished');
      expect(r.seen.filter((k) => k === 'candidate')).toHaveLength(2);
      expect(r.size).toEqual([10, 8, 10 * 8 * 4, 10, 8, 80]);
      expect(r.job).toBe('finished');
    });

    it('turns a stopped bridge, a bad token and a server refusal into messages that say what to do', async () => {
      const dir = dirname(server.bridgeFile);
      const run = (code: string, env: Record<string, string>): Promise<string> => pyAsync(`\ntry:\n${code.replace(/^/gm, '    ')}\nexcept bc.BridgeError as e:\n    print(e.code + ': ' + str(e))`, env);
      expect(await run('bc.read_bridge_file()', { BYTEEDIT_CONFIG_DIR: '/nonexistent' })).toMatch(/^not_running: .*npx byteedit serve/);
      expect(await run("bc.Bridge({'port': 1, 'token': 't'}).job('x')", {})).toMatch(/^not_running: .*nothing answers/);
      expect(await run("b = bc.Bridge(bc.read_bridge_file()); b.token = 'wrong'; b.job('x')", { BYTEEDIT_CONFIG_DIR: dir })).toMatch(/^unauthorized: .*rejected the token/);
      expect(await run("bc.Bridge(bc.read_bridge_file()).submit(b'not a png', None, {'mode': 'erase'})", { BYTEEDIT_CONFIG_DIR: dir })).toMatch(/^image_unreadable: .*PNG/);
    });
  });
});
