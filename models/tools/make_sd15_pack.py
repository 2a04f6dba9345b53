#!/usr/bin/python3
"""Writes a pack with the shapes of Stable Diffusion 1.5 inpainting and seeded RANDOM weights: the
benchmark workload of issue #10 (no download, no diffusers package). It is not a model: its
outputs are structured noise. pack.json says so (`kind: fixture`, the schema's value for random
weights) and build_info.json records how it was made.

The PyTorch modules below follow diffusers' module structure for SD 1.5:
  UNet       conv_in 9 -> 320; blocks 320/640/1280/1280, 2 ResNet layers per down block, 3 per up
             block; transformer blocks (GroupNorm, proj_in, self-attn, cross-attn to the 768-wide
             text context, GEGLU feed-forward, proj_out; 8 heads) in the first three down blocks,
             the mid block and the last three up blocks; sinusoidal timestep (320) -> MLP -> 1280
  text       CLIP ViT-L/14's text tower: vocab 49408, 77 positions, width 768, 12 layers, 12 heads,
             causal mask, quick-GELU MLP 3072, final LayerNorm; outputs last_hidden_state and
             pooler_output (the end-of-text token's state)
  VAE        SD's AutoencoderKL: 128/256/512/512, 2 ResNet layers per encoder block (3 per decoder
             block), mid block with single-head attention, 4 latent channels (quant convs), the
             latents scaled by 0.18215 (in pack.json: the core applies it)
`--width-div N` divides every width (UNet, text, VAE) by N and keeps the depth and topology, for a
tiny CI variant; `--width-div 8` gives a ~20 MB UNet with the same graph as the full one.

Weights: numpy's legacy RandomState(seed) (its stream is stable across numpy versions; torch's
initializers are not), uniform with std 1/sqrt(fan_in) for convolutions and linear layers (residual
output layers x0.5), std 0.02 embeddings, unit norms. This keeps activations O(1) through the
network and through 20+ sampler steps (the CI test checks it). The same seed gives the same
weights on every host, which is how models/bench/torch_reference.py rebuilds them.

Layout: diffusers' ONNX export (models/fixtures/tiny-sd-diffusers has the same names and dtypes):
  text_encoder  input_ids int32 [batch, sequence] -> last_hidden_state, pooler_output
  unet          sample [batch, 9, h, w], timestep int64 [1], encoder_hidden_states
                [batch, sequence, 768] -> out_sample [batch, 4, h, w]
  vae_encoder   sample [batch, 3, H, W] -> latent_sample [batch, 4, H/8, W/8] (the mean)
  vae_decoder   latent_sample -> sample
A model over `--external-above` bytes (default 1.8 GB; the full fp32 UNet is 3.4 GB) is written as
model.onnx + model.onnx_data (ONNX external data, one file), which onnxruntime reads from the same
folder. `--fp16` converts weights and float I/O to float16 (the sinusoidal timestep features stay
float32 up to the first linear layer, as in diffusers' fp16 UNet); for GPU rows.

The tokenizer is SYNTHETIC: CLIP's 512 byte symbols plus ~120 merges learned on a toy corpus, with
<|startoftext|>/<|endoftext|> at CLIP's ids 49406/49407, in CLIP's vocab.json/merges.txt formats.

  /usr/bin/python3 models/tools/make_sd15_pack.py --out /tmp/sd15-random [--fp16] [--width-div 8]
      [--seed 0] [--native 512] [--reference DIR --reference-size 128]

`--reference DIR` also writes PyTorch outputs of each component on seeded inputs (raw float32 +
reference.json), so that the ONNX files can be checked against the modules (test/sd15-pack.test.ts).
Needs torch (1.13 or 2.x) and onnx; with torch 2.x the TorchScript exporter is used (dynamo=False).
"""
import argparse
import inspect
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17
SCALING = 0.18215
# CLIP's special-token ids (openai/clip-vit-large-patch14).
BOS_ID, EOS_ID = 49406, 49407

# Attention kernel: False = explicit softmax(QK^T)V (what is exported); the PyTorch reference turns
# on scaled_dot_product_attention where it exists (what diffusers uses on torch 2.x).
ATTENTION = {"sdpa": False}


