/**
 * Picks where a job runs. In the iframe: core's Web Worker (inlined into ui.html as a Blob URL)
 * with onnxruntime-web — WebGPU when navigator.gpu gives an adapter, else single-threaded WASM
 * (the iframe's origin is "null", so it is never crossOriginIsolated). The pack and
 * onnxruntime-web's .wasm come from the bridge over loopback. Otherwise the whole job runs on the
 * bridge, through core's HTTP engine. Both are EngineApi: the UI follows job handles either way.
 */
import type { Settings } from '../shared/messages';
import { createBrowserWorkerEngine, fetchPackFile, HttpEngineClient, listPacks, packFilesUrl, packFileSize, type BridgeOptions, type EngineApi } from './core';
import { packFiles, tooBigForIframe } from './pack-size';

declare const __WORKER_SOURCE__: string;

/** The onnxruntime-web 1.30 binary the bundled worker loads (JSEP build: WebGPU and WASM). */
export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.jsep.wasm';

export interface EngineHandle {
  engine: EngineApi;
  where: 'iframe' | 'bridge';
  /** Why `auto` chose the bridge, when it did. */
  note?: string;
}

let workerUrl: string | null = null;
function makeWorker(): Worker {
  workerUrl ??= URL.createObjectURL(new Blob([__WORKER_SOURCE__], { type: 'text/javascript' }));
  // Classic, not module: module workers from Blob URLs fail to load in an opaque-origin iframe.
  return new Worker(workerUrl, { name: 'byteedit-engine' });
}

async function openIframeEngine(s: Settings, bridge: BridgeOptions): Promise<EngineApi> {
  const packs = await listPacks(bridge);
  const pack = packs.find((p) => p.default && p.name !== s.runtimePack) ?? packs.find((p) => p.name !== s.runtimePack);
  if (!pack) throw new Error('the bridge serves no model pack');
  const manifest = JSON.parse(new TextDecoder().decode(await fetchPackFile(bridge, pack.name, 'pack.json'))) as unknown;
  const sizes = await Promise.all(packFiles(manifest).map(async (file) => ({ file, bytes: await packFileSize(bridge, pack.name, file) })));
  const tooBig = tooBigForIframe(sizes);
  if (tooBig) throw new Error(tooBig);
  // Fetched here (with the token) and handed to the worker as a Blob URL: ORT's own fetch cannot send headers.
  const wasm = await fetchPackFile(bridge, s.runtimePack, ORT_WASM_FILE);
  const wasmUrl = URL.createObjectURL(new Blob([wasm], { type: 'application/wasm' }));
  return createBrowserWorkerEngine(makeWorker, {
    packUrl: packFilesUrl(bridge, pack.name),
    wasmPaths: { wasm: wasmUrl },
    device: s.device,
    headers: bridge.token ? { Authorization: `Bearer ${bridge.token}` } : {},
  });
}

export async function openEngine(s: Settings): Promise<EngineHandle> {
  const bridge: BridgeOptions = { baseUrl: s.bridgeUrl, token: s.token };
  // Closing the plug-in window closes its event streams: the bridge then cancels the job.
  const onBridge = (): EngineApi => new HttpEngineClient({ ...bridge, cancelOnDisconnect: true });
  if (s.engine === 'bridge') return { engine: onBridge(), where: 'bridge' };
  try {
    return { engine: await openIframeEngine(s, bridge), where: 'iframe' };
  } catch (err) {
    if (s.engine === 'iframe') throw err;
    return { engine: onBridge(), where: 'bridge', note: `running on the bridge: ${err instanceof Error ? err.message : String(err)}` };
  }
}
