/**
 * Export-layout detection. SD inpainting ONNX exports differ by exporter (diffusers' script vs
 * optimum): output names, latent parameters vs samples, scalar vs batched timesteps and their
 * dtype, float16 I/O. We read each session's input/output metadata once at load time and record
 * how to feed it, instead of hard-coding one exporter.
 */
import { SdkError } from '../util/errors';
import type { IoInfo, ModelSession, TensorType } from '../runtime/types';

export interface TextEncoderLayout {
  input: string;
  inputType: 'int32' | 'int64';
  output: string;
}

export interface UnetLayout {
  sample: string;
  timestep: string;
  /** How the timestep tensor is shaped: [] scalar, [1], or [batch]. */
  timestepShape: 'scalar' | 'one' | 'batch';
  timestepType: TensorType;
  context: string;
  output: string;
  /** 9: inpainting UNet (latents, mask, masked-image latents); 4: plain UNet, run by latent blending. */
  inChannels: number;
  /** float32 or float16 for sample/context/output. */
  ioType: 'float32' | 'float16';
}

export interface VaeEncoderLayout {
  input: string;
  output: string;
  /** `latent_parameters` (mean || logvar; we take the mean) or `latent_sample`. */
  parameters: boolean;
  ioType: 'float32' | 'float16';
}

export interface VaeDecoderLayout {
  input: string;
  output: string;
  ioType: 'float32' | 'float16';
}

function find(list: readonly IoInfo[], names: string[], what: string, component: string): IoInfo {
  for (const n of names) {
    const hit = list.find((io) => io.name === n);
    if (hit) return hit;
  }
  throw new SdkError(
    'model_layout_unsupported',
    `${component}: no ${what} named ${names.map((n) => `"${n}"`).join(' or ')} (has ${list.map((io) => `"${io.name}"`).join(', ')}); is this an SD-style ONNX export?`,
  );
}

function floatType(io: IoInfo, component: string): 'float32' | 'float16' {
  if (io.type === 'float32' || io.type === 'float16') return io.type;
  throw new SdkError('model_layout_unsupported', `${component}: ${io.name} has type ${io.type}; expected float32 or float16`);
}

export function detectTextEncoder(s: ModelSession): TextEncoderLayout {
  const input = find(s.inputs, ['input_ids'], 'input', 'text_encoder');
  if (input.type !== 'int32' && input.type !== 'int64') {
    throw new SdkError('model_layout_unsupported', `text_encoder: input_ids has type ${input.type}; expected int32 or int64`);
  }
  const output = find(s.outputs, ['last_hidden_state', 'text_embeds', 'hidden_states'], 'output', 'text_encoder');
  return { input: input.name, inputType: input.type, output: output.name };
}

export function detectUnet(s: ModelSession, latentChannels: number): UnetLayout {
  const sample = find(s.inputs, ['sample'], 'input', 'unet');
  const timestep = find(s.inputs, ['timestep', 't'], 'input', 'unet');
  const context = find(s.inputs, ['encoder_hidden_states'], 'input', 'unet');
  const output = find(s.outputs, ['out_sample', 'noise_pred', 'sample'], 'output', 'unet');
  const ch = sample.shape[1];
  if (typeof ch !== 'number') throw new SdkError('model_layout_unsupported', 'unet: the channel dimension of "sample" must be static');
  if (ch !== 2 * latentChannels + 1 && ch !== latentChannels) {
    throw new SdkError('model_layout_unsupported', `unet: "sample" has ${ch} channels; expected ${2 * latentChannels + 1} (inpainting) or ${latentChannels} (plain, latent blending)`);
  }
  if (!['int64', 'int32', 'float32', 'float16'].includes(timestep.type)) {
    throw new SdkError('model_layout_unsupported', `unet: timestep has type ${timestep.type}`);
  }
  const timestepShape = timestep.shape.length === 0 ? 'scalar' : timestep.shape[0] === 1 ? 'one' : 'batch';
  return {
    sample: sample.name,
    timestep: timestep.name,
    timestepShape,
    timestepType: timestep.type as TensorType,
    context: context.name,
    output: output.name,
    inChannels: ch,
    ioType: floatType(sample, 'unet'),
  };
}

export function detectVaeEncoder(s: ModelSession, latentChannels: number): VaeEncoderLayout {
  const input = find(s.inputs, ['sample', 'pixel_values'], 'input', 'vae_encoder');
  const output = find(s.outputs, ['latent_sample', 'latent_parameters', 'latent_dist', 'latents'], 'output', 'vae_encoder');
  const ch = output.shape[1];
  const parameters = output.name === 'latent_parameters' || output.name === 'latent_dist' || ch === 2 * latentChannels;
  return { input: input.name, output: output.name, parameters, ioType: floatType(input, 'vae_encoder') };
}

export function detectVaeDecoder(s: ModelSession): VaeDecoderLayout {
  const input = find(s.inputs, ['latent_sample', 'latents', 'z'], 'input', 'vae_decoder');
  const output = find(s.outputs, ['sample', 'images', 'image'], 'output', 'vae_decoder');
  return { input: input.name, output: output.name, ioType: floatType(input, 'vae_decoder') };
}
