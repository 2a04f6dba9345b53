/**
 * `byteedit serve`: starts the bridge and runs until SIGTERM/SIGINT, then drains (the running job
 * may finish, queued ones are cancelled) and resolves 0. The core CLI dispatches here.
 */
import { bridgeFilePath, configDir, ConfigDirError, inspectBridgeFile, prepareConfigDir } from './config-file';
import { DEVICE_NAMES, type DeviceName } from './core';
import { startServer, DEFAULTS, type ServerOptions } from './server';

const USAGE = `usage: byteedit serve [--port ${DEFAULTS.port}] [--pack DIR]... [--device auto|cpu|webgpu|cuda]
                      [--allow-origin ORIGIN]... [--host ADDRESS] [--allow-host NAME]... [--max-jobs N] [--max-pixels N] [--max-body BYTES] [--result-ttl SECS]
                      [--body-timeout SECS] [--max-uploads N]
                      [--record-preferences DIR]

Starts the local bridge for the GIMP, Photoshop and Figma plug-ins on http://127.0.0.1:PORT.
The port and a fresh token are written to $XDG_CONFIG_HOME/byteedit/bridge.json (mode 0600).
  --port N            TCP port (0 = any free port)
  --pack DIR          pack folder to serve (repeatable; the first is the default)
  --device NAME       inference device for the worker engine (default auto)
  --allow-origin O    extra CORS origin (Figma's "null" is always allowed)
  --host ADDRESS      bind another interface than 127.0.0.1 (exposes the bridge: avoid)
  --allow-host NAME   accept this Host header name too (with --host; loopback names always work)
  --max-jobs N        queued + running jobs before 429 (default ${DEFAULTS.maxActiveJobs})
  --max-pixels N      largest image accepted (default ${DEFAULTS.maxPixels})
  --max-body BYTES    largest request body (default ${DEFAULTS.maxBodyBytes})
  --result-ttl SECS   how long finished jobs and their results are kept (default ${DEFAULTS.resultTtlMs / 1000})
  --body-timeout SECS how long a request body may take to arrive before 408 (default ${DEFAULTS.bodyTimeoutMs / 1000})
  --max-uploads N     job bodies received at once before 503 (default ${DEFAULTS.maxUploads})
  --record-preferences DIR
                      keep which candidate you apply (prompt, crop, chosen and rejected results) in
                      DIR/preferences.jsonl for training; off by default, local only (docs/preferences.md)`;

export function parseServeArgs(argv: string[]): ServerOptions {
  const args = argv[0] === 'serve' ? argv.slice(1) : argv;
  const options: ServerOptions = { packs: [], allowOrigins: [] };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const [name, inline] = flag.startsWith('--') && flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--port':
        options.port = int(name, value(), 0);
        if (options.port > 65535) throw new Error('--port must be at most 65535');
        break;
      case '--host':
        options.host = value();
        break;
      case '--pack':
        options.packs!.push(value());
        break;
      case '--device': {
        const device = value();
        if (!(DEVICE_NAMES as readonly string[]).includes(device)) throw new Error(`--device must be one of ${DEVICE_NAMES.join(', ')}, got ${device}`);
        options.device = device as DeviceName;
        break;
      }
      case '--allow-origin':
        options.allowOrigins!.push(value());
        break;
      case '--allow-host':
        (options.allowHosts ??= []).push(value());
        break;
      case '--max-jobs':
        options.maxActiveJobs = int(name, value(), 1);
        break;
      case '--max-pixels':
        options.maxPixels = int(name, value(), 1);
        break;
      case '--result-ttl': {
        const v = Number(value());
        if (!(v > 0)) throw new Error('--result-ttl needs a positive number of seconds');
        options.resultTtlMs = v * 1000;
        break;
      }
      case '--body-timeout': {
        const v = Number(value());
        if (!(v > 0) || !Number.isFinite(v)) throw new Error('--body-timeout needs a positive number of seconds, e.g. --body-timeout 60');
        options.bodyTimeoutMs = v * 1000;
        break;
      }
      case '--max-uploads':
        options.maxUploads = int(name, value(), 1);
        break;
      case '--max-body':
        options.maxBodyBytes = int(name, value(), 1024);
        break;
      case '--record-preferences': {
        const dir = value();
        if (dir.trim() === '' || dir.startsWith('--')) throw new Error('--record-preferences needs the folder to keep the records in, e.g. --record-preferences ~/byteedit-preferences');
        options.recordPreferences = dir;
        break;
      }
      case '--help':
      case '-h':
        throw new HelpRequested();
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return options;
}

class HelpRequested extends Error {}

export async function main(argv: string[]): Promise<number> {
  let options: ServerOptions;
  try {
    options = parseServeArgs(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`byteedit serve: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const host = options.host ?? DEFAULTS.host;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    process.stderr.write(`byteedit serve: WARNING: binding ${host} makes the bridge reachable from other machines; anyone with the token can run jobs and read pack files\n`);
  }
  const log = (line: string): void => void process.stderr.write(`byteedit serve: ${line}\n`);
  const dir = configDir();
  const file = bridgeFilePath(dir);
  try {
    prepareConfigDir(dir);
  } catch (err) {
    process.stderr.write(`byteedit serve: ${err instanceof ConfigDirError ? err.message : `cannot use the config folder ${dir}: ${(err as Error).message}`}\n`);
    return 1;
  }
  // One bridge per user: a second would overwrite the first one's bridge.json and strand its plug-ins.
  const existing = await inspectBridgeFile(file);
  if (existing.state === 'running') {
    process.stderr.write(
      `byteedit serve: a bridge is already running on port ${existing.port} (pid ${existing.pid}, see ${file}); the plug-ins use that one. ` +
        `To restart it, stop it first (Ctrl+C in its terminal, or kill ${existing.pid})\n`,
    );
    return 1;
  }
  if (existing.state === 'stale') log(`replacing the stale ${file} left by a bridge that stopped (${existing.reason})`);
  let server;
  try {
    server = await startServer({ ...options, log });
  } catch (err) {
    process.stderr.write(`byteedit serve: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`byteedit bridge listening on ${server.url}\n`);
  process.stdout.write(`token and port written to ${server.bridgeFile} (readable only by you)\n`);
  if (server.packs.length > 0) process.stdout.write(`packs: ${server.packs.join(', ')}\n`);
  if (server.preferencesFile) process.stdout.write(`recording the candidates you apply in ${server.preferencesFile} (local only; stop the bridge and restart it without --record-preferences to turn this off)\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`${signal}: finishing the running job, cancelling queued ones\n`);
      server
        .close({ mode: 'drain' })
        .then(() => resolve(0))
        .catch((err: unknown) => {
          process.stderr.write(`byteedit serve: shutdown failed: ${String(err)}\n`);
          resolve(1);
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

// Run directly (node dist/cli.js serve …) as well as through the core CLI.
if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`byteedit serve: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