class Config:
    def __init__(self, width_div=1):
        d = width_div
        self.width_div = d
        self.unet_channels = [c // d for c in (320, 640, 1280, 1280)]
        self.unet_layers = 2
        self.unet_heads = 8
        self.in_channels = 9
        self.latent_channels = 4
        self.text_width = 768 // d
        self.text_layers = 12
        self.text_heads = 12
        self.vocab = 49408
        self.positions = 77
        self.vae_channels = [c // d for c in (128, 256, 512, 512)]
        if d < 1 or 320 % d or 768 % d or 128 % d or self.text_width % self.text_heads or any(c % self.unet_heads for c in self.unet_channels):
            raise SystemExit(f"--width-div {d} must divide 320, 768 and 128 and keep widths divisible by the head counts (try 1, 2, 4 or 8)")

    @property
    def time_dim(self):
        return 4 * self.unet_channels[0]


def groups(c):
    """GroupNorm groups: SD's 32, or fewer for the narrow CI variant."""
    return math.gcd(32, c)


def gn(c, eps):
    return nn.GroupNorm(groups(c), c, eps=eps)


def attend(q, k, v, heads, mask=None):
    b = q.shape[0]
    c = q.shape[-1]
    d = c // heads
    q = q.reshape(b, -1, heads, d).transpose(1, 2)
    k = k.reshape(b, -1, heads, d).transpose(1, 2)
    v = v.reshape(b, -1, heads, d).transpose(1, 2)
    if ATTENTION["sdpa"] and hasattr(F, "scaled_dot_product_attention"):
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    else:
        w = torch.matmul(q * (d ** -0.5), k.transpose(-1, -2))
        if mask is not None:
            w = w + mask
        o = torch.matmul(w.softmax(dim=-1), v)
    return o.transpose(1, 2).reshape(b, -1, c)


class Attention(nn.Module):
    def __init__(self, dim, heads, ctx_dim=None, qkv_bias=False):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=qkv_bias)
        self.to_k = nn.Linear(ctx_dim or dim, dim, bias=qkv_bias)
        self.to_v = nn.Linear(ctx_dim or dim, dim, bias=qkv_bias)
        self.to_out = nn.Linear(dim, dim)
        self.to_out.residual_out = True

    def forward(self, x, ctx=None, mask=None):
        ctx = x if ctx is None else ctx
        return self.to_out(attend(self.to_q(x), self.to_k(ctx), self.to_v(ctx), self.heads, mask))


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout, temb_dim, eps):
        super().__init__()
        self.norm1 = gn(cin, eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_dim, cout) if temb_dim else None
        self.norm2 = gn(cout, eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv2.residual_out = True
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if temb is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads, ctx_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, ctx_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff_proj = nn.Linear(dim, dim * 8)  # GEGLU: value and gate, 4 x dim each
        self.ff_out = nn.Linear(dim * 4, dim)
        self.ff_out.residual_out = True

    def forward(self, x, ctx):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), ctx)
        a, g = self.ff_proj(self.norm3(x)).chunk(2, dim=-1)
        return x + self.ff_out(a * F.gelu(g))


