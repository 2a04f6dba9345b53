/** The token flows of the panel: parsing bridge.json, picking it, and re-reading it after a bridge restart (FAKE uxp). */
import { isPanelError } from '../src/errors';
import { checkBridgeFile, FILE_TOKEN_KEY, parseBridgeFile, readTokenFile, rereadTokenFile, type KeyValueStore } from '../src/token-file';
import { fakeUxp } from './fake-photoshop';

function memoryStore(): KeyValueStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
}

const bridgeJson = (port: number, token: string): string => JSON.stringify({ port, token, pid: 1, url: `http://localhost:${port}`, version: '0.1.0' });

it('reads port and token, always talking to 127.0.0.1', () => {
  expect(parseBridgeFile(bridgeJson(7861, 'abc'))).toEqual({ url: 'http://127.0.0.1:7861', token: 'abc' });
});

it.each([
  ['not JSON', 'hello', /not JSON/],
  ['no token', JSON.stringify({ port: 7860 }), /no token/],
])('refuses a file with %s, saying which file to pick', (_what, text, message) => {
  let err: unknown;
  try {
    parseBridgeFile(text);
  } catch (e) {
    err = e;
  }
  expect(isPanelError(err, 'no_token')).toBe(true);
  expect((err as Error).message).toMatch(message);
});

it('remembers the picked file and re-reads the new token after the bridge restarts', async () => {
  const uxp = fakeUxp(bridgeJson(7860, 'first'));
  const store = memoryStore();
  expect(await readTokenFile(uxp, store)).toEqual({ url: 'http://127.0.0.1:7860', token: 'first' });
  expect(store.map.get(FILE_TOKEN_KEY)).toBe('token:bridge.json');
  uxp.files.set('bridge.json', bridgeJson(7860, 'second'));
  expect(await rereadTokenFile(uxp, store)).toEqual({ url: 'http://127.0.0.1:7860', token: 'second' });
  expect(uxp.picks).toBe(1);
});

it('forgets a remembered file that is gone, and returns null when the picker is cancelled', async () => {
  const uxp = fakeUxp(bridgeJson(7860, 't'));
  const store = memoryStore();
  await readTokenFile(uxp, store);
  uxp.files.delete('bridge.json');
  expect(await rereadTokenFile(uxp, store)).toBeNull();
  expect(store.map.has(FILE_TOKEN_KEY)).toBe(false);
  expect(await rereadTokenFile(uxp, store)).toBeNull();
  expect(await readTokenFile(fakeUxp(null), store)).toBeNull();
});

it('says the bridge is not running when the picked bridge.json names a port nothing answers on (left by a killed bridge)', async () => {
  const file = parseBridgeFile(bridgeJson(7861, 'abc'));
  const refused = (): Promise<never> => Promise.reject(new TypeError('fetch failed: connect ECONNREFUSED 127.0.0.1:7861'));
  let err: unknown;
  try {
    await checkBridgeFile(file, refused);
  } catch (e) {
    err = e;
  }
  expect(isPanelError(err, 'bridge_unreachable')).toBe(true);
  expect((err as Error).message).toMatch(/^The bridge is not running: start it with `npx byteedit serve`/);
  expect((err as Error).message).toContain('http://127.0.0.1:7861');
  const answered = (): Promise<never> => Promise.resolve({ status: 200, ok: true } as never);
  await expect(checkBridgeFile(file, answered)).resolves.toEqual(file);
});
