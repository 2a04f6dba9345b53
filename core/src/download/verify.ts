/**
 * Is this folder a pack that will work? Every pinned file's size and sha256; pack.json through the
 * core's own loader; every ONNX model opened (CPU) and read through the core's layout detection,
 * plus the ranks and sizes that must agree across models and with pack.json; and any per-file
 * signature the catalog declares. Problems are collected, not thrown one at a time.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { SdkError } from '../util/errors';
import { isLoadedInpaintPack, loadAnyPack } from '../packs/load';
import { openInpainter } from '../engine/inpaint-job';
import { openPack } from '../engine/models';
import type { IoInfo, ModelSession, Runtime } from '../runtime/types';
import { FolderPackSource } from '../runtime/node-pack-source';
import { NodeOrtRuntime } from '../runtime/ort-node';
import type { CatalogEntry, IoSignature } from './catalog';
import type { PinnedFile } from './cache';
import { sha256File } from './transfer';

export interface VerifyOptions {
  /** Re-hash every pinned file (default true; the puller skips it for files it just hashed). */
  hash?: boolean;
  /** Open ONNX models and check their signatures (default true). */
  onnx?: boolean;
  runtime?: Runtime;
  entry?: CatalogEntry;
  signal?: AbortSignal;
}

export interface VerifyReport {
  folder: string;
  ok: boolean;
  problems: string[];
  filesChecked: number;
  modelsOpened: number;
}

let defaultRuntime: Runtime | null = null;
function nodeRuntime(): Runtime {
  defaultRuntime ??= new NodeOrtRuntime();
  return defaultRuntime;
}

function rankOf(io: IoInfo | undefined): number | null {
  return io ? io.shape.length : null;
}

function staticDim(io: IoInfo | undefined, i: number): number | null {
  const d = io?.shape[i];
  return typeof d === 'number' && d > 0 ? d : null;
}

export function checkSignature(session: Pick<ModelSession, 'inputs' | 'outputs'>, sig: { inputs?: IoSignature[]; outputs?: IoSignature[] }, what: string): string[] {
  const problems: string[] = [];
  const side = (list: readonly IoInfo[], want: IoSignature[] | undefined, dir: string): void => {
    for (const w of want ?? []) {
      const got = list.find((io) => io.name === w.name);
      if (!got) {
        problems.push(`${what}: no ${dir} "${w.name}" (has ${list.map((io) => `"${io.name}"`).join(', ')})`);
        continue;
      }
      if (w.type && got.type !== w.type) problems.push(`${what}: ${dir} "${w.name}" is ${got.type}, expected ${w.type}`);
      if (w.rank !== undefined && got.shape.length !== w.rank) problems.push(`${what}: ${dir} "${w.name}" has rank ${got.shape.length}, expected ${w.rank}`);
    }
  };
  side(session.inputs, sig.inputs, 'input');
  side(session.outputs, sig.outputs, 'output');
  return problems;
}

async function checkPinned(folder: string, pins: readonly PinnedFile[], hash: boolean, signal: AbortSignal | undefined, problems: string[]): Promise<number> {
  let n = 0;
  for (const pin of pins) {
    const p = join(folder, pin.path);
    let size: number;
    try {
      size = (await fs.stat(p)).size;
    } catch {
      problems.push(`${pin.path} is missing`);
      continue;
    }
    n++;
    if (size !== pin.size) {
      problems.push(`${pin.path} is ${size} bytes, expected ${pin.size}`);
      continue;
    }
    if (hash) {
      const sha = await sha256File(p, signal);
      if (sha !== pin.sha256) problems.push(`${pin.path}: sha256 ${sha} does not match the pinned ${pin.sha256} (${pin.pinnedFrom}); the file is corrupt: rm the pack and pull it again`);
    }
  }
  return n;
}

