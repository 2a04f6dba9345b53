"""SD's noise schedule and an Euler-ancestral inpainting sampler, used for the recipe's PyTorch
evaluation. The TypeScript core has its own samplers; this one mirrors the k-diffusion formulation."""
import numpy as np
import torch


class NoiseSchedule:
    def __init__(self, tok, steps=1000, beta_start=0.00085, beta_end=0.012):
        betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, steps, dtype=torch.float64) ** 2
        self.alphas_cumprod = torch.cumprod(1 - betas, 0).float()
        self.steps = steps
        self.empty_ids = tok.encode("")

    def sigmas(self, n):
        ts = np.linspace(self.steps - 1, 0, n)
        acp = self.alphas_cumprod.numpy().astype(np.float64)
        all_s = np.sqrt((1 - acp) / acp)
        s = np.interp(ts, np.arange(self.steps), all_s)
        return ts, np.append(s, 0.0)


@torch.no_grad()
def sample_inpaint(te, un, enc, dec, scaling, tok, sched, image, mask, prompt, steps=8, guidance=5.0, seed=0, dev="cpu"):
    """image uint8 HWC, mask bool HW -> generated uint8 HWC (not yet composited)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float().to(dev) / 127.5 - 1
    m = torch.from_numpy(mask.astype(np.float32))[None, None].to(dev)
    zm = enc(x * (1 - m)) * scaling
    ml = (torch.nn.functional.avg_pool2d(m, 4) > 0.5).float()
    ctx = te(torch.tensor([tok.encode(""), tok.encode(prompt)]).to(dev))
    ts, sig = sched.sigmas(steps)
    z = torch.randn(zm.shape, generator=g).to(dev) * float(sig[0])
    for i, t in enumerate(ts):
        s, sn = float(sig[i]), float(sig[i + 1])
        zin = torch.cat([z / (s * s + 1) ** 0.5, ml, zm], 1).repeat(2, 1, 1, 1)
        eu, ec = un(zin, torch.full((2,), int(round(t)), dtype=torch.long, device=dev), ctx).chunk(2)
        eps = eu + guidance * (ec - eu)
        den = z - s * eps
        up = min(sn, (sn ** 2 * (s ** 2 - sn ** 2) / s ** 2) ** 0.5) if sn > 0 else 0.0
        down = (sn ** 2 - up ** 2) ** 0.5
        z = z + (z - den) / s * (down - s)
        if up > 0:
            z = z + torch.randn(z.shape, generator=g).to(dev) * up
    y = dec(z / scaling)
    return ((y[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
