/**
 * The bridge's endpoints that are not the engine interface, as plain functions of a BridgeOptions:
 * health (finding the bridge and checking the token), the pack list and pack files (for hosts that
 * run the models themselves, like Figma's iframe engine), and recording which candidate a user
 * applied (docs/preferences.md). Third-party hosts use them the same way.
 */
import { SdkError } from '../protocol/errors';
import type { DeviceChoice, DeviceStatus, EditMode } from '../protocol/unions';
import { encodeGrayPng, encodePng } from '../image/codecs';
import type { PreferenceExample } from '../preferences/format';
import { encodeBase64 } from './base64';
import { START_BRIDGE_HELP } from './errors';
import { BridgeTransport, breathe, type BridgeOptions } from './transport';

/** GET /v1/health. Everything after `authenticated` comes only with the right token. */
export interface BridgeHealth {
  status: 'ok' | 'shutting_down';
  service: 'byteedit-bridge';
  version: string;
  apiVersion: number;
  authenticated: boolean;
  devices?: DeviceStatus[];
  deviceChoice?: DeviceChoice;
  modes?: EditMode[];
  packs?: string[];
  queue?: { active: number; max: number };
  uploads?: { active: number; max: number };
  limits?: { maxBodyBytes: number; maxPixels: number; bodyTimeoutMs: number };
  /** Whether this bridge records applied candidates (started with --record-preferences DIR). */
  preferences?: boolean;
}

/** One entry of GET /v1/packs; the first (`default: true`) is used when a request names none. */
export interface BridgePack {
  name: string;
  version?: string;
  kind?: string;
  description?: string;
  license?: string;
  modes?: string[];
  default: boolean;
  manifestUrl?: string;
  [more: string]: unknown;
}

/** What the preference endpoints answer. */
export interface PreferenceReply {
  /** Records written (0: see `reason`). */
  recorded: number;
  reason?: string;
  /** The preferences.jsonl they went to, on the bridge's machine. */
  file?: string;
}

const transportOf = (options: BridgeOptions | BridgeTransport): BridgeTransport => (options instanceof BridgeTransport ? options : new BridgeTransport(options));

/**
 * Is a byteedit bridge listening, and does it take this token? Sends the token when there is one;
 * `authenticated` says whether it was accepted. Rejects (network_unavailable) when nothing, or
 * something that is not a byteedit bridge, answers.
 */
export async function bridgeHealth(options: BridgeOptions | BridgeTransport): Promise<BridgeHealth> {
  const t = transportOf(options);
  const health = await t.json<Partial<BridgeHealth> | null>('/v1/health');
  if (!health || health.service !== 'byteedit-bridge') {
    throw new SdkError('network_unavailable', `something other than the byteedit bridge answers at ${t.baseUrl}; ${START_BRIDGE_HELP}, or correct the address`);
  }
  return { ...health, authenticated: health.authenticated === true } as BridgeHealth;
}

/** GET /v1/packs (needs the token: a quick way to check it). */
export async function listPacks(options: BridgeOptions | BridgeTransport): Promise<BridgePack[]> {
  return (await transportOf(options).json<{ packs: BridgePack[] }>('/v1/packs')).packs;
}

/** The URL under which a pack's files are served (`<url>/<path inside the pack>`; the token is needed). */
export function packFilesUrl(options: BridgeOptions | BridgeTransport, pack: string): string {
  return transportOf(options).url(`/v1/packs/${encodeURIComponent(pack)}/files`);
}

/** The size of a pack file, from a HEAD request. */
export async function packFileSize(options: BridgeOptions | BridgeTransport, pack: string, file: string): Promise<number> {
  const res = await transportOf(options).request(`/v1/packs/${encodeURIComponent(pack)}/files/${file}`, { method: 'HEAD' });
  return Number(res.headers.get('Content-Length') ?? 0);
}

/** A pack file's bytes. */
export async function fetchPackFile(options: BridgeOptions | BridgeTransport, pack: string, file: string): Promise<ArrayBuffer> {
  return (await transportOf(options).request(`/v1/packs/${encodeURIComponent(pack)}/files/${file}`)).arrayBuffer();
}

/**
 * POST /v1/jobs/{id}/choice: the user applied these candidates of a job that ran on this bridge;
 * the bridge records them against the others (when started with --record-preferences; otherwise
 * this rejects with preferences_off).
 */
export async function recordChoice(options: BridgeOptions | BridgeTransport, jobId: string, chosen: number[], host: string): Promise<PreferenceReply> {
  return transportOf(options).postJson<PreferenceReply>(`/v1/jobs/${encodeURIComponent(jobId)}/choice`, { chosen, host });
}

/**
 * POST /v1/preferences: a whole preference record for a job that did not run on the bridge (the
 * host ran it in its own engine and cannot write files), pictures sent as PNG.
 */
export async function uploadPreference(options: BridgeOptions | BridgeTransport, example: PreferenceExample): Promise<PreferenceReply> {
  const png = async (bytes: Uint8Array): Promise<string> => {
    await breathe();
    return encodeBase64(bytes);
  };
  const body = {
    host: example.host,
    mode: example.mode,
    prompt: example.prompt,
    pack: example.pack,
    image: await png(encodePng(example.image)),
    mask: await png(encodeGrayPng(example.mask.width, example.mask.height, example.mask.data)),
    chosen: await png(encodePng(example.chosen)),
    rejected: await Promise.all(example.rejected.map((r) => png(encodePng(r)))),
  };
  const reply = await transportOf(options).postJson<Partial<PreferenceReply>>('/v1/preferences', body);
  return { recorded: reply.recorded ?? 1, ...reply };
}
