/**
 * The pictures the README, the docs, the plug-in READMEs and the model cards show: each is listed in
 * docs/img/pictures.json with the command that makes it, and one made from a pack records that
 * pack's version, so a picture cannot outlive the pack it shows. Reads files only; generates nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const REPO = resolve(__dirname, '..');
const LIST = 'docs/img/pictures.json';
const IMAGE = /\.(png|jpe?g|gif|svg|webp)$/i;
/**
 * Files the repository holds. A name in the text counts only when it is one of them: the README's
 * first command writes `after.png` into the checkout, which is output, not a docs picture.
 */
const TRACKED = new Set(execFileSync('git', ['ls-files'], { cwd: REPO, encoding: 'utf8' }).split('\n').filter(Boolean));

interface Picture {
  pack: string | null;
  version: string | null;
  command: string;
  from?: string;
}

function markdownFiles(): string[] {
  const out = ['README.md'];
  for (const f of readdirSync(join(REPO, 'docs'))) if (f.endsWith('.md')) out.push(`docs/${f}`);
  for (const p of readdirSync(join(REPO, 'plugins'))) if (existsSync(join(REPO, 'plugins', p, 'README.md'))) out.push(`plugins/${p}/README.md`);
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(REPO, dir), { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== 'node_modules') walk(`${dir}/${e.name}`);
      else if (e.name === 'MODEL_CARD.md') out.push(`${dir}/${e.name}`);
    }
  };
  walk('models');
  return out;
}

/**
 * Repo-relative paths of the pictures a markdown file shows (`![](…)`, `<img src>`) or names in
 * its text (`samples.png` in a model card) where that names a file the repository tracks.
 */
function pictures(md: string): { path: string; shown: boolean }[] {
  const text = readFileSync(join(REPO, md), 'utf8');
  const here = dirname(join(REPO, md));
  const found = new Map<string, boolean>();
  const shown = [...text.matchAll(/!\[[^\]]*\]\(\s*<?([^)\s>]+)/g), ...text.matchAll(/<img\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
  for (const ref of shown) if (!/^[a-z]+:/i.test(ref)) found.set(relative(REPO, resolve(here, ref.split('#')[0]!)), true);
  for (const m of text.matchAll(/[\w./-]+/g)) {
    const ref = m[0].replace(/[.]+$/, '');
    if (!IMAGE.test(ref)) continue;
    for (const base of [here, REPO]) {
      const p = resolve(base, ref);
      if (p.startsWith(REPO) && existsSync(p) && statSync(p).isFile() && TRACKED.has(relative(REPO, p))) {
        const rel = relative(REPO, p);
        if (!found.has(rel)) found.set(rel, false);
        break;
      }
    }
  }
  return [...found].map(([path, isShown]) => ({ path, shown: isShown }));
}

const list = JSON.parse(readFileSync(join(REPO, LIST), 'utf8')) as { pictures: Record<string, Picture> };
const entries = Object.entries(list.pictures);
const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

describe('docs pictures', () => {
  it('lists every picture the README, docs, plug-in READMEs and model cards show or name', () => {
    const refs = markdownFiles().flatMap((md) => pictures(md).map((p) => ({ ...p, md })));
    expect(refs.map((r) => r.path)).toEqual(expect.arrayContaining(['docs/img/before-after.png', 'models/packs/byteedit-small/samples.png']));
    expect(refs.filter((r) => r.shown && !existsSync(join(REPO, r.path))).map((r) => `${r.md} shows ${r.path}, which does not exist`)).toEqual([]);
    expect(refs.filter((r) => !list.pictures[r.path]).map((r) => `${r.md} shows ${r.path}: add it to ${LIST} with the command that makes it`)).toEqual([]);
  });

  it('lists only pictures that exist', () => {
    expect(entries.filter(([path]) => !existsSync(join(REPO, path))).map(([path]) => path)).toEqual([]);
  });

  it('records, for a picture made from a pack, the version of that pack as it ships', () => {
    const stale = entries.flatMap(([path, p]) => {
      if (p.pack === null) return p.version === null && p.from ? [] : [`${path}: a picture made without a pack has version null and says in "from" what it is made from`];
      const manifest = join(REPO, 'models', 'packs', p.pack, 'pack.json');
      if (!existsSync(manifest)) return [`${path}: pack ${p.pack} is not in models/packs`];
      const shipped = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
      return p.version === shipped ? [] : [`${path} was made with ${p.pack} ${p.version ?? '(no version)'}, the pack is ${shipped}: run \`${p.command}\``];
    });
    expect(stale).toEqual([]);
  });

  it("keeps a picture inside a pack's folder only as that pack's build wrote it", () => {
    const foreign = entries.flatMap(([path, p]) => {
      const folder = p.pack && `models/packs/${p.pack}/`;
      if (!folder || !path.startsWith(folder)) return [];
      const info = JSON.parse(readFileSync(join(REPO, folder, 'build_info.json'), 'utf8')) as { files_bytes: Record<string, number> };
      const size = statSync(join(REPO, path)).size;
      const built = info.files_bytes[path.slice(folder.length)];
      return size === built ? [] : [`${path} is ${size} bytes; the pack's build wrote ${built ?? 'no such file'}: run \`${p.command}\``];
    });
    expect(foreign).toEqual([]);
  });

  it('names, for each picture, a command whose scripts exist', () => {
    const broken = entries.flatMap(([path, p]) => {
      const npm = [...p.command.matchAll(/\bnpm run ([\w:-]+)/g)].map((m) => m[1]!);
      const files = p.command.split(/\s+/).filter((t) => /\/[\w.-]+\.(py|mjs|cjs|js|ts|sh)$/.test(t));
      if (!npm.length && !files.length) return [`${path}: "${p.command}" names no npm script and no script file`];
      return [
        ...npm.filter((s) => !scripts[s]).map((s) => `${path}: npm script "${s}" does not exist`),
        ...files.filter((f) => !existsSync(join(REPO, f))).map((f) => `${path}: ${f} does not exist`),
      ];
    });
    expect(broken).toEqual([]);
  });
});
