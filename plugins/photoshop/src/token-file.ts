/**
 * Reads the bridge's bridge.json ({port, token, url}) from a file the user picks. The manifest asks
 * for localFileSystem "request" only: the panel sees just the file chosen in the dialog, never
 * the rest of the disk. Pasting the token into the panel works as well.
 */
import { PanelError } from './errors';
import type { UxpSubset } from './ps-api';

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

export async function readTokenFile(uxp: UxpSubset): Promise<TokenFile | null> {
  const picked = await uxp.storage.localFileSystem.getFileForOpening({ types: ['json'] });
  const file = Array.isArray(picked) ? picked[0] : picked;
  if (!file || typeof (file as { read?: unknown }).read !== 'function') return null;
  const text = await (file as { read(o?: object): Promise<string | ArrayBuffer> }).read();
  return parseBridgeFile(typeof text === 'string' ? text : new TextDecoder().decode(text));
}
