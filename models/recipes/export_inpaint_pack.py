#!/usr/bin/env python3
"""Turns a Stable-Diffusion inpainting checkpoint into a byteedit pack (pack.json + four ONNX models).

Inputs (one of):
  --checkpoint DIR_OR_REPO        a diffusers folder or hub repo id (e.g. a local copy of an SD inpainting model)
  --checkpoint FILE.safetensors   a single-file checkpoint (diffusers' from_single_file)
  --tiny-random                   no checkpoint: tiny randomly initialised modules with the real I/O
                                  (for testing this script and the core without a download)
Options:
  --lcm-lora REPO_OR_FILE         fuse an LCM-LoRA (e.g. latent-consistency/lcm-lora-sdv1-5) into the UNet
                                  and write a 4-step pack (scheduler lcm, guidance 1)
  --precision fp16|fp16-weights|fp32
        fp16          true half-precision graphs with float16 I/O. On a CUDA GPU the models are traced
                      in half precision (the usual route); without one, the fp32 export is converted
                      with onnxconverter-common (pip install onnxconverter-common).
        fp16-weights  weights stored as float16 and cast to float32 inside the graph: half the
                      download, float32 compute; runs anywhere and needs nothing beyond torch + onnx.
        fp32          plain float32 (the UNet is then > 2 GB and is written with external data).
  --out DIR  --name NAME  --opset N (default 14)

The pack uses the layout of diffusers' ONNX script, which byteedit's core detects at load time:
  text_encoder  input_ids int32 [batch, 77]                -> last_hidden_state [batch, 77, width]
  unet          sample [batch, 9, h, w], timestep int64 [1], encoder_hidden_states [batch, 77, width]
                                                           -> out_sample [batch, 4, h, w]
  vae_encoder   sample [batch, 3, H, W] in [-1, 1]         -> latent_sample [batch, 4, h, w] (the mean, unscaled)
  vae_decoder   latent_sample [batch, 4, h, w] (unscaled)  -> sample [batch, 3, H, W]
pack.json takes the scheduler's beta schedule and prediction type and the tokenizer's pad token from
the checkpoint itself.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


# ---------------------------------------------------------------------------------------------
# Wrappers: fix the I/O names and shapes of each component, whatever module sits inside.

class TextEncoderIO(torch.nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids):
        out = self.encoder(input_ids.long())
        return out[0] if isinstance(out, (tuple, list)) else getattr(out, "last_hidden_state", out)


class UnetIO(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        out = self.unet(sample, timestep, encoder_hidden_states, return_dict=False)
        return out[0] if isinstance(out, (tuple, list)) else out


class VaeEncoderIO(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        # The mean of the latent distribution: deterministic, and what inpainting conditioning wants.
        return self.vae.encode(sample, return_dict=False)[0].mean


class VaeDecoderIO(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


# ---------------------------------------------------------------------------------------------
# Tiny random modules with the same call signatures as diffusers' (for --tiny-random).

class TinyTextEncoder(torch.nn.Module):
    def __init__(self, vocab, width):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.pos = torch.nn.Parameter(torch.randn(1, 77, width) * 0.02)
        self.mix = torch.nn.Linear(width, width)

    def forward(self, ids):
        return (torch.tanh(self.mix(self.embed(ids) + self.pos[:, : ids.shape[1]])),)


class TinyUnet(torch.nn.Module):
    def __init__(self, in_ch, out_ch, width, hidden=8):
        super().__init__()
        self.conv_in = torch.nn.Conv2d(in_ch, hidden, 3, padding=1)
        self.ctx = torch.nn.Linear(width, hidden)
        self.conv_out = torch.nn.Conv2d(hidden, out_ch, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, return_dict=False):
        t = timestep.float().reshape(-1, 1, 1, 1) / 1000.0
        c = self.ctx(encoder_hidden_states).mean(dim=1)[:, :, None, None]
        h = torch.nn.functional.silu(self.conv_in(sample) + c + t)
        return (self.conv_out(h),)


class _Dist:
    def __init__(self, mean):
        self.mean = mean


class TinyVae(torch.nn.Module):
    def __init__(self, latent=4):
        super().__init__()
        self.enc = torch.nn.Conv2d(3, 2 * latent, 8, stride=8)
        self.dec = torch.nn.ConvTranspose2d(latent, 3, 8, stride=8)
        self.latent = latent

    def encode(self, x, return_dict=False):
        moments = self.enc(x)
        return (_Dist(moments[:, : self.latent]),)

    def decode(self, z, return_dict=False):
        return (torch.tanh(self.dec(z)),)


# ---------------------------------------------------------------------------------------------

def export(module, args, names_in, names_out, dynamic, path, opset):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=names_in, output_names=names_out,
                          dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True)


def weights_to_fp16(path, min_elements=16):
    """Stores float32 initializers as float16 and casts them back to float32 at load time.
    The graph's compute and I/O stay float32: only the file (and download) halves."""
    model = onnx.load(path)  # also loads external data, if torch wrote any
    g = model.graph
    casts = []
    kept = []
    for init in g.initializer:
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= min_elements:
            arr = numpy_helper.to_array(init).astype(np.float16)
            half = numpy_helper.from_array(arr, f"{init.name}__fp16")
            kept.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}__cast"))
        else:
            kept.append(init)
    del g.initializer[:]
    g.initializer.extend(kept)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    _save(model, path)


