/**
 * The per-user bridge file `{port, token, pid, url}` that local plug-ins read. Lives in the user's
 * config dir (XDG_CONFIG_HOME or ~/.config on Linux and macOS, %APPDATA% on Windows; env
 * BYTEEDIT_CONFIG_DIR overrides), directory 0700, file 0600.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface BridgeFile {
  port: number;
  token: string;
  pid: number;
  url: string;
  version: string;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BYTEEDIT_CONFIG_DIR) return env.BYTEEDIT_CONFIG_DIR;
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'byteedit');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'byteedit');
}

export function bridgeFilePath(dir = configDir()): string {
  return join(dir, 'bridge.json');
}

export function writeBridgeFile(path: string, dir: string, content: BridgeFile): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Write then rename so a reader never sees half a file; the temp file is private from the start.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
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