/** Layout detection through the core, then the cross-model agreements it does not check itself. */
async function checkPackModels(folder: string, runtime: Runtime, problems: string[]): Promise<number> {
  const any = await loadAnyPack(new FolderPackSource(folder));
  if (isLoadedInpaintPack(any)) {
    // Layout detection is the check: two NCHW inputs (image, mask), one image output, known dtypes.
    const net = await openInpainter(any, runtime, 'cpu');
    await net.release();
    return 1;
  }
  const pack = any;
  const open = await openPack(pack, runtime, 'cpu');
  try {
    const m = pack.manifest;
    const ch = m.latent.channels;
    const io = (s: ModelSession, name: string, out = false): IoInfo | undefined => (out ? s.outputs : s.inputs).find((x) => x.name === name);
    const unetSample = io(open.unet.session, open.unet.layout.sample);
    const unetCtx = io(open.unet.session, open.unet.layout.context);
    const unetOut = io(open.unet.session, open.unet.layout.output, true);
    const textIn = io(open.textEncoder.session, open.textEncoder.layout.input);
    const textOut = io(open.textEncoder.session, open.textEncoder.layout.output, true);
    const encIn = io(open.vaeEncoder.session, open.vaeEncoder.layout.input);
    const encOut = io(open.vaeEncoder.session, open.vaeEncoder.layout.output, true);
    const decIn = io(open.vaeDecoder.session, open.vaeDecoder.layout.input);
    const decOut = io(open.vaeDecoder.session, open.vaeDecoder.layout.output, true);
    const rank = (what: string, x: IoInfo | undefined, want: number): void => {
      const r = rankOf(x);
      if (r !== null && r !== want) problems.push(`${what} has rank ${r}, expected ${want}`);
    };
    rank('unet sample', unetSample, 4);
    rank('unet encoder_hidden_states', unetCtx, 3);
    rank('unet output', unetOut, 4);
    rank('text_encoder input_ids', textIn, 2);
    rank('text_encoder output', textOut, 3);
    rank('vae_encoder input', encIn, 4);
    rank('vae_encoder output', encOut, 4);
    rank('vae_decoder input', decIn, 4);
    rank('vae_decoder output', decOut, 4);
    const outCh = staticDim(unetOut, 1);
    if (outCh !== null && outCh !== ch) problems.push(`unet output has ${outCh} channels but pack.json latent.channels is ${ch}`);
    const decCh = staticDim(decIn, 1);
    if (decCh !== null && decCh !== ch) problems.push(`vae_decoder input has ${decCh} channels but pack.json latent.channels is ${ch}`);
    const encCh = staticDim(encOut, 1);
    if (encCh !== null && encCh !== ch && encCh !== 2 * ch) problems.push(`vae_encoder output has ${encCh} channels; expected ${ch} or ${2 * ch} (mean and logvar) for latent.channels ${ch}`);
    for (const [what, x] of [['vae_encoder input', encIn], ['vae_decoder output', decOut]] as const) {
      const c = staticDim(x, 1);
      if (c !== null && c !== 3) problems.push(`${what} has ${c} channels, expected 3 (RGB)`);
    }
    const hidden = staticDim(textOut, 2);
    const ctxDim = staticDim(unetCtx, 2);
    if (hidden !== null && ctxDim !== null && hidden !== ctxDim) problems.push(`text_encoder output width ${hidden} differs from the unet's encoder_hidden_states width ${ctxDim}: the models come from different checkpoints`);
    const tokens = staticDim(textIn, 1);
    if (tokens !== null && tokens !== m.components.tokenizer.maxLength) problems.push(`text_encoder takes ${tokens} tokens but pack.json tokenizer.maxLength is ${m.components.tokenizer.maxLength}`);
  } finally {
    await open.release();
  }
  let opened = 4;
  for (const spec of Object.values(pack.manifest.rewards ?? {})) {
    if (spec && typeof spec === 'object' && 'file' in spec) {
      const s = await runtime.createSession({ path: join(folder, spec.file) }, 'cpu');
      await s.release();
      opened++;
    }
  }
  return opened;
}

export async function verifyFolder(folder: string, pins: readonly PinnedFile[] | null, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: string[] = [];
  const filesChecked = pins ? await checkPinned(folder, pins, opts.hash !== false, opts.signal, problems) : 0;
  let modelsOpened = 0;
  const hasManifest = await fs.stat(join(folder, 'pack.json')).then(() => true, () => false);
  if (opts.entry?.kind === 'inpainting' && !hasManifest) problems.push('pack.json is missing');
  if (opts.onnx !== false && problems.length === 0) {
    const runtime = opts.runtime ?? nodeRuntime();
    if (hasManifest) {
      try {
        modelsOpened += await checkPackModels(folder, runtime, problems);
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    }
    const checked = new Set<string>();
    for (const f of opts.entry?.files ?? []) {
      const needsOpen = f.signature || (!hasManifest && f.path.endsWith('.onnx'));
      if (!needsOpen) continue;
      checked.add(f.path);
      try {
        const s = await runtime.createSession({ path: join(folder, f.path) }, 'cpu');
        try {
          if (f.signature) problems.push(...checkSignature(s, f.signature, f.path));
        } finally {
          await s.release();
        }
        modelsOpened++;
      } catch (err) {
        problems.push(`${f.path}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  return { folder, ok: problems.length === 0, problems, filesChecked, modelsOpened };
}

export function verifyError(name: string, report: VerifyReport): SdkError {
  const shown = report.problems.slice(0, 4).join('; ');
  const more = report.problems.length > 4 ? ` (and ${report.problems.length - 4} more)` : '';
  return new SdkError('pack_invalid', `pack ${name} failed verification: ${shown}${more}`);
}
