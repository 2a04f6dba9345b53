#!/usr/bin/env node
// Loads every ONNX model of a pack with onnxruntime-node (the runtime the core uses) and runs it once
// on zeros at the pack's native resolution. Usage: node models/eval/check-pack.cjs PACK_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function t(type, dims) {
  const n = dims.reduce((a, b) => a * b, 1);
  return new ort.Tensor(type, type === 'int64' ? new BigInt64Array(n) : new Float32Array(n), dims);
}

(async () => {
  const dir = process.argv[2];
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'pack.json'), 'utf8'));
  const s = m.resolution.native, h = s / m.latent.scaleFactor, c = m.latent.channels, L = m.components.tokenizer.maxLength;
  const te = await ort.InferenceSession.create(path.join(dir, m.components.text_encoder.file));
  const ids = t('int64', [2, L]);
  const hs = (await te.run({ input_ids: ids })).last_hidden_state;
  const runs = [
    [m.components.vae_encoder.file, { sample: t('float32', [1, 3, s, s]) }],
    [m.components.vae_decoder.file, { latent_sample: t('float32', [1, c, h, h]) }],
    [m.components.unet.file, { sample: t('float32', [2, 2 * c + 1, h, h]), timestep: t('int64', [2]), encoder_hidden_states: hs }],
  ];
  const r = m.rewards || {};
  if (r.image_encoder) runs.push([r.image_encoder.file, { pixel_values: t('float32', [2, 3, r.image_encoder.resolution, r.image_encoder.resolution]) }]);
  if (r.text_encoder) runs.push([r.text_encoder.file, { input_ids: ids }]);
  if (r.coherence) runs.push([r.coherence.file, { image: t('float32', [1, 3, r.coherence.resolution, r.coherence.resolution]), mask: t('float32', [1, 1, r.coherence.resolution, r.coherence.resolution]) }]);
  const out = [`text_encoder ${hs.dims}`];
  let emb;
  for (const [file, feeds] of runs) {
    const sess = await ort.InferenceSession.create(path.join(dir, file));
    const res = await sess.run(feeds);
    const k = Object.keys(res)[0];
    if (k === 'image_embeds') emb = res[k];
    let ms = 0;
    if (file === m.components.unet.file) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 10; i++) await sess.run(feeds);
      ms = Number(process.hrtime.bigint() - t0) / 1e7;
    }
    out.push(`${file} ${k} ${res[k].dims}${ms ? ` (${ms.toFixed(1)} ms per batch-2 call)` : ''}`);
  }
  if (r.aesthetic && emb) {
    const sess = await ort.InferenceSession.create(path.join(dir, r.aesthetic.file));
    const res = await sess.run({ image_embeds: emb });
    out.push(`${r.aesthetic.file} score ${res.score.dims}`);
  }
  console.log('onnxruntime-node ok: ' + out.join('; '));
})().catch((e) => {
  console.error(String(e && e.stack || e));
  process.exit(1);
});
