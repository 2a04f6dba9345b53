// The built plug-in: manifest fields against Figma's documented manifest
// (https://developers.figma.com/docs/plugins/manifest — @figma/plugin-typings ships no manifest
// type), a self-contained ui.html, and size budgets.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const DIST = join(__dirname, '..', 'dist');

/** Top-level manifest keys Figma documents for plug-ins. */
const DOCUMENTED_KEYS = new Set([
  'name', 'id', 'api', 'main', 'ui', 'editorType', 'documentAccess', 'networkAccess', 'parameters', 'parameterOnly', 'menu',
  'relaunchButtons', 'enableProposedApi', 'enablePrivatePluginApi', 'build', 'permissions', 'capabilities', 'codegenLanguages', 'codegenPreferences',
]);
const EDITOR_TYPES = new Set(['figma', 'figjam', 'dev', 'slides', 'buzz']);
const NETWORK_KEYS = new Set(['allowedDomains', 'reasoning', 'devAllowedDomains']);

interface Manifest {
  [key: string]: unknown;
  networkAccess: { allowedDomains: string[]; reasoning?: string; devAllowedDomains?: string[] };
}

describe('the built plug-in', () => {
  let manifest: Manifest;

  beforeAll(() => {
    execFileSync(process.execPath, [join(__dirname, '..', 'build.mjs')], { stdio: 'pipe' });
    manifest = JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8')) as Manifest;
  });

  it('has every field Figma requires, and only documented ones', () => {
    for (const key of ['name', 'id', 'api', 'main', 'editorType', 'documentAccess']) expect(manifest).toHaveProperty(key);
    for (const key of Object.keys(manifest)) expect(DOCUMENTED_KEYS.has(key) ? key : `undocumented: ${key}`).toBe(key);
    expect(typeof manifest.name).toBe('string');
    expect(typeof manifest.id).toBe('string');
    expect(manifest.api).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.editorType).toEqual(['figma']);
    for (const e of manifest.editorType as string[]) expect(EDITOR_TYPES.has(e)).toBe(true);
    expect(manifest.documentAccess).toBe('dynamic-page');
  });

  it('points main and ui at files in dist', () => {
    expect(existsSync(join(DIST, manifest.main as string))).toBe(true);
    expect(existsSync(join(DIST, manifest.ui as string))).toBe(true);
  });

  it('allows exactly the bridge on loopback, with reasoning and development domains', () => {
    const n = manifest.networkAccess;
    for (const key of Object.keys(n)) expect(NETWORK_KEYS.has(key) ? key : `undocumented: ${key}`).toBe(key);
    expect(n.allowedDomains).toEqual(['http://127.0.0.1:7860', 'http://localhost:7860']);
    for (const d of [...n.allowedDomains, ...(n.devAllowedDomains ?? [])]) expect(d).toMatch(/^http:\/\/(127\.0\.0\.1|localhost):(\d+|\*)$/);
    expect(n.reasoning!.length).toBeGreaterThan(40);
    expect(n.devAllowedDomains).toEqual(expect.arrayContaining(n.allowedDomains));
  });

  it('ships one self-contained ui.html: no external scripts, styles or CDN', () => {
    const html = readFileSync(join(DIST, 'ui.html'), 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/https?:\/\/(cdn|unpkg|esm\.sh|fastly\.jsdelivr|cdn\.jsdelivr)/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html.match(/<\/script>/gi)).toHaveLength(1);
  });

  it('keeps the bundles within budget', () => {
    expect(statSync(join(DIST, 'code.js')).size).toBeLessThan(150 * 1024);
    expect(statSync(join(DIST, 'ui.html')).size).toBeLessThan(1024 * 1024);
    const runtime = JSON.parse(readFileSync(join(DIST, 'onnxruntime-web', 'pack.json'), 'utf8')) as { files: string[] };
    for (const f of runtime.files) expect(statSync(join(DIST, 'onnxruntime-web', f)).size).toBeGreaterThan(1_000_000);
  });
});
