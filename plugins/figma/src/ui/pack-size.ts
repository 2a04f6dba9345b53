/**
 * Whether a pack fits in the plug-in window. onnxruntime-web holds each model in one ArrayBuffer
 * (about 2 GB at most) and all of them in a WASM heap of 4 GB at most; leave room for activations.
 */
export const IFRAME_MAX_FILE_BYTES = 1.8e9;
export const IFRAME_MAX_PACK_BYTES = 1.5 * 2 ** 30;

/** Every `file` named in a pack.json (components and rewards), relative to the pack folder. */
export function packFiles(manifest: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'file' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(manifest);
  return out;
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

/** Null when the files fit; otherwise why the job should run on the bridge. */
export function tooBigForIframe(files: { file: string; bytes: number }[]): string | null {
  const big = files.find((f) => f.bytes > IFRAME_MAX_FILE_BYTES);
  if (big) return `${big.file} is ${mb(big.bytes)}, more than one browser buffer holds`;
  const total = files.reduce((s, f) => s + f.bytes, 0);
  if (total > IFRAME_MAX_PACK_BYTES) return `the pack is ${mb(total)}, more than the plug-in window can hold (${mb(IFRAME_MAX_PACK_BYTES)})`;
  return null;
}
