/**
 * A pack opened on a device: its four sessions with their detected layouts. Opened once and
 * cached by the engine (per pack location and device), released on dispose.
 */
import type { LoadedPack } from '../packs/load';
import { detectTextEncoder, detectUnet, detectVaeDecoder, detectVaeEncoder, type TextEncoderLayout, type UnetLayout, type VaeDecoderLayout, type VaeEncoderLayout } from '../packs/layout';
import type { DeviceFallback, DeviceName, ModelSession, Runtime } from '../runtime/types';
import { openPackRewards } from '../rewards/onnx-rewards';
import type { RewardModel } from '../rewards/types';

export interface OpenPack {
  pack: LoadedPack;
  device: string;
  /** Devices the UNet was not opened on, and why (failed known-answer check or model load). */
  fallbacks: readonly DeviceFallback[];
  textEncoder: { session: ModelSession; layout: TextEncoderLayout };
  unet: { session: ModelSession; layout: UnetLayout; batched: boolean };
  vaeEncoder: { session: ModelSession; layout: VaeEncoderLayout };
  vaeDecoder: { session: ModelSession; layout: VaeDecoderLayout };
  /** The pack's own reward models (empty when it declares none). */
  rewards: RewardModel[];
  release(): Promise<void>;
}

export async function openPack(pack: LoadedPack, runtime: Runtime, device: DeviceName): Promise<OpenPack> {
  const c = pack.manifest.components;
  const open = async (file: string): Promise<ModelSession> => runtime.createSession(await pack.source.modelSource(file), device);
  // The UNet decides the device (it is the heavy one); the others follow it, so one job never
  // spreads across devices.
  const unet = await open(c.unet.file);
  const follow = unet.device as DeviceName;
  const openOn = async (file: string): Promise<ModelSession> => runtime.createSession(await pack.source.modelSource(file), follow);
  const [text, enc, dec] = await Promise.all([openOn(c.text_encoder.file), openOn(c.vae_encoder.file), openOn(c.vae_decoder.file)]);
  const sessions = [unet, text, enc, dec];
  try {
    const channels = pack.manifest.latent.channels;
    const unetLayout = detectUnet(unet, channels);
    const batchDim = unet.inputs.find((i) => i.name === unetLayout.sample)?.shape[0];
    const rewards = await openPackRewards(pack, runtime, follow);
    return {
      pack,
      device: unet.device,
      fallbacks: unet.fallbacks,
      textEncoder: { session: text, layout: detectTextEncoder(text) },
      unet: { session: unet, layout: unetLayout, batched: batchDim !== 1 },
      vaeEncoder: { session: enc, layout: detectVaeEncoder(enc, channels) },
      vaeDecoder: { session: dec, layout: detectVaeDecoder(dec) },
      rewards,
      async release() {
        await Promise.all([...sessions.map((s) => s.release()), ...rewards.map((r) => r.release?.())]);
      },
    };
  } catch (err) {
    await Promise.all(sessions.map((s) => s.release()));
    throw err;
  }
}