def true_fp16(path):
    try:
        from onnxconverter_common import float16
    except ImportError:
        sys.exit("--precision fp16 without a CUDA GPU needs onnxconverter-common: pip install onnxconverter-common "
                 "(or use --precision fp16-weights, which needs nothing more)")
    model = onnx.load(path)
    model = float16.convert_float_to_float16(model, keep_io_types=False, disable_shape_infer=True)
    _save(model, path)


def _save(model, path):
    for f in os.listdir(os.path.dirname(path)):
        if f != os.path.basename(path):
            os.remove(os.path.join(os.path.dirname(path), f))  # stale external-data files
    if model.ByteSize() > 2_000_000_000:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(path) + "_data")
    else:
        onnx.save_model(model, path)


def load_pipeline(checkpoint, lcm_lora, dtype, device):
    from diffusers import StableDiffusionInpaintPipeline  # pip install diffusers transformers safetensors
    if os.path.isfile(checkpoint):
        pipe = StableDiffusionInpaintPipeline.from_single_file(checkpoint, torch_dtype=torch.float32)
    else:
        pipe = StableDiffusionInpaintPipeline.from_pretrained(checkpoint, torch_dtype=torch.float32)
    if lcm_lora:
        pipe.load_lora_weights(lcm_lora)
        pipe.fuse_lora(lora_scale=1.0)
        pipe.unload_lora_weights()  # keep the fused weights, drop the LoRA layers before tracing
    return pipe.to(device, dtype)