class Transformer2D(nn.Module):
    def __init__(self, dim, heads, ctx_dim):
        super().__init__()
        self.dim = dim
        self.norm = gn(dim, 1e-6)
        self.proj_in = nn.Conv2d(dim, dim, 1)
        self.block = TransformerBlock(dim, heads, ctx_dim)
        self.proj_out = nn.Conv2d(dim, dim, 1)
        self.proj_out.residual_out = True

    def forward(self, x, ctx):
        b, _, h, w = x.shape
        r = x
        x = self.proj_in(self.norm(x))
        x = x.permute(0, 2, 3, 1).reshape(b, -1, self.dim)
        x = self.block(x, ctx)
        x = x.reshape(b, h, w, self.dim).permute(0, 3, 1, 2)
        return self.proj_out(x) + r


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def timestep_features(t, dim):
    """diffusers' get_timestep_embedding(flip_sin_to_cos=True, downscale_freq_shift=0), in float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch = cfg.unet_channels
        L, heads, ctx = cfg.unet_layers, cfg.unet_heads, cfg.text_width
        tdim = cfg.time_dim
        self.c0 = ch[0]
        self.conv_in = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        self.time_linear_1 = nn.Linear(ch[0], tdim)
        self.time_linear_2 = nn.Linear(tdim, tdim)
        self.down = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            blk = nn.Module()
            blk.resnets = nn.ModuleList([ResnetBlock(prev if j == 0 else c, c, tdim, 1e-5) for j in range(L)])
            blk.attentions = nn.ModuleList([Transformer2D(c, heads, ctx) for _ in range(L)] if i < len(ch) - 1 else [])
            blk.downsample = nn.Conv2d(c, c, 3, stride=2, padding=1) if i < len(ch) - 1 else None
            self.down.append(blk)
            prev = c
        self.mid_res1 = ResnetBlock(ch[-1], ch[-1], tdim, 1e-5)
        self.mid_attn = Transformer2D(ch[-1], heads, ctx)
        self.mid_res2 = ResnetBlock(ch[-1], ch[-1], tdim, 1e-5)
        rev = list(reversed(ch))
        self.up = nn.ModuleList()
        prev_out = ch[-1]
        for i, c in enumerate(rev):
            skip_in = rev[min(i + 1, len(ch) - 1)]
            blk = nn.Module()
            blk.resnets = nn.ModuleList([ResnetBlock((prev_out if j == 0 else c) + (skip_in if j == L else c), c, tdim, 1e-5) for j in range(L + 1)])
            blk.attentions = nn.ModuleList([Transformer2D(c, heads, ctx) for _ in range(L + 1)] if i > 0 else [])
            blk.upsample = Upsample(c) if i < len(ch) - 1 else None
            self.up.append(blk)
            prev_out = c
        self.norm_out = gn(ch[0], 1e-5)
        self.conv_out = nn.Conv2d(ch[0], cfg.latent_channels, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        ctx = encoder_hidden_states
        t = timestep.reshape(-1).expand(sample.shape[0])
        temb = self.time_linear_2(F.silu(self.time_linear_1(timestep_features(t, self.c0).to(sample.dtype))))
        h = self.conv_in(sample)
        skips = [h]
        for blk in self.down:
            for j, res in enumerate(blk.resnets):
                h = res(h, temb)
                if len(blk.attentions):
                    h = blk.attentions[j](h, ctx)
                skips.append(h)
            if blk.downsample is not None:
                h = blk.downsample(h)
                skips.append(h)
        h = self.mid_res2(self.mid_attn(self.mid_res1(h, temb), ctx), temb)
        for blk in self.up:
            for j, res in enumerate(blk.resnets):
                h = res(torch.cat([h, skips.pop()], dim=1), temb)
                if len(blk.attentions):
                    h = blk.attentions[j](h, ctx)
            if blk.upsample is not None:
                h = blk.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class ClipLayer(nn.Module):
    def __init__(self, w, heads):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(w)
        self.self_attn = Attention(w, heads, qkv_bias=True)
        self.layer_norm2 = nn.LayerNorm(w)
        self.fc1 = nn.Linear(w, 4 * w)
        self.fc2 = nn.Linear(4 * w, w)
        self.fc2.residual_out = True

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask=mask)
        h = self.fc1(self.layer_norm2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))  # quick GELU


class TextEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg.text_width
        self.token_embedding = nn.Embedding(cfg.vocab, w)
        self.position_embedding = nn.Embedding(cfg.positions, w)
        self.layers = nn.ModuleList([ClipLayer(w, cfg.text_heads) for _ in range(cfg.text_layers)])
        self.final_layer_norm = nn.LayerNorm(w)
        self.register_buffer("causal", torch.full((cfg.positions, cfg.positions), float("-inf")).triu(1), persistent=False)

    def forward(self, input_ids):
        ids = input_ids.long()
        n = ids.shape[1]
        x = self.token_embedding(ids) + self.position_embedding.weight[:n][None]
        mask = self.causal[:n, :n][None, None]
        for layer in self.layers:
            x = layer(x, mask)
        x = self.final_layer_norm(x)
        pooled = x[torch.arange(x.shape[0]), ids.argmax(dim=-1)]
        return x, pooled


class VaeMid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.res1 = ResnetBlock(c, c, None, 1e-6)
        self.norm = gn(c, 1e-6)
        self.attn = Attention(c, 1, qkv_bias=True)
        self.res2 = ResnetBlock(c, c, None, 1e-6)
        self.c = c

    def forward(self, x):
        x = self.res1(x)
        b, _, h, w = x.shape
        a = self.norm(x).reshape(b, self.c, -1).transpose(1, 2)
        a = self.attn(a).transpose(1, 2).reshape(b, self.c, h, w)
        return self.res2(x + a)


class VaeEncoder(nn.Module):
    """Encoder + quant_conv; returns the mean of the latent distribution (unscaled)."""

    def __init__(self, cfg):
        super().__init__()
        ch = cfg.vae_channels
        self.latent = cfg.latent_channels
        self.conv_in = nn.Conv2d(3, ch[0], 3, padding=1)
        self.down = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            blk = nn.Module()
            blk.resnets = nn.ModuleList([ResnetBlock(prev if j == 0 else c, c, None, 1e-6) for j in range(2)])
            blk.downsample = nn.Conv2d(c, c, 3, stride=2) if i < len(ch) - 1 else None
            self.down.append(blk)
            prev = c
        self.mid = VaeMid(ch[-1])
        self.norm_out = gn(ch[-1], 1e-6)
        self.conv_out = nn.Conv2d(ch[-1], 2 * cfg.latent_channels, 3, padding=1)
        self.quant_conv = nn.Conv2d(2 * cfg.latent_channels, 2 * cfg.latent_channels, 1)

    def forward(self, sample):
        h = self.conv_in(sample)
        for blk in self.down:
            for res in blk.resnets:
                h = res(h)
            if blk.downsample is not None:
                h = blk.downsample(F.pad(h, (0, 1, 0, 1)))
        h = self.conv_out(F.silu(self.norm_out(self.mid(h))))
        return self.quant_conv(h)[:, : self.latent]


class VaeDecoder(nn.Module):
    """post_quant_conv + decoder: unscaled latents -> RGB in about [-1, 1]."""

    def __init__(self, cfg):
        super().__init__()
        ch = list(reversed(cfg.vae_channels))
        self.post_quant_conv = nn.Conv2d(cfg.latent_channels, cfg.latent_channels, 1)
        self.conv_in = nn.Conv2d(cfg.latent_channels, ch[0], 3, padding=1)
        self.mid = VaeMid(ch[0])
        self.up = nn.ModuleList()
        prev = ch[0]
        for i, c in enumerate(ch):
            blk = nn.Module()
            blk.resnets = nn.ModuleList([ResnetBlock(prev if j == 0 else c, c, None, 1e-6) for j in range(3)])
            blk.upsample = Upsample(c) if i < len(ch) - 1 else None
            self.up.append(blk)
            prev = c
        self.norm_out = gn(ch[-1], 1e-6)
        self.conv_out = nn.Conv2d(ch[-1], 3, 3, padding=1)

    def forward(self, latent_sample):
        h = self.mid(self.conv_in(self.post_quant_conv(latent_sample)))
        for blk in self.up:
            for res in blk.resnets:
                h = res(h)
            if blk.upsample is not None:
                h = blk.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


COMPONENTS = ("text_encoder", "unet", "vae_encoder", "vae_decoder")


def build(component, cfg):
    return {"text_encoder": TextEncoder, "unet": UNet, "vae_encoder": VaeEncoder, "vae_decoder": VaeDecoder}[component](cfg)


def init_weights(module, seed):
    """Deterministic on every host: numpy's legacy RandomState, parameters in module order."""
    rng = np.random.RandomState(seed)

    def uniform(shape, std):
        a = std * math.sqrt(3.0)
        return torch.from_numpy(rng.uniform(-a, a, size=shape).astype(np.float32))

    with torch.no_grad():
        for _, m in module.named_modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                fan_in = m.weight[0].numel()
                gain = 0.5 if getattr(m, "residual_out", False) else 1.0
                m.weight.copy_(uniform(tuple(m.weight.shape), gain / math.sqrt(fan_in)))
                if m.bias is not None:
                    m.bias.copy_(uniform(tuple(m.bias.shape), 0.02))
            elif isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
                m.weight.fill_(1.0)
                m.bias.zero_()
            elif isinstance(m, nn.Embedding):
                m.weight.copy_(uniform(tuple(m.weight.shape), 0.02 if m.num_embeddings > 1000 else 0.01))
    return module


