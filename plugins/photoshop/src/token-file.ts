/**
 * Reads the bridge's bridge.json ({port, token, url}) from a file the user picks. The manifest asks
 * for localFileSystem "request" only: the panel sees just the file chosen in the dialog, never
 * the rest of the disk. Pasting the token into the panel works as well. Where UXP offers
 * persistent tokens the panel remembers the picked file and re-reads it on Reconnect, since the
 * bridge writes a fresh token each time it starts.
 */
import type { FetchLike } from './bridge-client';
import { PanelError } from './errors';
import type { UxpFile, UxpSubset } from './ps-api';

export interface TokenFile {
  url: string;
  token: string;
}

export function parseBridgeFile(text: string): TokenFile {
  let parsed: { port?: unknown; token?: unknown; url?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new PanelError('no_token', 'That file is not the bridge\'s bridge.json (not JSON). Pick bridge.json from the folder "byteedit serve" printed.');
  }
  if (typeof parsed.token !== 'string' || parsed.token === '') {
    throw new PanelError('no_token', 'That file has no token; pick the bridge.json that "byteedit serve" wrote.');
  }
  const port = typeof parsed.port === 'number' ? parsed.port : 7860;
  // Always talk to the loopback address the manifest allows, whatever name the file uses.
  return { token: parsed.token, url: `http://127.0.0.1:${port}` };
}

/** The message for a bridge.json whose port answers nothing: a bridge that was killed or crashed left it. */
export function staleBridgeFileError(file: TokenFile): PanelError {
  return new PanelError(
    'bridge_unreachable',
    `The bridge is not running: start it with \`npx byteedit serve\`, then press Reconnect. (The bridge.json you picked names ${file.url}, where nothing answers: a bridge that stopped without cleaning up left it.)`,
  );
}

/**
 * Is the bridge that wrote this bridge.json still there? UXP cannot look at processes, so the
 * check is the recorded port: a refused connection means the file is stale. An answer of any
 * kind passes; BridgeClient.health() then tells a bridge from something else on that port.
 */
export async function checkBridgeFile(file: TokenFile, fetchImpl: FetchLike = (globalThis as { fetch?: FetchLike }).fetch as FetchLike): Promise<TokenFile> {
  try {
    await fetchImpl(`${file.url}/v1/health`);
  } catch {
    throw staleBridgeFileError(file);
  }
  return file;
}

/** Where the panel keeps the persistent token of the picked bridge.json (not the bridge token). */
export const FILE_TOKEN_KEY = 'byteedit.bridgeFileToken';

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Asks the user for bridge.json and reads it; remembers the file when UXP offers persistent tokens. */
export async function readTokenFile(uxp: UxpSubset, store?: KeyValueStore): Promise<TokenFile | null> {
  const fs = uxp.storage.localFileSystem;
  const picked = await fs.getFileForOpening({ types: ['json'] });
  const file = Array.isArray(picked) ? picked[0] : picked;
  if (!file || typeof (file as { read?: unknown }).read !== 'function') return null;
  const entry = file as UxpFile;
  const result = parseBridgeFile(await readText(entry));
  if (store && fs.createPersistentToken) {
    try {
      store.setItem(FILE_TOKEN_KEY, await fs.createPersistentToken(entry));
    } catch {
      // Without a persistent token the user picks the file again next time: no harm.
    }
  }
  return result;
}

/**
 * Re-reads the remembered bridge.json (the bridge writes a new token on every start). Null when
 * nothing is remembered or the file is gone or unreadable; a stale reference is forgotten.
 */
export async function rereadTokenFile(uxp: UxpSubset, store: KeyValueStore): Promise<TokenFile | null> {
  const fs = uxp.storage.localFileSystem;
  const token = store.getItem(FILE_TOKEN_KEY);
  if (!token || !fs.getEntryForPersistentToken) return null;
  try {
    return parseBridgeFile(await readText(await fs.getEntryForPersistentToken(token)));
  } catch {
    store.removeItem(FILE_TOKEN_KEY);
    return null;
  }
}

async function readText(entry: UxpFile): Promise<string> {
  const text = await entry.read();
  return typeof text === 'string' ? text : new TextDecoder().decode(text);
}
