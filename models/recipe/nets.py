"""The networks of the byteedit-small pack, written with ops that export to ONNX opset 17.

GroupNorm exports as InstanceNormalization + reshapes; attention is plain MatMul + Softmax;
upsampling is nearest Resize. Sizes come from a config dict so the tiny CI config shares the code.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def norm(c):
    return nn.GroupNorm(min(8, c), c)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb=0):
        super().__init__()
        self.n1, self.c1 = norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.n2, self.c2 = norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout) if temb else None
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, t=None):
        h = self.c1(F.silu(self.n1(x)))
        if self.t is not None:
            h = h + self.t(t)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Multi-head attention over flattened pixels; context=None gives self-attention."""

    def __init__(self, c, ctx_dim=None, heads=4):
        super().__init__()
        self.heads = heads
        self.n = norm(c)
        self.q = nn.Linear(c, c, bias=False)
        self.k = nn.Linear(ctx_dim or c, c, bias=False)
        self.v = nn.Linear(ctx_dim or c, c, bias=False)
        self.o = nn.Linear(c, c)

    def forward(self, x, ctx=None):
        b, c, h, w = x.shape
        y = self.n(x).flatten(2).transpose(1, 2)  # b, hw, c
        ctx = y if ctx is None else ctx
        hd = c // self.heads
        q = self.q(y).reshape(b, -1, self.heads, hd).transpose(1, 2)
        k = self.k(ctx).reshape(b, -1, self.heads, hd).transpose(1, 2)
        v = self.v(ctx).reshape(b, -1, self.heads, hd).transpose(1, 2)
        a = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(hd)), dim=-1)
        o = torch.matmul(a, v).transpose(1, 2).reshape(b, h * w, c)
        return x + self.o(o).transpose(1, 2).reshape(b, c, h, w)


def up2(x):
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


# ---------------------------------------------------------------- VAE (deterministic autoencoder, f=4)

class VaeEncoder(nn.Module):
    def __init__(self, ch=(32, 64), zc=4):
        super().__init__()
        c0, c1 = ch
        self.inp = nn.Conv2d(3, c0, 3, padding=1)
        self.d1 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.r1 = ResBlock(c1, c1)
        self.d2 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.r2 = ResBlock(c1, c1)
        self.out = nn.Sequential(norm(c1), nn.SiLU(), nn.Conv2d(c1, zc, 3, padding=1))

    def forward(self, sample):
        h = F.silu(self.inp(sample))
        h = self.r1(self.d1(h))
        h = self.r2(self.d2(h))
        return self.out(h)


class VaeDecoder(nn.Module):
    def __init__(self, ch=(32, 64), zc=4):
        super().__init__()
        c0, c1 = ch
        self.inp = nn.Conv2d(zc, c1, 3, padding=1)
        self.r1 = ResBlock(c1, c1)
        self.r2 = ResBlock(c1, c1)
        self.u1 = nn.Conv2d(c1, c1, 3, padding=1)
        self.r3 = ResBlock(c1, c0)
        self.u2 = nn.Conv2d(c0, c0, 3, padding=1)
        self.out = nn.Sequential(norm(c0), nn.SiLU(), nn.Conv2d(c0, 3, 3, padding=1))

    def forward(self, latent_sample):
        h = self.r2(self.r1(self.inp(latent_sample)))
        h = self.r3(self.u1(up2(h)))
        h = self.u2(up2(h))
        return torch.tanh(self.out(h))


# ---------------------------------------------------------------- text encoder

class TextEncoder(nn.Module):
    def __init__(self, vocab, dim=64, max_len=16, layers=2, heads=4):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(1, max_len, dim))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict(dict(
                n1=nn.LayerNorm(dim), qkv=nn.Linear(dim, 3 * dim), o=nn.Linear(dim, dim),
                n2=nn.LayerNorm(dim), f1=nn.Linear(dim, 2 * dim), f2=nn.Linear(2 * dim, dim))))
        self.heads = heads
        self.nf = nn.LayerNorm(dim)

    def forward(self, input_ids):
        x = self.tok(input_ids) + self.pos
        b, n, d = x.shape
        hd = d // self.heads
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["n1"](x)).chunk(3, dim=-1)
            q = q.reshape(b, n, self.heads, hd).transpose(1, 2)
            k = k.reshape(b, n, self.heads, hd).transpose(1, 2)
            v = v.reshape(b, n, self.heads, hd).transpose(1, 2)
            a = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(hd)), dim=-1)
            x = x + blk["o"](torch.matmul(a, v).transpose(1, 2).reshape(b, n, d))
            x = x + blk["f2"](F.gelu(blk["f1"](blk["n2"](x))))
        return self.nf(x)


# ---------------------------------------------------------------- inpainting UNet

def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=1)


