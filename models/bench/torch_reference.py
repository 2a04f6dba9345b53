#!/usr/bin/env python3
"""The PyTorch side of the GPU benchmark (issue #10): the SD-1.5-shaped random-weight modules of
models/tools/make_sd15_pack.py with the SAME weights (same seed, or the state dict it saved with
--save-state), run eagerly, doing the model work of one core edit at the model resolution:

  2 text-encoder calls (prompt, negative prompt), 1 VAE encode (the masked image), `steps` DDIM
  steps (leading spacing, offset 1, alpha_bar[0] at the end: the core's `ddim`, the pack's
  default) with classifier-free guidance as one batch-2 UNet call per step, 1 VAE decode.

It leaves out what the core does around the models (resizes, compositing, colour match): the
core's end-to-end figure includes those, this one does not. Attention uses
scaled_dot_product_attention where torch has it (what diffusers uses), else softmax(QK^T)V.

Rows have the keys of `npm run bench`'s JSON rows (coldMs, warmMs, warmMinMs, stepMs, unetCallMs,
unetInput, peakRssMb) plus peakGpuMb, dtype, attention, runtime = "pytorch-eager", so the docs can
put them side by side.

  python3 models/bench/torch_reference.py [--device cuda|cpu] [--dtype fp16|fp32] [--size 512]...
      [--steps 8] [--guidance 7.5] [--runs 5] [--unet-runs 20] [--seed 0] [--width-div 1]
      [--state sd15.pt] [--json OUT.json]

fp16 on CUDA, fp32 on CPU by default. Several --size values make several rows.
"""
import argparse
import json
import os
import platform
import resource
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import make_sd15_pack as sd  # noqa: E402  (the modules and the seeded initialisation)


def alphas_cumprod(beta_start=0.00085, beta_end=0.012, n=1000):
    betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0)


def ddim_levels(steps, n=1000):
    ratio = n // steps
    ts = [(steps - 1 - i) * ratio + 1 for i in range(steps)]
    ac = alphas_cumprod(n=n)
    return ts, [float(ac[t]) for t in ts] + [float(ac[0])]


class Timer:
    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def now(self):
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter() * 1000


def load_models(args, cfg, device, dtype):
    if args.state:
        state = torch.load(args.state, map_location="cpu")
        models = {}
        for name in sd.COMPONENTS:
            m = sd.build(name, cfg)
            m.load_state_dict(state[name])
            models[name] = m.eval()
    else:
        models = sd.make_models(cfg, args.seed)
    sha = sd.weights_sha256(models["unet"]) if args.hash else None
    return {k: m.to(device=device, dtype=dtype) for k, m in models.items()}, sha


