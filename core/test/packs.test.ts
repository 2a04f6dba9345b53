import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateManifest } from '../src/packs/manifest';
import { loadPack } from '../src/packs/load';
import { WordTokenizer } from '../src/packs/tokenizers';
import { FolderPackSource, folderPackSource } from '../src/runtime/node-pack-source';
import { NodeOrtRuntime } from '../src/runtime/ort-node';
import { openPack } from '../src/engine/models';
import { DIFFUSERS, LEGACY, OPTIMUM } from './helpers';

const manifest = (): Record<string, unknown> => JSON.parse(readFileSync(join(DIFFUSERS, 'pack.json'), 'utf8'));

describe('pack.json validation', () => {
  it('accepts the fixture packs', () => {
    for (const p of [DIFFUSERS, OPTIMUM, LEGACY]) expect(() => validateManifest(JSON.parse(readFileSync(join(p, 'pack.json'), 'utf8')))).not.toThrow();
  });

  it('names the field path of every problem', () => {
    const bad = manifest();
    (bad.latent as Record<string, unknown>).channels = 0;
    (bad.components as Record<string, Record<string, unknown>>).unet!.file = '../outside.onnx';
    bad.modes = ['paint'];
    for (const path of ['$.latent.channels', '$.components.unet.file', '$.modes']) expect(() => validateManifest(bad)).toThrow(path);
    expect(() => validateManifest(bad)).toThrow(expect.objectContaining({ code: 'pack_invalid' }));
  });

  it('refuses files that are not byteedit packs', () => {
    expect(() => validateManifest({ name: 'x' })).toThrow(/\$\.schema/);
  });
});

describe('tokenizers', () => {
  it('CLIP BPE frames ids with start/end and pads to maxLength', async () => {
    const pack = await loadPack(new FolderPackSource(DIFFUSERS));
    const vocab = JSON.parse(readFileSync(join(DIFFUSERS, 'tokenizer', 'vocab.json'), 'utf8')) as Record<string, number>;
    const ids = pack.tokenizer.encode('A red star');
    expect(ids.length).toBe(77);
    expect(ids[0]).toBe(vocab['<|startoftext|>']);
    const byId = new Map(Object.entries(vocab).map(([tok, id]) => [id, tok]));
    const end = ids.indexOf(vocab['<|endoftext|>']!);
    // The BPE pieces between start and end spell the lowercased words, each ending in </w>.
    expect(Array.from(ids.subarray(1, end), (id) => byId.get(id)).join('')).toBe('a</w>red</w>star</w>');
    expect(end).toBeLessThan(8);
    expect(ids[76]).toBe(vocab['<|endoftext|>']);
  });

  it('word-level: lowercase, split on non-alphanumerics, unknown -> <unk>, truncate to fit <eos>', () => {
    const t = new WordTokenizer({ '<pad>': 0, '<bos>': 1, '<eos>': 2, '<unk>': 3, red: 4, star: 5 }, 6);
    expect(Array.from(t.encode('A RED, star!'))).toEqual([1, 3, 4, 5, 2, 0]);
    expect(Array.from(t.encode(''))).toEqual([1, 2, 0, 0, 0, 0]);
    expect(Array.from(t.encode('red red red red red red'))).toEqual([1, 4, 4, 4, 4, 2]);
  });
});

describe('loading packs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'byteedit-pack-'));
    cpSync(DIFFUSERS, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a folder without pack.json as pack_not_found', async () => {
    await expect(loadPack(new FolderPackSource(join(dir, 'tokenizer')))).rejects.toMatchObject({ code: 'pack_not_found' });
    await expect(folderPackSource(join(dir, 'nope'))).rejects.toMatchObject({ code: 'pack_not_found' });
  });

  it('reports a missing ONNX file by name', async () => {
    rmSync(join(dir, 'unet', 'model.onnx'));
    await expect(loadPack(new FolderPackSource(dir))).rejects.toMatchObject({ code: 'pack_file_missing', message: expect.stringContaining('unet/model.onnx') });
  });

  it('reports broken JSON as pack_invalid', async () => {
    writeFileSync(join(dir, 'pack.json'), '{ "schema": ');
    await expect(loadPack(new FolderPackSource(dir))).rejects.toMatchObject({ code: 'pack_invalid' });
  });

  it('reports a corrupt ONNX file as pack_invalid when it is opened', async () => {
    writeFileSync(join(dir, 'unet', 'model.onnx'), 'not onnx');
    const pack = await loadPack(new FolderPackSource(dir));
    await expect(openPack(pack, new NodeOrtRuntime(), 'cpu')).rejects.toMatchObject({ code: 'pack_invalid' });
  });
});

describe('export layout detection (fixture packs on onnxruntime-node)', () => {
  const runtime = new NodeOrtRuntime();
  it.each([
    ['diffusers', DIFFUSERS, { vaeOutput: 'latent_sample', parameters: false, timestep: 'int64', shape: 'one', channels: 9, io: 'float32', ids: 'int32' }],
    ['optimum', OPTIMUM, { vaeOutput: 'latent_parameters', parameters: true, timestep: 'float32', shape: 'scalar', channels: 9, io: 'float32', ids: 'int64' }],
    ['legacy 4-channel fp16', LEGACY, { vaeOutput: 'latent_sample', parameters: false, timestep: 'float16', shape: 'batch', channels: 4, io: 'float16', ids: 'int32' }],
  ])('reads the %s layout from session metadata', async (_name, folder, want) => {
    const open = await openPack(await loadPack(new FolderPackSource(folder)), runtime, 'cpu');
    try {
      expect(open.vaeEncoder.layout).toMatchObject({ output: want.vaeOutput, parameters: want.parameters });
      expect(open.unet.layout).toMatchObject({ timestepType: want.timestep, timestepShape: want.shape, inChannels: want.channels, ioType: want.io });
      expect(open.textEncoder.layout.inputType).toBe(want.ids);
      expect(open.unet.batched).toBe(true);
    } finally {
      await open.release();
    }
  });

  it('lists every device it tried when the requested one is unavailable', async () => {
    const pack = await loadPack(new FolderPackSource(DIFFUSERS));
    const devices = await runtime.devices();
    const cuda = devices.find((d) => d.name === 'cuda')!;
    if (cuda.available) return; // a machine with CUDA libraries: nothing to refuse
    await expect(openPack(pack, runtime, 'cuda')).rejects.toMatchObject({ code: 'device_unavailable', message: expect.stringContaining('cuda') });
  });
});