def tokenizer_files(pipe, dest):
    os.makedirs(dest, exist_ok=True)
    if pipe is None:
        src = os.path.join(REPO, "models", "fixtures", "tiny-sd-diffusers", "tokenizer")
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(src, f), os.path.join(dest, f))
        return "<|endoftext|>"
    with tempfile.TemporaryDirectory() as tmp:
        pipe.tokenizer.save_pretrained(tmp)
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(tmp, f), os.path.join(dest, f))
    return str(pipe.tokenizer.pad_token)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint")
    src.add_argument("--tiny-random", action="store_true")
    ap.add_argument("--lcm-lora")
    ap.add_argument("--precision", choices=["fp16", "fp16-weights", "fp32"], default="fp16")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name")
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    torch.manual_seed(a.seed)
    cuda_half = a.precision == "fp16" and torch.cuda.is_available() and not a.tiny_random
    device, dtype = ("cuda", torch.float16) if cuda_half else ("cpu", torch.float32)
    out = os.path.abspath(a.out)
    if os.path.exists(os.path.join(out, "pack.json")):
        sys.exit(f"{out} already holds a pack; choose another --out or remove it")
    os.makedirs(out, exist_ok=True)

    if a.tiny_random:
        pipe = None
        vocab = json.load(open(os.path.join(REPO, "models", "fixtures", "tiny-sd-diffusers", "tokenizer", "vocab.json")))
        width, latent, native = 32, 4, 64
        text, unet, vae = TinyTextEncoder(max(vocab.values()) + 1, width), TinyUnet(2 * latent + 1, latent, width), TinyVae(latent)
        sched = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000, "prediction_type": "epsilon"}
        scaling = 0.18215
    else:
        pipe = load_pipeline(a.checkpoint, a.lcm_lora, dtype, device)
        text, unet, vae = pipe.text_encoder, pipe.unet, pipe.vae
        width = text.config.hidden_size
        latent = vae.config.latent_channels
        if unet.config.in_channels != 2 * latent + 1:
            sys.exit(f"the UNet has {unet.config.in_channels} input channels: this is not an inpainting checkpoint")
        native = unet.config.sample_size * 8
        sched = dict(pipe.scheduler.config)
        scaling = float(vae.config.scaling_factor)

    b, h = 1, native // 8
    ids = torch.zeros(b, 77, dtype=torch.int32, device=device)
    export(TextEncoderIO(text), (ids,), ["input_ids"], ["last_hidden_state"],
           {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}}, os.path.join(out, "text_encoder", "model.onnx"), a.opset)
    export(UnetIO(unet), (torch.randn(b, 2 * latent + 1, h, h, dtype=dtype, device=device), torch.tensor([999], dtype=torch.int64, device=device),
                          torch.randn(b, 77, width, dtype=dtype, device=device)),
           ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
           {"sample": {0: "batch", 2: "height", 3: "width"}, "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch", 2: "height", 3: "width"}},
           os.path.join(out, "unet", "model.onnx"), a.opset)
    export(VaeEncoderIO(vae), (torch.randn(b, 3, native, native, dtype=dtype, device=device),), ["sample"], ["latent_sample"],
           {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "height", 3: "width"}},
           os.path.join(out, "vae_encoder", "model.onnx"), a.opset)
    export(VaeDecoderIO(vae), (torch.randn(b, latent, h, h, dtype=dtype, device=device),), ["latent_sample"], ["sample"],
           {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "height", 3: "width"}},
           os.path.join(out, "vae_decoder", "model.onnx"), a.opset)

    for comp in ("text_encoder", "unet", "vae_encoder", "vae_decoder"):
        path = os.path.join(out, comp, "model.onnx")
        if a.precision == "fp16-weights":
            weights_to_fp16(path)
        elif a.precision == "fp16" and not cuda_half:
            true_fp16(path)
        onnx.checker.check_model(path)

    pad = tokenizer_files(pipe, os.path.join(out, "tokenizer"))
    lcm = bool(a.lcm_lora)
    name = a.name or os.path.basename(out.rstrip("/"))
    manifest = {
        "schema": "byteedit.pack/1",
        "name": name,
        "version": "1.0.0",
        "kind": "fixture" if a.tiny_random else "converted",
        "description": ("tiny random-weight pack written by models/recipes/export_inpaint_pack.py --tiny-random" if a.tiny_random
                        else f"{a.checkpoint}{' + ' + a.lcm_lora + ' (fused)' if lcm else ''}, exported by models/recipes/export_inpaint_pack.py ({a.precision})"),
        "license": "CC0-1.0 (random weights)" if a.tiny_random else "see the checkpoint's license",
        "components": {
            "tokenizer": {"type": "clip-bpe", "vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt", "maxLength": 77, "padToken": pad},
            "text_encoder": {"file": "text_encoder/model.onnx"},
            "unet": {"file": "unet/model.onnx"},
            "vae_encoder": {"file": "vae_encoder/model.onnx"},
            "vae_decoder": {"file": "vae_decoder/model.onnx"},
        },
        "latent": {"channels": latent, "scaleFactor": 8, "scalingFactor": scaling},
        "resolution": {"native": native, "multiple": 64 if not a.tiny_random else 8},
        "prediction": sched.get("prediction_type", "epsilon"),
        "noiseSchedule": {"betaSchedule": sched.get("beta_schedule", "scaled_linear"), "betaStart": float(sched.get("beta_start", 0.00085)),
                          "betaEnd": float(sched.get("beta_end", 0.012)), "trainSteps": int(sched.get("num_train_timesteps", 1000))},
        "defaults": {"scheduler": "lcm", "steps": 4, "guidance": 1.0} if lcm else {"scheduler": "dpmpp-2m", "steps": 20, "guidance": 7.5},
        "modes": ["edit", "erase", "outpaint"],
        "erase": {"prompt": "empty background, seamless continuation of the surroundings", "negativePrompt": "object, person, text, watermark"},
    }
    with open(os.path.join(out, "pack.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    sizes = {}
    for root, _, files in os.walk(out):
        for f in files:
            p = os.path.join(root, f)
            sizes[os.path.relpath(p, out)] = os.path.getsize(p)
    print(json.dumps({"pack": out, "precision": a.precision, "cudaHalf": cuda_half, "files": sizes}, indent=1))


if __name__ == "__main__":
    main()