def make_models(cfg, seed):
    """The four modules with their weights; component k uses seed + k (independent streams)."""
    return {name: init_weights(build(name, cfg), seed * 16 + k).eval() for k, name in enumerate(COMPONENTS)}


def param_count(module):
    return sum(p.numel() for p in module.parameters())


def weights_sha256(module):
    """Hash of every float32 parameter in module order: equal hashes = identical weights."""
    import hashlib

    h = hashlib.sha256()
    for _, p in module.named_parameters():
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# --- tokenizer ------------------------------------------------------------------------------


def write_tokenizer(root):
    sys.path.insert(0, HERE)
    from make_fixture_packs import CORPUS, train_tiny_bpe  # the same toy BPE as the fixture packs

    vocab, merges = train_tiny_bpe(CORPUS)
    vocab = {tok: i for tok, i in vocab.items() if tok not in ("<|startoftext|>", "<|endoftext|>")}
    vocab["<|startoftext|>"] = BOS_ID
    vocab["<|endoftext|>"] = EOS_ID
    os.makedirs(os.path.join(root, "tokenizer"), exist_ok=True)
    with open(os.path.join(root, "tokenizer", "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    with open(os.path.join(root, "tokenizer", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    return len(vocab)


# --- ONNX export ----------------------------------------------------------------------------


def export_kwargs():
    # torch >= 2.5 has `dynamo` (and newer versions default to it): we want the TorchScript
    # exporter on every version, so that torch 1.13 here and torch 2.x on a GPU host agree.
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


SPECS = {
    "text_encoder": (["input_ids"], ["last_hidden_state", "pooler_output"],
                     {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}}),
    "unet": (["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
             {"sample": {0: "batch", 2: "height", 3: "width"}, "encoder_hidden_states": {0: "batch", 1: "sequence"},
              "out_sample": {0: "batch", 2: "height", 3: "width"}}),
    "vae_encoder": (["sample"], ["latent_sample"],
                    {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "height_latent", 3: "width_latent"}}),
    "vae_decoder": (["latent_sample"], ["sample"],
                    {"latent_sample": {0: "batch", 2: "height_latent", 3: "width_latent"}, "sample": {0: "batch", 2: "height", 3: "width"}}),
}


def dummy_inputs(component, cfg):
    if component == "text_encoder":
        ids = torch.full((1, cfg.positions), EOS_ID, dtype=torch.int32)
        ids[0, 0] = BOS_ID
        return (ids,)
    if component == "unet":
        return (torch.randn(2, cfg.in_channels, 8, 8), torch.tensor([500], dtype=torch.int64), torch.randn(2, cfg.positions, cfg.text_width))
    if component == "vae_encoder":
        return (torch.rand(1, 3, 64, 64) * 2 - 1,)
    return (torch.randn(1, cfg.latent_channels, 8, 8),)


def to_fp16(model, keep_fp32_inputs=()):
    """Float32 -> float16 weights, constants and float I/O. The forward closure of
    `keep_fp32_inputs` (the timestep's sinusoidal features) stays float32 up to the first
    MatMul/Gemm/Conv, where a Cast to float16 is inserted; Resize's scales stay float32 (the
    operator requires it)."""
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    consumers = defaultdict(list)
    for node in g.node:
        for name in node.input:
            consumers[name].append(node)
    stop = {"MatMul", "Gemm", "Conv"}
    island, frontier = set(), list(keep_fp32_inputs)
    while frontier:
        for node in consumers[frontier.pop()]:
            if node.op_type in stop or id(node) in island:
                continue
            island.add(id(node))
            frontier.extend(node.output)
    island_out = {o for n in g.node if id(n) in island for o in n.output}
    keep32 = set()  # constants/initializers that must stay float32
    for node in g.node:
        if id(node) in island:
            keep32.update(node.input)
        if node.op_type == "Resize" and len(node.input) > 2:
            keep32.add(node.input[2])

    # A float32 constant that non-island nodes share gets a float16 twin for them.
    inits = {i.name: i for i in g.initializer}
    for node in g.node:
        if id(node) in island:
            continue
        for i, name in enumerate(node.input):
            if name in keep32 and name in inits and inits[name].data_type == TensorProto.FLOAT and not (node.op_type == "Resize" and i == 2):
                twin = name + "_fp16"
                if twin not in inits:
                    inits[twin] = numpy_helper.from_array(numpy_helper.to_array(inits[name]).astype(np.float16), twin)
                    g.initializer.append(inits[twin])
                node.input[i] = twin
    for init in g.initializer:
        if init.data_type == TensorProto.FLOAT and init.name not in keep32:
            arr = numpy_helper.to_array(init).astype(np.float16)
            init.CopyFrom(numpy_helper.from_array(arr, init.name))
    new_nodes, casts = [], set()
    for node in g.node:
        inner = id(node) in island or any(o in keep32 for o in node.output)
        if not inner:
            if node.op_type == "Cast":
                for a in node.attribute:
                    if a.name == "to" and a.i == TensorProto.FLOAT:
                        a.i = TensorProto.FLOAT16
            for a in node.attribute:
                if a.name == "value" and a.t.data_type == TensorProto.FLOAT:
                    a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16), a.t.name))
            if node.op_type in stop:
                for i, name in enumerate(node.input):
                    if name in island_out:
                        cast = name + "_fp16"
                        if cast not in casts:
                            casts.add(cast)
                            new_nodes.append(helper.make_node("Cast", [name], [cast], to=TensorProto.FLOAT16, name=cast))
                        node.input[i] = cast
        new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    for v in list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT and v.name not in keep_fp32_inputs:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    del g.value_info[:]  # float32 shapes recorded by the exporter; onnxruntime infers its own
    return model


