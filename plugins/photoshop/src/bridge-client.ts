/**
 * The panel's side of the bridge. Jobs go through core's HTTP engine (HttpEngineClient from
 * @byteedit/core/http, over UXP's fetch: SSE read from the response body, polling where the body
 * cannot be read, raw results so the panel never decodes PNG); this file keeps the panel's default
 * address and the check that Reconnect runs.
 */
import { bridgeHealth, listPacks, type BridgeHealth, type BridgeOptions, type FetchLike } from '@byteedit/core/http';
import { PanelError } from './errors';

export type { BridgeOptions, FetchLike };

export const DEFAULT_BRIDGE_URL = 'http://127.0.0.1:7860';

export const START_HELP = `Start the bridge in a terminal with "npx byteedit serve" (it listens on ${DEFAULT_BRIDGE_URL}), then press Reconnect.`;

/**
 * Is a byteedit bridge there, and does it take the token? Health first (answers without a token
 * too), then the pack list, which needs the token.
 */
export async function checkBridge(bridge: BridgeOptions): Promise<BridgeHealth> {
  const health = await bridgeHealth(bridge);
  if (!bridge.token.trim()) throw new PanelError('no_token', 'Connected, but no token yet: paste it from bridge.json or press "Read token file…".');
  await listPacks(bridge);
  return health;
}
