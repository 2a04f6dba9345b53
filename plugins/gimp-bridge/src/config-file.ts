/**
 * The per-user bridge file `{port, token, pid, url}` that local plug-ins read. Lives in the user's
 * config dir (XDG_CONFIG_HOME or ~/.config on Linux and macOS, %APPDATA% on Windows; env
 * BYTEEDIT_CONFIG_DIR overrides), directory 0700, file 0600.
 *
 * The file holds the token, so the directory must be one only this user can change: a directory
 * others can write lets them swap names under the bridge (docs/security.md, "bridge.json").
 */
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface BridgeFile {
  port: number;
  token: string;
  pid: number;
  url: string;
  version: string;
}

/** The config dir is not one the bridge can keep its token in; the message says what to do. */
export class ConfigDirError extends Error {}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BYTEEDIT_CONFIG_DIR) return env.BYTEEDIT_CONFIG_DIR;
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'byteedit');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'byteedit');
}

export function bridgeFilePath(dir = configDir()): string {
  return join(dir, 'bridge.json');
}

/**
 * Creates the config dir (0700) or checks the one that is there: it must be a directory owned by
 * this user that no group or other user can write. An existing dir is never chmod-ed for the user:
 * a loose mode may be on purpose, and the fix is theirs to choose.
 */
export function prepareConfigDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // On Windows, modes and uids are not what guards %APPDATA%; its ACLs are.
  if (process.platform === 'win32') return;
  const st = statSync(dir);
  if (!st.isDirectory()) throw new ConfigDirError(`${dir} is not a folder; byteedit keeps bridge.json there. Remove it, or set BYTEEDIT_CONFIG_DIR to a folder of your own`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new ConfigDirError(
      `${dir} belongs to another user (uid ${st.uid}, you are ${uid}), who could read or replace the bridge token kept there. Remove it and start again (the bridge creates it), ` +
        `or set BYTEEDIT_CONFIG_DIR to a folder of your own`,
    );
  }
  if ((st.mode & 0o022) !== 0) {
    throw new ConfigDirError(
      `${dir} can be written by other users (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}), who could replace bridge.json or its token. ` +
        `Run \`chmod 700 ${dir}\` and start again`,
    );
  }
}

/**
 * Writes bridge.json so a reader never sees half a file and nothing in the dir can redirect the
 * write: a random temp name created with O_EXCL|O_NOFOLLOW (mode 0600 from the start), fsync, then
 * rename, which replaces a link at the final name rather than writing through it.
 */
export function writeBridgeFile(path: string, dir: string, content: BridgeFile): void {
  prepareConfigDir(dir);
  const tmp = join(dir, `.bridge.json.${randomBytes(12).toString('hex')}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
  const fd = openSync(tmp, flags, 0o600);
  try {
    try {
      writeSync(fd, `${JSON.stringify(content, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Renamed already or never written: nothing left behind.
    }
    throw err;
  }
}

export function readBridgeFile(path: string): BridgeFile | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BridgeFile;
  } catch {
    return null;
  }
}

/** Removes the file only if it still describes this process (a newer bridge may have replaced it). */
export function removeBridgeFile(path: string, pid = process.pid): void {
  const current = readBridgeFile(path);
  if (current && current.pid === pid) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone: nothing to do.
    }
  }
}

/** What an existing bridge.json says at start-up: nothing there, a bridge that answers, or a leftover. */
export type ExistingBridge = { state: 'none' } | { state: 'running'; port: number; pid: number } | { state: 'stale'; reason: string };

/** True when a process with this id exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** GET /v1/health on loopback: does a byteedit bridge answer on this port (within timeoutMs)? */
export function bridgeAnswers(port: number, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/health', headers: { Host: `127.0.0.1:${port}` }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 64 * 1024) req.destroy();
        else chunks.push(c);
      });
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { service?: unknown; name?: unknown };
          resolve(body.service === 'byteedit-bridge' || body.name === 'byteedit-bridge');
        } catch {
          resolve(false);
        }
      });
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Checks the bridge.json a previous bridge left: live when its pid exists and its port answers
 * /v1/health as byteedit-bridge; anything else (SIGKILL, a crash, a reused pid) is stale.
 */
export async function inspectBridgeFile(path: string, answers: (port: number) => Promise<boolean> = bridgeAnswers): Promise<ExistingBridge> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { state: 'none' };
  }
  let info: Partial<BridgeFile>;
  try {
    info = JSON.parse(text) as Partial<BridgeFile>;
  } catch {
    return { state: 'stale', reason: 'it is not JSON' };
  }
  const pid = typeof info.pid === 'number' ? info.pid : NaN;
  const port = typeof info.port === 'number' ? info.port : NaN;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return { state: 'stale', reason: 'it names no port' };
  if (!processAlive(pid)) return { state: 'stale', reason: `process ${String(info.pid)} that wrote it is gone` };
  if (!(await answers(port))) return { state: 'stale', reason: `no bridge answers on port ${port}` };
  return { state: 'running', port, pid };
}