def save_onnx(model, path, external_above):
    import onnx

    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = os.path.basename(path) + "_data"
    for p in (path, os.path.join(os.path.dirname(path), data)):
        if os.path.exists(p):
            os.remove(p)  # onnx appends to an existing external-data file
    weight_bytes = sum(len(t.raw_data) for t in model.graph.initializer)
    external = weight_bytes > external_above
    if external:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)
    else:
        onnx.save_model(model, path)
    onnx.checker.check_model(path)
    return {"file": os.path.basename(path), "external_data": data if external else None, "weight_bytes": weight_bytes}


def torch_export(module, args, path, inputs, outputs, axes):
    kwargs = export_kwargs()
    try:
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True, **kwargs)
    except Exception as err:  # a torch without the TorchScript exporter: try the dynamo one
        if "dynamo" not in kwargs:
            raise
        print(f"  TorchScript exporter failed ({type(err).__name__}: {str(err)[:200]}); trying dynamo=True", file=sys.stderr)
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=18, dynamo=True, external_data=True)


def export_component(name, module, cfg, path, fp16, external_above, tmp_root, fp16_path=None):
    """Exports one module to `path` (float16 if `fp16`); with `fp16_path`, also a float16 copy
    converted from the same export (one trace for both packs)."""
    import onnx
    from onnx import numpy_helper

    inputs, outputs, axes = SPECS[name]
    args = dummy_inputs(name, cfg)
    with tempfile.TemporaryDirectory(dir=tmp_root, prefix=f"sd15-{name}-") as tmp:
        raw = os.path.join(tmp, "model.onnx")
        with torch.no_grad():
            torch_export(module, args, raw, inputs, outputs, axes)
        model = onnx.load(raw)  # with its external data (torch writes one file per tensor above 2 GB)
    for init in model.graph.initializer:
        # onnx keeps small tensors in typed fields; raw_data everywhere makes sizes easy to count.
        if not init.raw_data and init.data_type == onnx.TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init), init.name))
    keep = ("timestep",) if name == "unet" else ()
    model.producer_name = "byteedit make_sd15_pack.py"
    if fp16:
        model = to_fp16(model, keep_fp32_inputs=keep)
    info = save_onnx(model, path, external_above)
    if fp16_path:
        del model  # saving moved the weights out of the proto: reload them from the file
        info["fp16"] = save_onnx(to_fp16(onnx.load(path), keep_fp32_inputs=keep), fp16_path, external_above)
    return info