class UNet(nn.Module):
    """Three levels (x1, x1/2, x1/4); cross-attention at the two lower levels, self-attention at the bottom."""

    def __init__(self, zc=4, ch=(48, 96, 128), ctx_dim=64, temb=128):
        super().__init__()
        c0, c1, c2 = ch
        self.temb_dim = temb
        self.t1, self.t2 = nn.Linear(temb, temb), nn.Linear(temb, temb)
        self.inp = nn.Conv2d(2 * zc + 1, c0, 3, padding=1)
        self.e0 = ResBlock(c0, c0, temb)
        self.d0 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.e1 = ResBlock(c1, c1, temb)
        self.e1x = Attention(c1, ctx_dim)
        self.d1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.m1 = ResBlock(c2, c2, temb)
        self.ms = Attention(c2)
        self.mx = Attention(c2, ctx_dim)
        self.m2 = ResBlock(c2, c2, temb)
        self.u1 = nn.Conv2d(c2, c1, 3, padding=1)
        self.p1 = ResBlock(2 * c1, c1, temb)
        self.p1x = Attention(c1, ctx_dim)
        self.u0 = nn.Conv2d(c1, c0, 3, padding=1)
        self.p0 = ResBlock(2 * c0, c0, temb)
        self.out = nn.Sequential(norm(c0), nn.SiLU(), nn.Conv2d(c0, zc, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, sample, timestep, encoder_hidden_states):
        t = self.t2(F.silu(self.t1(timestep_embedding(timestep, self.temb_dim))))
        ctx = encoder_hidden_states
        h0 = self.e0(self.inp(sample), t)
        h1 = self.e1x(self.e1(self.d0(h0), t), ctx)
        h = self.m1(self.d1(h1), t)
        h = self.mx(self.ms(h), ctx)
        h = self.m2(h, t)
        h = self.p1x(self.p1(torch.cat([self.u1(up2(h)), h1], 1), t), ctx)
        h = self.p0(torch.cat([self.u0(up2(h)), h0], 1), t)
        return self.out(h)


# ---------------------------------------------------------------- reward models

class ImageTower(nn.Module):
    def __init__(self, ch=(32, 64, 96), emb=64):
        super().__init__()
        c0, c1, c2 = ch
        self.net = nn.Sequential(
            nn.Conv2d(3, c0, 3, stride=2, padding=1), nn.SiLU(),
            nn.Conv2d(c0, c1, 3, stride=2, padding=1), norm(c1), nn.SiLU(),
            nn.Conv2d(c1, c1, 3, padding=1), nn.SiLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1), norm(c2), nn.SiLU(),
            nn.Conv2d(c2, c2, 3, padding=1), nn.SiLU())
        self.proj = nn.Linear(2 * c2, emb)

    def forward(self, pixel_values):
        h = self.net(pixel_values)
        # mean pooling keeps colour statistics, max pooling keeps small shapes
        f = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], 1)
        return F.normalize(self.proj(f), dim=-1)


class TextTower(nn.Module):
    """Bag of words with position-free masked mean (pads and <bos>/<eos> ignored), then an MLP."""

    def __init__(self, vocab, emb=64, hidden=128):
        super().__init__()
        self.tok = nn.Embedding(vocab, hidden)
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, emb))

    def forward(self, input_ids):
        m = (input_ids > 2).float().unsqueeze(-1)
        h = (self.tok(input_ids) * m).sum(1) / m.sum(1).clamp(min=1.0)
        return F.normalize(self.mlp(h), dim=-1)


class AestheticHead(nn.Module):
    def __init__(self, emb=64, hidden=64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(emb, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, image_embeds):
        return self.mlp(image_embeds)


class CoherenceNet(nn.Module):
    """Image (+ edit mask) -> per-pixel logit that the pixel was filled in / is inconsistent."""

    def __init__(self, ch=(24, 48, 64)):
        super().__init__()
        c0, c1, c2 = ch
        self.e0 = nn.Sequential(nn.Conv2d(4, c0, 3, padding=1), nn.SiLU(), nn.Conv2d(c0, c0, 3, padding=1), nn.SiLU())
        self.e1 = nn.Sequential(nn.Conv2d(c0, c1, 3, stride=2, padding=1), norm(c1), nn.SiLU(),
                                nn.Conv2d(c1, c1, 3, padding=1), nn.SiLU())
        self.e2 = nn.Sequential(nn.Conv2d(c1, c2, 3, stride=2, padding=1), norm(c2), nn.SiLU(),
                                nn.Conv2d(c2, c2, 3, padding=2, dilation=2), nn.SiLU(),
                                nn.Conv2d(c2, c2, 3, padding=4, dilation=4), nn.SiLU())
        self.d1 = nn.Sequential(nn.Conv2d(c2 + c1, c1, 3, padding=1), nn.SiLU())
        self.d0 = nn.Sequential(nn.Conv2d(c1 + c0, c0, 3, padding=1), nn.SiLU(), nn.Conv2d(c0, 1, 1))

    def forward(self, image, mask):
        h0 = self.e0(torch.cat([image, mask], 1))
        h1 = self.e1(h0)
        h2 = self.e2(h1)
        h = self.d1(torch.cat([up2(h2), h1], 1))
        return self.d0(torch.cat([up2(h), h0], 1))
