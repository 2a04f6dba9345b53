#!/usr/bin/env node
// Installs the byteedit GIMP 3 plug-in into the user's GIMP plug-ins folder.
//   node plugins/gimp-bridge/scripts/install-gimp-plugin.mjs [--gimp CMD] [--dir PLUGINS_DIR] [--dry-run]
// Asks GIMP itself for its user folder (Gimp.directory()) by running gimp-console in batch mode;
// when no GIMP 3 console can be run, falls back to the documented per-OS folder.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'gimp', 'byteedit');
const MARKER = 'BYTEEDIT_GIMP_DIR=';

function parseArgs(argv) {
  const o = { gimp: process.env.GIMP_CONSOLE, dir: undefined, dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--gimp') o.gimp = argv[++i];
    else if (a === '--dir') o.dir = argv[++i];
    else if (a === '--dry-run') o.dryRun = true;
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** GIMP 3 console executables to try, per OS (first that runs wins). */
function candidates() {
  if (process.platform === 'win32') {
    const pf = [process.env.ProgramFiles, process.env['ProgramFiles(x86)'], process.env.LOCALAPPDATA && join(process.env.LOCALAPPDATA, 'Programs')].filter(Boolean);
    return ['gimp-console-3.0.exe', ...pf.flatMap((p) => [join(p, 'GIMP 3', 'bin', 'gimp-console-3.0.exe'), join(p, 'GIMP 3', 'bin', 'gimp-console.exe')])];
  }
  if (process.platform === 'darwin') {
    return ['gimp-console-3.0', '/Applications/GIMP.app/Contents/MacOS/gimp-console', '/Applications/GIMP-3.0.app/Contents/MacOS/gimp-console'];
  }
  return ['gimp-console-3.0', 'gimp-console'];
}

/** Runs GIMP's batch Python to print Gimp.directory(); null when that GIMP cannot answer. */
function askGimp(command) {
  const code = `import gi; gi.require_version('Gimp', '3.0'); from gi.repository import Gimp; print('${MARKER}' + Gimp.directory(), flush=True)`;
  try {
    const out = execFileSync(command, ['-i', '--no-data', '--no-fonts', '--batch-interpreter=python-fu-eval', '-b', code, '--quit'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    const line = out.split(/\r?\n/).find((l) => l.startsWith(MARKER));
    return line ? line.slice(MARKER.length).trim() : null;
  } catch (err) {
    const line = String(err.stdout ?? '').split(/\r?\n/).find((l) => l.startsWith(MARKER));
    return line ? line.slice(MARKER.length).trim() : null;
  }
}

/** Where GIMP 3 keeps a user's folder when GIMP cannot be asked (GIMP's documented defaults). */
function defaultGimpDir() {
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'GIMP', '3.0');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'GIMP', '3.0');
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'GIMP', '3.0');
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log('usage: install-gimp-plugin.mjs [--gimp GIMP_CONSOLE] [--dir PLUGINS_DIR] [--dry-run]');
    return 0;
  }
  let pluginsDir = o.dir;
  let how = 'given with --dir';
  if (!pluginsDir) {
    for (const command of o.gimp ? [o.gimp] : candidates()) {
      const dir = askGimp(command);
      if (dir) {
        pluginsDir = join(dir, 'plug-ins');
        how = `reported by ${command}`;
        break;
      }
    }
  }
  if (!pluginsDir) {
    if (o.gimp) throw new Error(`${o.gimp} did not report its folder: is it GIMP 3 with Python support? Pass the plug-ins folder with --dir`);
    pluginsDir = join(defaultGimpDir(), 'plug-ins');
    how = 'GIMP 3 default for this OS (no gimp-console found; use --gimp or --dir to be explicit)';
  }
  const target = join(pluginsDir, 'byteedit');
  console.log(`GIMP plug-ins folder: ${pluginsDir} (${how})`);
  if (o.dryRun) {
    console.log(`would install into ${target}`);
    return 0;
  }
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(SOURCE).filter((n) => n.endsWith('.py'))) copyFileSync(join(SOURCE, name), join(target, name));
  // GIMP runs a plug-in only when its main file is executable (Linux, macOS).
  chmodSync(join(target, 'byteedit.py'), 0o755);
  if (!existsSync(join(target, 'byteedit.py'))) throw new Error(`copy into ${target} failed`);
  console.log(`installed ${target}; restart GIMP, then find it under Filters > Generative`);
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`install-gimp-plugin: ${err.message}`);
  process.exitCode = 1;
}
