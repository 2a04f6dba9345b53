/**
 * How to feed a learned erase network, read from its session's metadata: which input is the image
 * and which the mask, their element types (uint8 or float), and whether the spatial size is fixed
 * (LaMa's common export: 512 x 512) or free (MI-GAN's pipeline). What metadata cannot say (value
 * range, mask polarity) comes from pack.json's `io` (manifest.ts).
 */
import { SdkError } from '../util/errors';
import type { IoInfo, ModelSession } from '../runtime/types';

export type PixelType = 'uint8' | 'float32' | 'float16';

export interface InpaintLayout {
  image: string;
  imageType: PixelType;
  mask: string;
  maskType: PixelType;
  output: string;
  outputType: PixelType;
  /** The input's static spatial size, or null when it takes any size. */
  fixed: { width: number; height: number } | null;
}

function pixelType(io: IoInfo): PixelType {
  if (io.type === 'uint8' || io.type === 'float32' || io.type === 'float16') return io.type;
  throw new SdkError('model_layout_unsupported', `inpaint: ${io.name} has type ${io.type}; expected uint8, float32 or float16`);
}

const channels = (io: IoInfo): number | string | undefined => io.shape[1];

function pick(list: readonly IoInfo[], names: string[], ch: number, what: string): IoInfo {
  const named = list.find((io) => names.includes(io.name));
  if (named) return named;
  const byChannels = list.filter((io) => channels(io) === ch);
  if (byChannels.length === 1) return byChannels[0]!;
  throw new SdkError('model_layout_unsupported', `inpaint: no ${what} (named ${names.map((n) => `"${n}"`).join(' or ')}, or the one input with ${ch} channel${ch > 1 ? 's' : ''}); it has ${list.map((io) => `"${io.name}" [${io.shape.join(', ')}]`).join(', ')}`);
}

export function detectInpaint(s: ModelSession): InpaintLayout {
  if (s.inputs.length !== 2) throw new SdkError('model_layout_unsupported', `inpaint: expected two inputs (image, mask), the model has ${s.inputs.length}`);
  const image = pick(s.inputs, ['image', 'img', 'images', 'input'], 3, 'image input');
  const mask = pick(s.inputs.filter((io) => io !== image), ['mask', 'masks'], 1, 'mask input');
  const output = pick(s.outputs, ['output', 'result', 'inpainted', 'image'], 3, 'image output');
  for (const io of [image, mask, output]) {
    if (io.shape.length !== 4) throw new SdkError('model_layout_unsupported', `inpaint: ${io.name} has rank ${io.shape.length}; expected NCHW (rank 4)`);
  }
  const [h, w] = [image.shape[2], image.shape[3]];
  const fixed = typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0 ? { width: w, height: h } : null;
  return { image: image.name, imageType: pixelType(image), mask: mask.name, maskType: pixelType(mask), output: output.name, outputType: pixelType(output), fixed };
}