# --- reference outputs ----------------------------------------------------------------------


def reference_inputs(cfg, size, seed):
    rng = np.random.RandomState(seed + 1000)
    lat = size // 8
    ids = np.full((1, cfg.positions), EOS_ID, dtype=np.int32)
    ids[0, :6] = [BOS_ID, 320, 1000, 2000, 400, EOS_ID]
    return {
        "text_encoder": {"input_ids": ids},
        "unet": {
            "sample": rng.standard_normal((2, cfg.in_channels, lat, lat)).astype(np.float32),
            "timestep": np.array([501], dtype=np.int64),
            "encoder_hidden_states": rng.standard_normal((2, cfg.positions, cfg.text_width)).astype(np.float32),
        },
        "vae_encoder": {"sample": rng.uniform(-1, 1, (1, 3, size, size)).astype(np.float32)},
        "vae_decoder": {"latent_sample": (rng.standard_normal((1, cfg.latent_channels, lat, lat)) / SCALING).astype(np.float32)},
    }


def write_reference(models, cfg, out, size, seed):
    """PyTorch outputs on seeded inputs: raw little-endian arrays + reference.json describing them."""
    os.makedirs(out, exist_ok=True)
    feeds = reference_inputs(cfg, size, seed)
    index = {}
    for name in COMPONENTS:
        args = [torch.from_numpy(v) for v in feeds[name].values()]
        with torch.no_grad():
            res = models[name](*args)
        res = res if isinstance(res, tuple) else (res,)
        entry = {"inputs": {}, "outputs": {}}
        for key, arr in feeds[name].items():
            fn = f"{name}.in.{key}.bin"
            arr.tofile(os.path.join(out, fn))
            entry["inputs"][key] = {"file": fn, "dtype": str(arr.dtype), "dims": list(arr.shape)}
        for key, t in zip(SPECS[name][1], res):
            arr = t.float().numpy()
            fn = f"{name}.out.{key}.bin"
            arr.tofile(os.path.join(out, fn))
            entry["outputs"][key] = {"file": fn, "dtype": "float32", "dims": list(arr.shape), "std": float(arr.std()), "finite": bool(np.isfinite(arr).all())}
        index[name] = entry
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(index, f, indent=2)