def edit(models, cfg, size, steps, guidance, device, dtype, seed, timer):
    """One edit's model work; returns (total ms, denoise ms)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    lat = size // 8
    t0 = timer.now()
    ids = torch.full((1, cfg.positions), sd.EOS_ID, dtype=torch.int32)
    ids[0, :4] = torch.tensor([sd.BOS_ID, 320, 1000, sd.EOS_ID], dtype=torch.int32)
    uncond_ids = torch.full((1, cfg.positions), sd.EOS_ID, dtype=torch.int32)
    uncond_ids[0, 0] = sd.BOS_ID
    cond = models["text_encoder"](ids.to(device))[0]
    uncond = models["text_encoder"](uncond_ids.to(device))[0]
    ctx = torch.cat([uncond, cond])
    image = (torch.rand(1, 3, size, size, generator=g) * 2 - 1).to(device=device, dtype=dtype)
    mask = torch.zeros(1, 1, lat, lat, device=device, dtype=dtype)
    mask[..., lat // 4: 3 * lat // 4, lat // 4: 3 * lat // 4] = 1
    masked = models["vae_encoder"](image * (1 - torch.nn.functional.interpolate(mask, scale_factor=8.0))) * sd.SCALING
    x = torch.randn(1, cfg.latent_channels, lat, lat, generator=g).to(device=device, dtype=dtype)
    ts, abs_ = ddim_levels(steps)
    t1 = timer.now()
    for i, t in enumerate(ts):
        inp = torch.cat([x, mask, masked], dim=1)
        out = models["unet"](torch.cat([inp, inp]), torch.tensor([t], dtype=torch.int64, device=device), ctx)
        u, c = out.chunk(2)
        eps = u + guidance * (c - u)
        a, a_next = abs_[i], abs_[i + 1]
        x0 = (x - (1 - a) ** 0.5 * eps) / a ** 0.5
        x = a_next ** 0.5 * x0 + (1 - a_next) ** 0.5 * eps
    t2 = timer.now()
    img = models["vae_decoder"](x / sd.SCALING)
    if not torch.isfinite(img).all():
        raise SystemExit("torch_reference: the decoded image is not finite")
    img.float().cpu()
    t3 = timer.now()
    return t3 - t0, t2 - t1


def bench_size(args, cfg, size, device, dtype, timer):
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    t0 = timer.now()
    models, sha = load_models(args, cfg, device, dtype)
    first, _ = edit(models, cfg, size, args.steps, args.guidance, device, dtype, 1, timer)
    cold = timer.now() - t0
    warm, per_step = [], []
    for r in range(args.runs):
        total, denoise = edit(models, cfg, size, args.steps, args.guidance, device, dtype, 2 + r, timer)
        warm.append(total)
        per_step.append(denoise / args.steps)
    lat = size // 8
    # The UNet alone, batch 2, as the core's bench feeds it.
    feeds = (torch.full((2, cfg.in_channels, lat, lat), 0.1, device=device, dtype=dtype), torch.tensor([500], dtype=torch.int64, device=device),
             torch.full((2, cfg.positions, cfg.text_width), 0.01, device=device, dtype=dtype))
    for _ in range(min(3, args.unet_runs)):
        models["unet"](*feeds)
    calls = []
    for _ in range(args.unet_runs):
        t = timer.now()
        models["unet"](*feeds)
        calls.append(timer.now() - t)
    mean = lambda a: sum(a) / len(a)  # noqa: E731
    row = {
        "pack": f"sd15-shaped-random{'' if args.width_div == 1 else f'-w{args.width_div}'}",
        "device": f"torch-{device.type}",
        "size": size,
        "steps": args.steps,
        "coldMs": cold,
        "warmMs": mean(warm),
        "warmMinMs": min(warm),
        "stepMs": mean(per_step),
        "unetCallMs": mean(calls),
        "unetCallMinMs": min(calls),
        "unetInput": f"2x{cfg.in_channels}x{lat}x{lat}",
        "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peakGpuMb": torch.cuda.max_memory_allocated() / 2 ** 20 if device.type == "cuda" else None,
        "dtype": "float16" if dtype == torch.float16 else "float32",
        "attention": "sdpa" if sd.ATTENTION["sdpa"] else "matmul-softmax",
        "runtime": "pytorch-eager",
        "coldIncludes": "state dict load" if args.state else "weight initialisation from the seed",
        "unetWeightsSha256": sha,
    }
    del models
    return row


def main():
    ap = argparse.ArgumentParser(description="PyTorch eager reference for the SD-1.5-shaped pack")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=["fp16", "fp32"])
    ap.add_argument("--size", type=int, action="append", help="model resolution (repeatable; default 512)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--unet-runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width-div", type=int, default=1)
    ap.add_argument("--state", help="state dicts saved by make_sd15_pack.py --save-state (else weights from --seed)")
    ap.add_argument("--attention", choices=["sdpa", "matmul"], default="sdpa")
    ap.add_argument("--hash", action="store_true", help="record the UNet weights' sha256 (compare with the pack's build_info.json)")
    ap.add_argument("--json")
    a = ap.parse_args()
    device = torch.device(a.device)
    dtype = {"fp16": torch.float16, "fp32": torch.float32}[a.dtype or ("fp16" if device.type == "cuda" else "fp32")]
    sd.ATTENTION["sdpa"] = a.attention == "sdpa" and hasattr(torch.nn.functional, "scaled_dot_product_attention")
    torch.set_grad_enabled(False)
    cfg = sd.Config(a.width_div)
    timer = Timer(device)
    machine = {
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    rows = []
    for size in a.size or [512]:
        rows.append(bench_size(a, cfg, size, device, dtype, timer))
        if a.json:  # after every size, so that a run cut short keeps what it measured
            with open(a.json, "w") as f:
                json.dump({"machine": machine, "rows": rows, "fill": None}, f, indent=2)
    for r in rows:
        print(f"| {r['pack']} | {r['device']} {r['dtype']} | {r['size']}² | {r['steps']} | {r['coldMs']:.0f} ms | {r['warmMs']:.1f} / {r['warmMinMs']:.1f} ms | "
              f"{r['stepMs']:.1f} ms | {r['unetCallMs']:.2f} ms ({r['unetInput']}) | {r['peakRssMb']:.0f} MB RSS"
              + (f", {r['peakGpuMb']:.0f} MB GPU" if r["peakGpuMb"] else "") + " |")


if __name__ == "__main__":
    main()
