/** The phase profile (bench --profile) counts what the edit does: one UNet call per step, and parts within their wholes. */
import { Engine } from '../src/engine/engine';
import { runEdit } from '../src/engine/run';
import { NodeOrtRuntime } from '../src/runtime/ort-node';
import { folderPackSource } from '../src/runtime/node-pack-source';
import { PhaseTotals } from '../src/util/profile';
import { boxMask, DIFFUSERS, gradientImage } from './helpers';

describe('the phase profile', () => {
  it('sees every model call and phase of an edit, each part inside its whole', async () => {
    const totals = new PhaseTotals();
    const engine = new Engine({ runtime: new NodeOrtRuntime(), packs: async () => folderPackSource(DIFFUSERS), device: 'cpu', profile: totals });
    try {
      const steps = 5;
      const r = await runEdit(engine, { image: gradientImage(96, 96), mask: boxMask(96, 96, 30, 30, 30, 30), mode: 'edit', prompt: 'a red star', steps, seed: 4, candidates: 2, guidance: 5 });
      const k = r.candidates.length;
      expect(k).toBe(2);
      // The fixture UNet takes batch 2: guidance is one call per step.
      expect(totals.get('model unet').calls).toBe(steps * k);
      expect(totals.get('step (UNet calls + host work)').calls).toBe(steps * k);
      expect(totals.get('model text_encoder').calls).toBe(2); // prompt and negative prompt, once per job
      expect(totals.get('model vae_encoder').calls).toBe(1);
      // Previews are on by default and this pack has no latent-to-RGB matrix: each step but the
      // last decodes its x0 estimate with the VAE, then the final decode.
      expect(totals.get('model vae_decoder').calls).toBe(k * (steps - 1) + k);
      expect(totals.get('plan').calls).toBe(1);
      expect(totals.get('prepare: canvas, masks, crop, resize to the model').calls).toBe(1);
      expect(totals.get('blend (color-match)').calls).toBe(k);
      expect(totals.get('reward coherence_analytic').calls).toBe(k);
      expect(totals.get('model unet').ms).toBeLessThanOrEqual(totals.get('step (UNet calls + host work)').ms);
      expect(totals.get('reward coherence_analytic').ms).toBeLessThanOrEqual(totals.get('rewards (all)').ms);
    } finally {
      await engine.dispose();
    }
  });

  it('counts one VAE decode per candidate when previews are off', async () => {
    const totals = new PhaseTotals();
    const engine = new Engine({ runtime: new NodeOrtRuntime(), packs: async () => folderPackSource(DIFFUSERS), device: 'cpu', profile: totals });
    try {
      await runEdit(engine, { image: gradientImage(64, 64), mask: boxMask(64, 64, 16, 16, 24, 24), mode: 'edit', prompt: 'x', steps: 3, seed: 1, candidates: 2, previewEvery: 0 });
      expect(totals.get('model vae_decoder').calls).toBe(2);
    } finally {
      await engine.dispose();
    }
  });
});