# --- pack -----------------------------------------------------------------------------------


def peak_rss_mb():
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except Exception:  # pragma: no cover - not on Linux
        return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="pack folder to write (not inside the repository: packs are never committed)")
    ap.add_argument("--fp16", action="store_true", help="float16 weights and I/O (for GPU rows)")
    ap.add_argument("--fp16-out", help="also write a float16 pack here, converted from the same export as the float32 --out")
    ap.add_argument("--width-div", type=int, default=1, help="divide every width by N (8: tiny CI variant)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--native", type=int, default=512, help="resolution.native in pack.json (model input side)")
    ap.add_argument("--external-above", type=float, default=1.8e9, help="weights over this many bytes go to model.onnx_data (0: always)")
    ap.add_argument("--reference", help="also write PyTorch reference outputs of every component to this folder")
    ap.add_argument("--reference-size", type=int, default=128, help="image side of the reference inputs")
    ap.add_argument("--save-state", help="also save the modules' state dicts (torch.save) to this file")
    ap.add_argument("--components", default=",".join(COMPONENTS), help="subset to export (default: all)")
    a = ap.parse_args(argv)

    t_start = time.time()
    torch.manual_seed(a.seed)  # only the dummy export inputs use torch's RNG
    torch.set_grad_enabled(False)
    cfg = Config(a.width_div)
    models = make_models(cfg, a.seed)
    t_init = time.time() - t_start
    counts = {k: param_count(m) for k, m in models.items()}
    hashes = {k: weights_sha256(m) for k, m in models.items()}
    print(f"sd15 pack: width-div {a.width_div}, seed {a.seed}, params " + ", ".join(f"{k} {v / 1e6:.1f}M" for k, v in counts.items())
          + f" ({t_init:.1f} s)", file=sys.stderr)
    if a.reference:
        write_reference(models, cfg, a.reference, a.reference_size, a.seed)
    if a.save_state:
        torch.save({k: m.state_dict() for k, m in models.items()}, a.save_state)

    roots = [(os.path.abspath(a.out), a.fp16)]
    if a.fp16_out:
        if a.fp16:
            raise SystemExit("--fp16-out goes with a float32 --out (without --fp16)")
        roots.append((os.path.abspath(a.fp16_out), True))
    for root, _ in roots:
        os.makedirs(root, exist_ok=True)
    tmp_root = os.environ.get("TMPDIR") or os.path.dirname(roots[0][0])
    files = {}
    wanted = a.components.split(",")
    for name in COMPONENTS:
        if name not in wanted:
            continue
        t = time.time()
        rel = os.path.join(name, "model.onnx")
        files[name] = export_component(name, models[name], cfg, os.path.join(roots[0][0], rel), a.fp16, a.external_above, tmp_root,
                                       os.path.join(roots[1][0], rel) if a.fp16_out else None)
        files[name]["seconds"] = round(time.time() - t, 1)
        print(f"  {name}: {files[name]['weight_bytes'] / 1e6:.1f} MB weights{' (external data)' if files[name]['external_data'] else ''}"
              + (" + float16 copy" if a.fp16_out else "") + f", {files[name]['seconds']} s", file=sys.stderr)
        models[name] = None  # free each module once exported

    for root, fp16 in roots:
        vocab_size = write_tokenizer(root)
        write_manifest(root, cfg, a, fp16)
        info = {
            "generator": "models/tools/make_sd15_pack.py",
            "random_weights": True,
            "tokenizer": f"synthetic: CLIP byte symbols + toy merges ({vocab_size} tokens), ids of the special tokens as in CLIP",
            "seed": a.seed, "width_div": a.width_div, "fp16": fp16, "native": a.native,
            "params": counts, "weights_sha256": hashes,
            "files": {k: (v.get("fp16", v) if fp16 and not a.fp16 else {kk: vv for kk, vv in v.items() if kk != "fp16"}) for k, v in files.items()},
            "torch": torch.__version__, "opset": OPSET,
            "wall_time_s": round(time.time() - t_start, 1), "peak_rss_mb": peak_rss_mb(),
        }
        with open(os.path.join(root, "build_info.json"), "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
        print(f"wrote {root} in {info['wall_time_s']} s (peak RSS {info['peak_rss_mb']:.0f} MB)", file=sys.stderr)


def write_manifest(root, cfg, a, fp16):
    tag = ("" if a.width_div == 1 else f"-w{a.width_div}") + ("-fp16" if fp16 else "")
    pack = {
        "schema": "byteedit.pack/1",
        "name": f"sd15-shaped-random{tag}",
        "version": "1.0.0",
        "kind": "fixture",
        "description": ("RANDOM WEIGHTS, not a model: the shapes of Stable Diffusion 1.5 inpainting "
                        f"(UNet {'/'.join(map(str, cfg.unet_channels))}, CLIP-L-shaped text encoder width {cfg.text_width}, "
                        f"SD VAE {'/'.join(map(str, cfg.vae_channels))}) with seeded random weights and a synthetic tokenizer, "
                        f"{'float16, ' if fp16 else ''}for benchmarks. Outputs are noise. Generated by models/tools/make_sd15_pack.py."),
        "license": "CC0-1.0 (random weights generated by models/tools/make_sd15_pack.py)",
        "components": {
            "tokenizer": {"type": "clip-bpe", "vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt",
                          "maxLength": cfg.positions, "padToken": "<|endoftext|>"},
            **{name: {"file": f"{name}/model.onnx"} for name in COMPONENTS},
        },
        "latent": {"channels": cfg.latent_channels, "scaleFactor": 8, "scalingFactor": SCALING},
        "resolution": {"native": a.native, "multiple": 64},
        "prediction": "epsilon",
        "noiseSchedule": {"betaSchedule": "scaled_linear", "betaStart": 0.00085, "betaEnd": 0.012, "trainSteps": 1000},
        "defaults": {"scheduler": "ddim", "steps": 8, "guidance": 7.5},
        "modes": ["edit", "erase", "outpaint"],
        "erase": {"prompt": "empty background", "negativePrompt": "object"},
    }
    with open(os.path.join(root, "pack.json"), "w", encoding="utf-8") as f:
        json.dump(pack, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
