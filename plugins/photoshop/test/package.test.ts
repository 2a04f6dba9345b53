/**
 * The build and the installable package: runs build.mjs and package-ccx.mjs, then checks the
 * manifest against the documented UXP manifest v5 fields (developer.adobe.com, "UXP Manifest v5")
 * and the .ccx layout (a zip with manifest.json at its root).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import { installPolyfills, SimpleDecoder, Utf8Encoder } from '../src/polyfills';

const ROOT = resolve(__dirname, '..');
// A private build: other test files may read dist/ at the same time.
const TMP = mkdtempSync(join(tmpdir(), 'byteedit-ps-build-'));
const DIST = join(TMP, 'dist');

jest.setTimeout(120_000);

interface Manifest {
  manifestVersion: number;
  id: string;
  name: string;
  version: string;
  main: string;
  host: { app: string; minVersion: string } | { app: string; minVersion: string }[];
  entrypoints: { type: string; id: string; label: { default: string }; minimumSize?: { width: number; height: number }; maximumSize?: { width: number; height: number }; preferredDockedSize?: { width: number; height: number }; preferredFloatingSize?: { width: number; height: number }; icons?: { width: number; height: number; path: string; scale: number[]; theme: string[] }[] }[];
  icons?: { width: number; height: number; path: string; scale: number[] }[];
  requiredPermissions: { network?: { domains: string[] | string }; localFileSystem?: string; [k: string]: unknown };
  [k: string]: unknown;
}

let manifest: Manifest;
let ccxPath: string;

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'build.mjs'), '--out', DIST], { cwd: ROOT, env: { ...process.env, BYTEEDIT_BRIDGE_PORTS: '7860,7861' } });
  const out = execFileSync(process.execPath, [join(ROOT, 'package-ccx.mjs'), '--dist', DIST, '--out', join(TMP, 'ccx')], { cwd: ROOT, encoding: 'utf8' });
  ccxPath = out.split(' ')[0]!;
  manifest = JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8')) as Manifest;
});

const semver = (v: string): number[] => v.split('.').map(Number);
const atLeast = (v: string, min: string): boolean => {
  const [a, b] = [semver(v), semver(min)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
};

describe('manifest v5', () => {
  it('has only documented top-level keys, each of the documented type', () => {
    const documented = ['manifestVersion', 'id', 'name', 'version', 'main', 'host', 'entrypoints', 'icons', 'requiredPermissions', 'strings', 'featureFlags', 'addon'];
    expect(Object.keys(manifest).filter((k) => !documented.includes(k))).toEqual([]);
    expect(manifest.manifestVersion).toBe(5);
    expect(manifest.id).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(manifest.name.length).toBeGreaterThan(0);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(existsSync(join(DIST, manifest.main))).toBe(true);
  });

  it('targets Photoshop 24.4 or newer (the imaging API)', () => {
    const hosts = Array.isArray(manifest.host) ? manifest.host : [manifest.host];
    expect(hosts.map((h) => h.app)).toEqual(['PS']);
    expect(hosts[0]!.minVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(atLeast(hosts[0]!.minVersion, '24.4.0')).toBe(true);
  });

  it('declares a panel entrypoint with label, sizes and existing icons (1x and @2x)', () => {
    const panels = manifest.entrypoints.filter((e) => e.type === 'panel');
    expect(panels).toHaveLength(1);
    const p = panels[0]!;
    expect(p.id).toMatch(/^\w+$/);
    expect(p.label.default).toBe('byteedit');
    for (const size of [p.minimumSize, p.maximumSize, p.preferredDockedSize, p.preferredFloatingSize]) expect(size).toEqual({ width: expect.any(Number), height: expect.any(Number) });
    expect(p.minimumSize!.width).toBeLessThanOrEqual(p.preferredDockedSize!.width);
    for (const icon of [...(p.icons ?? []), ...(manifest.icons ?? [])]) {
      expect(existsSync(join(DIST, icon.path))).toBe(true);
      if (icon.scale.includes(2)) expect(existsSync(join(DIST, icon.path.replace(/\.png$/, '@2x.png')))).toBe(true);
    }
  });

  it('asks for the least permissions: explicit loopback bridge origins and user-picked files only', () => {
    const { network, localFileSystem, ...rest } = manifest.requiredPermissions;
    expect(rest).toEqual({});
    expect(network!.domains).toEqual(['http://127.0.0.1:7860', 'http://localhost:7860', 'http://127.0.0.1:7861', 'http://localhost:7861']);
    expect(['plugin', 'request', 'fullAccess']).toContain(localFileSystem);
    expect(localFileSystem).toBe('request');
  });

  it('bundles no model runtime and no Node modules into the panel', () => {
    const inputs = JSON.parse(readFileSync(join(DIST, 'bundle-inputs.json'), 'utf8')) as string[];
    expect(inputs.some((p) => p.includes('core/dist/neutral/index.js'))).toBe(true); // core's PNG encoder, through the package entry
    expect(inputs.filter((p) => /onnxruntime|comlink|node:/.test(p))).toEqual([]);
    const js = readFileSync(join(DIST, 'panel.js'), 'utf8');
    expect(js).not.toMatch(/onnxruntime|InferenceSession/);
  });
});

describe('the .ccx package', () => {
  it('is a zip with manifest.json at its root and everything the manifest names', () => {
    const files = unzipSync(new Uint8Array(readFileSync(ccxPath)));
    const names = Object.keys(files);
    expect(names).toContain('manifest.json');
    expect(JSON.parse(new TextDecoder().decode(files['manifest.json']))).toEqual(manifest);
    const html = new TextDecoder().decode(files['index.html']);
    expect(names).toEqual(expect.arrayContaining(['index.html', 'panel.js', 'panel.css', 'icons/dark.png', 'icons/dark@2x.png']));
    for (const ref of html.match(/(?:src|href)="([^"]+)"/g)!.map((m) => m.split('"')[1]!)) expect(names).toContain(ref);
    expect(names.filter((n) => n.endsWith('.map') || n.startsWith('/'))).toEqual([]);
    expect(readdirSync(join(TMP, 'ccx'))).toEqual(['byteedit-photoshop-0.1.0.ccx']);
  });
});

describe('polyfills', () => {
  it('install only where missing, and encode and decode UTF-8 and latin1 like the platform does', () => {
    const bare: { TextEncoder?: unknown; TextDecoder?: unknown } = {};
    installPolyfills(bare);
    expect(bare).toEqual({ TextEncoder: Utf8Encoder, TextDecoder: SimpleDecoder });
    const native = { TextEncoder, TextDecoder };
    installPolyfills(native);
    expect(native.TextEncoder).toBe(TextEncoder);
    const text = 'byteedit ✓ — ü 𝄞 "a cat"';
    const bytes = new TextEncoder().encode(text);
    expect(Buffer.from(new Utf8Encoder().encode(text))).toEqual(Buffer.from(bytes));
    expect(new SimpleDecoder().decode(bytes)).toBe(text);
    const d = new SimpleDecoder();
    expect(d.decode(bytes.subarray(0, 11), { stream: true }) + d.decode(bytes.subarray(11))).toBe(text);
    expect(new SimpleDecoder('latin1').decode(Uint8Array.from([0x41, 0xe9, 0xff]))).toBe('Aéÿ');
  });
});
