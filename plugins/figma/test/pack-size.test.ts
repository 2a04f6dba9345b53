// The rule that sends big packs to the bridge instead of the plug-in window.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IFRAME_MAX_PACK_BYTES, packFiles, tooBigForIframe } from '../src/ui/pack-size';

describe('pack size for the plug-in window', () => {
  it('lists every model file of a pack.json, components and rewards', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'models', 'packs', 'byteedit-small', 'pack.json'), 'utf8')) as unknown;
    expect(packFiles(manifest).sort()).toEqual(
      ['rewards/aesthetic.onnx', 'rewards/coherence.onnx', 'rewards/image_encoder.onnx', 'rewards/text_encoder.onnx', 'text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx', 'vae_encoder/model.onnx'].sort(),
    );
  });

  it('lets small packs run in the window and sends big ones to the bridge, saying why', () => {
    expect(tooBigForIframe([{ file: 'unet/model.onnx', bytes: 3_000_000 }])).toBeNull();
    expect(tooBigForIframe([{ file: 'unet/model.onnx', bytes: 3.4e9 }])).toBe('unet/model.onnx is 3242 MiB, more than one browser buffer holds');
    expect(tooBigForIframe([{ file: 'a', bytes: IFRAME_MAX_PACK_BYTES / 2 + 1 }, { file: 'b', bytes: IFRAME_MAX_PACK_BYTES / 2 }])).toBe('the pack is 1536 MiB, more than the plug-in window can hold (1536 MiB)');
  });
});
