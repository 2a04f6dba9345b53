#!/usr/bin/python3
"""One command for the byteedit-small pack: data -> VAE -> text encoder + inpainting UNet ->
reward models -> PyTorch evaluation -> ONNX export -> pack folder with pack.json.

    /usr/bin/python3 models/recipe/build_pack.py --config full --out models/packs/byteedit-small
    /usr/bin/python3 models/recipe/build_pack.py --config tiny --out /tmp/byteedit-tiny   # CI, minutes

Fixed seeds; writes build_info.json (hardware, per-stage wall time, sizes, PyTorch metrics) next to
pack.json. Runs on CPU (a CUDA GPU is used when torch sees one). Needs Debian's python3-torch,
python3-onnx, python3-numpy, python3-pil, python3-opencv, librsvg2-bin and openclipart-svg.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter

# OpenMP threads that spin while waiting collapse when another process shares the cores (a UNet
# step went from 0.5 s to 5 s on 2 cores beside 2-3 other jobs): make them sleep instead
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data as D  # noqa: E402
import nets as N  # noqa: E402
import oracle as O  # noqa: E402
from sampling import NoiseSchedule, sample_inpaint  # noqa: E402
from tokenizer import WordTokenizer, build_vocab  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

CONFIGS = {
    # sized for a 2-core CPU with OpenBLAS and one torch thread (UNet step 0.65-0.85 s at batch 32) so
    # that `full` ends inside 90 minutes; `max_minutes` caps each stage in case the machine is slower or
    # shared (the cap is recorded in build_info.json when hit, and the learning rate still decays)
    "full": dict(size=128, clips=2400, vocab=1500, max_len=16,
                 vae=dict(steps=1200, batch=16, crop=64, lr=2e-3, max_minutes=7),
                 unet=dict(samples=12000, steps=5000, batch=32, lr=1e-3, max_minutes=46, ch=(32, 64, 128)),
                 text=dict(dim=64, layers=2),
                 align=dict(steps=400, batch=64, max_minutes=4), aes=dict(steps=200, batch=48),
                 coh=dict(steps=400, batch=16, max_minutes=4), eval_cases=40),
    # the full recipe with every time budget cut to fit about 35 minutes (used when a session has
    # less time than `full` needs; the model card says which config built the committed pack)
    "fast": dict(size=128, clips=2400, vocab=1500, max_len=16,
                 vae=dict(steps=600, batch=16, crop=64, lr=2e-3, max_minutes=5),
                 unet=dict(samples=6000, steps=1000, batch=32, lr=1e-3, max_minutes=19, ch=(32, 64, 128)),
                 text=dict(dim=64, layers=2),
                 align=dict(steps=200, batch=64, max_minutes=2), aes=dict(steps=100, batch=48),
                 coh=dict(steps=150, batch=16, max_minutes=1.5), eval_cases=24),
    "tiny": dict(size=128, clips=120, vocab=400, max_len=16,
                 vae=dict(steps=60, batch=8, crop=64, lr=2e-3, max_minutes=2),
                 unet=dict(samples=600, steps=60, batch=16, lr=1e-3, max_minutes=3, ch=(16, 32, 64)),
                 text=dict(dim=32, layers=1),
                 align=dict(steps=40, batch=32, max_minutes=1), aes=dict(steps=30, batch=32),
                 coh=dict(steps=20, batch=8, max_minutes=1), eval_cases=6),
}
SEED = 1234
OPSET = 17


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def to_t(imgs):
    """uint8 NHWC -> float NCHW in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2).float() / 127.5 - 1


def from_t(x):
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


class Stopwatch:
    def __init__(self):
        self.stages, self.t0 = {}, time.time()

    def run(self, name, fn, *a, **k):
        t = time.time()
        log(f"== stage {name}")
        r = fn(*a, **k)
        self.stages[name] = round(time.time() - t, 1)
        log(f"== stage {name} done in {self.stages[name]} s")
        return r


def lr_at(step, total, base, warm=50, t0=None, max_minutes=None):
    """Linear warm-up then cosine decay. Progress is the larger of step/total and elapsed/time cap,
    so a run that hits its time cap on a slow machine still ends with a decayed learning rate."""
    if step < warm:
        return base * (step + 1) / warm
    p = (step - warm) / max(1, total - warm)
    if t0 is not None and max_minutes:
        p = max(p, (time.time() - t0) / (max_minutes * 60))
    return base * 0.5 * (1 + np.cos(np.pi * min(1.0, p)))


# ---------------------------------------------------------------- stage: data

def stage_data(cfg, cache):
    clips = D.load_clipart(cfg["clips"], cfg["size"], os.path.join(cache, "clipart"), seed=SEED)
    held = D.load_clipart(max(8, cfg["clips"] // 10), cfg["size"], os.path.join(cache, "clipart"), seed=SEED, heldout=True)
    log(f"clip art: {len(clips)} train, {len(held)} held-out rasters")
    texture_pool = [c[0] for c in clips]
    base = ["<pad>", "<bos>", "<eos>", "<unk>", "a", "on", D.ERASE_PROMPT] + list(D.COLORS) + D.SHAPES + list(D.SIZES)
    base += [w for v in D.BG_WORDS.values() for w in v.split()]
    vocab = build_vocab(base, [c[1] for c in clips], cfg["vocab"])
    return clips, held, texture_pool, vocab


# ---------------------------------------------------------------- stage: VAE

def vae_batch(rng, clips, texture_pool, size, n):
    out = []
    for _ in range(n):
        k = rng.uniform()
        if k < 0.5:
            sc = D.sample_shape_scene(rng, size, texture_pool)
            img = sc["image"] if rng.uniform() < 0.8 else sc["background"]
        elif k < 0.75:
            img = D.clip_on_white(clips[int(rng.integers(len(clips)))][0])
        else:
            img, _, _ = D.clip_on_background(rng, clips[int(rng.integers(len(clips)))][0], size, texture_pool)
        out.append(img)
    return np.stack(out)


def stage_vae(cfg, clips, texture_pool, dev):
    c = cfg["vae"]
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED + 1)
    chs = (16, 32) if cfg is CONFIGS["tiny"] else (24, 64)
    enc, dec = N.VaeEncoder(chs).to(dev), N.VaeDecoder(chs).to(dev)
    opt = torch.optim.AdamW(list(enc.parameters()) + list(dec.parameters()), lr=c["lr"], weight_decay=0.0)
    t0, hit_cap, step = time.time(), False, 0
    for step in range(c["steps"]):
        imgs = vae_batch(rng, clips, texture_pool, cfg["size"], c["batch"])
        k = c["crop"]
        ys, xs = rng.integers(0, cfg["size"] - k + 1, 2)
        x = to_t(imgs[:, ys:ys + k, xs:xs + k]).to(dev)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, c["steps"], c["lr"], 50, t0, c["max_minutes"])
        z = enc(x)
        zn = z + 0.1 * z.detach().std() * torch.randn_like(z)  # decoder tolerates sampler imprecision
        y = dec(zn)
        loss = (y - x).abs().mean() + F.mse_loss(y, x) + 1e-4 * z.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            log(f"vae step {step} loss {loss.item():.4f}")
        if time.time() - t0 > c["max_minutes"] * 60:
            hit_cap = True
            break
    enc.eval()
    dec.eval()
    with torch.no_grad():
        imgs = vae_batch(np.random.default_rng(SEED + 99), clips, texture_pool, cfg["size"], 32)
        x = to_t(imgs).to(dev)
        z = enc(x)
        y = dec(z)
        psnr = float(10 * torch.log10(4.0 / F.mse_loss(y, x)))
        scaling = float(1.0 / z.std())
    log(f"vae: {step + 1} steps, PSNR {psnr:.2f} dB, scalingFactor {scaling:.4f}")
    return enc, dec, dict(steps=step + 1, hit_time_cap=hit_cap, psnr_db=round(psnr, 2), scaling=scaling, channels=list(chs))


# ---------------------------------------------------------------- stage: UNet dataset

def latent_mask(mask_px, f, rng):
    """Pixel mask -> latent-resolution mask. Trained on both 'any pixel' and 'majority' rules so
    the core's choice of downsampling does not matter."""
    m = F.avg_pool2d(torch.from_numpy(mask_px.astype(np.float32))[:, None], f)
    thr = torch.from_numpy(rng.choice([1e-3, 0.5], size=m.shape[0]).astype(np.float32))[:, None, None, None]
    return (m >= thr).float()


def stage_unet_data(cfg, clips, texture_pool, enc, scaling, tok, dev):
    c = cfg["unet"]
    rng = np.random.default_rng(SEED + 2)
    n, size, chunk = c["samples"], cfg["size"], 256
    Z = torch.zeros(n, 4, size // 4, size // 4, dtype=torch.float16)
    ZM = torch.zeros_like(Z)
    M = torch.zeros(n, 1, size // 4, size // 4, dtype=torch.float16)
    T = torch.zeros(n, cfg["max_len"], dtype=torch.long)
    tasks = Counter()
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        imgs, masks = [], []
        for i in range(s, e):
            img, mask, cap, task = D.training_sample(rng, clips, size, texture_pool)
            imgs.append(img)
            masks.append(mask)
            T[i] = torch.tensor(tok.encode(cap))
            tasks[task] += 1
        x = to_t(np.stack(imgs))
        mp = np.stack(masks).astype(np.float32)
        xm = x * (1 - torch.from_numpy(mp)[:, None])
        with torch.no_grad():
            Z[s:e] = (enc(x.to(dev)) * scaling).half().cpu()
            ZM[s:e] = (enc(xm.to(dev)) * scaling).half().cpu()
        M[s:e] = latent_mask(mp, 4, rng).half()
    log(f"unet data: {n} samples, tasks {dict(tasks)}, latent std {Z.float().std():.3f}")
    return Z, ZM, M, T, dict(tasks)


# ---------------------------------------------------------------- stage: UNet + text encoder

def stage_unet(cfg, dataset, vocab_size, sched, dev):
    c = cfg["unet"]
    Z, ZM, M, T, _ = dataset
    torch.manual_seed(SEED + 3)
    g = torch.Generator().manual_seed(SEED + 3)
    te = N.TextEncoder(vocab_size, cfg["text"]["dim"], cfg["max_len"], cfg["text"]["layers"]).to(dev)
    un = N.UNet(4, c["ch"], cfg["text"]["dim"]).to(dev)
    params = list(te.parameters()) + list(un.parameters())
    opt = torch.optim.AdamW(params, lr=c["lr"], weight_decay=1e-4)
    ema = [p.detach().clone() for p in params]
    acp = sched.alphas_cumprod.to(dev)
    empty = torch.tensor(sched.empty_ids, dtype=torch.long)
    t0, hit_cap, avg, step = time.time(), False, None, 0
    for step in range(c["steps"]):
        idx = torch.randint(0, Z.shape[0], (c["batch"],), generator=g)
        z0, zm, m = Z[idx].float().to(dev), ZM[idx].float().to(dev), M[idx].float().to(dev)
        ids = T[idx].clone()
        drop = torch.rand(c["batch"], generator=g) < 0.1  # caption dropout for classifier-free guidance
        ids[drop] = empty
        t = torch.randint(0, sched.steps, (c["batch"],), generator=g).to(dev)
        eps = torch.randn(z0.shape, generator=g).to(dev)
        a = acp[t][:, None, None, None]
        zt = a.sqrt() * z0 + (1 - a).sqrt() * eps
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step, c["steps"], c["lr"], 50, t0, c["max_minutes"])
        pred = un(torch.cat([zt, m, zm], 1), t, te(ids.to(dev)))
        w = 1 + 3 * m  # the hole is where the work is; outside it the masked latents give the answer
        loss = ((pred - eps) ** 2 * w).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        d = min(0.998, (1 + step) / (10 + step))
        with torch.no_grad():
            for e_, p in zip(ema, params):
                e_.mul_(d).add_(p.detach(), alpha=1 - d)
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if step % 100 == 0:
            log(f"unet step {step} loss {avg:.4f} ({(time.time() - t0) / (step + 1):.2f} s/step)")
        if time.time() - t0 > c["max_minutes"] * 60:
            hit_cap = True
            break
    with torch.no_grad():
        for e_, p in zip(ema, params):
            p.copy_(e_)
    te.eval()
    un.eval()
    log(f"unet: {step + 1} steps, final loss {avg:.4f}")
    return te, un, dict(steps=step + 1, batch=c["batch"], hit_time_cap=hit_cap, final_loss=round(avg, 4),
                        params_unet=sum(p.numel() for p in un.parameters()),
                        params_text=sum(p.numel() for p in te.parameters()), channels=list(c["ch"]))


# ---------------------------------------------------------------- stage: rewards

ALIGN_R = 64
COH_R = 64
COH_VAL = 400  # held-out cases for the coherence AUC


def auc_se(pos, neg):
    """ROC AUC of scores `pos` (should be higher) vs `neg`, ties count half, with the Hanley-McNeil
    standard error. NaN for an empty side."""
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    n1, n2 = len(pos), len(neg)
    if n1 == 0 or n2 == 0:
        return float("nan"), float("nan")
    a = float(np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :]))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return a, float(np.sqrt(max(0.0, a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a)) / (n1 * n2)))
MEAN, STD = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]


def align_pixels(imgs):
    x = torch.from_numpy(np.stack([cv2.resize(i, (ALIGN_R, ALIGN_R), interpolation=cv2.INTER_AREA) for i in imgs]))
    x = x.permute(0, 3, 1, 2).float() / 255
    return (x - 0.5) / 0.5


def align_sample(rng, clips, texture_pool, size):
    if rng.uniform() < 0.6:
        sc = D.sample_shape_scene(rng, size, texture_pool)
        return sc["image"], D.shape_caption(rng, sc, full=rng.uniform() < 0.3)
    art, cap, _ = clips[int(rng.integers(len(clips)))]
    if rng.uniform() < 0.5:
        return D.clip_on_white(art), cap
    img, _, _ = D.clip_on_background(rng, art, size, texture_pool)
    return img, cap


def degrade(rng, img, texture_pool):
    """A worse version of an image, for preference pairs and coherence fakes; returns (img, mask)."""
    import cv2
    size = img.shape[0]
    k = rng.uniform()
    mask = D.blob_mask(rng, size) if rng.uniform() < 0.5 else D.box_mask(rng, size)
    out = img.copy()
    if k < 0.2:  # pasted from elsewhere
        other = D.sample_shape_scene(rng, size, texture_pool)["image"] if rng.uniform() < 0.5 else \
            D.make_background(rng, D.BACKGROUNDS[int(rng.integers(5))], size, texture_pool)[0]
        out[mask] = other[mask]
    elif k < 0.4:  # naive fill (Telea)
        out = cv2.inpaint(img, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    elif k < 0.6:  # blurred
        b = cv2.GaussianBlur(img, (0, 0), rng.uniform(2, 6))
        out[mask] = b[mask]
    elif k < 0.8:  # colour shifted
        shift = rng.uniform(-60, 60, 3)
        out = np.where(mask[..., None], np.clip(img.astype(np.float32) + shift, 0, 255), img).astype(np.uint8)
    else:  # flat mean fill
        out[mask] = img[mask].reshape(-1, 3).mean(0).astype(np.uint8)
    return out, mask


def coherence_batch(r, n, clips, texture_pool, size, dev):
    """n coherence examples at COH_R: half `degrade`d images (1 inside the manipulated region,
    evaluated over the region dilated by 3 px), half untouched ones with a random hole (all 0)."""
    xs, ms, ys = [], [], []
    for _ in range(n):
        img = align_sample(r, clips, texture_pool, size)[0]
        if r.uniform() < 0.5:
            fake, m = degrade(r, img, texture_pool)
            xs.append(fake)
            ms.append(D.dilate(m.astype(np.uint8), 3) > 0)
            ys.append(m)
        else:
            m = D.blob_mask(r, size) if r.uniform() < 0.5 else D.box_mask(r, size)
            xs.append(img)
            ms.append(m)
            ys.append(np.zeros_like(m))
    f = lambda a: torch.from_numpy(np.stack(  # noqa: E731
        [cv2.resize(m.astype(np.float32), (COH_R, COH_R), interpolation=cv2.INTER_AREA) for m in a]))[:, None].to(dev)
    small = [cv2.resize(x, (COH_R, COH_R), interpolation=cv2.INTER_AREA) for x in xs]
    return to_t(np.stack(small)).to(dev), (f(ms) > 0.5).float(), (f(ys) > 0.5).float()


@torch.no_grad()
def coherence_auc(coh, batches):
    """AUC (± standard error) of the mean in-mask P(filled), damaged vs real, over batches of
    (image, mask, labels) at COH_R on the coherence net's device: the one measure of a coherence
    model (here and in models/feedback/rewards.py)."""
    ps, fakes = [], []
    for x, m, y in batches:
        ps.append(((torch.sigmoid(coh(x, m)) * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp(min=1)).cpu().numpy())
        fakes.append((y.flatten(1).amax(1) > 0).cpu().numpy())
    p, fake = np.concatenate(ps), np.concatenate(fakes)
    auc, se = auc_se(p[fake], p[~fake])
    return dict(auc=auc, se=se, fakes=int(fake.sum()), reals=int((~fake).sum()))


def stage_rewards(cfg, clips, texture_pool, tok, vocab_size, dev):
    info = {}
    size = cfg["size"]
    torch.manual_seed(SEED + 4)
    rng = np.random.default_rng(SEED + 4)
    # 1. dual encoder, contrastive (symmetric InfoNCE, learned temperature)
    c = cfg["align"]
    it, tt = N.ImageTower().to(dev), N.TextTower(vocab_size).to(dev)
    logit_scale = torch.nn.Parameter(torch.tensor(2.5))
    opt = torch.optim.AdamW(list(it.parameters()) + list(tt.parameters()) + [logit_scale], lr=2e-3)
    t0 = time.time()
    for step in range(c["steps"]):
        pairs = [align_sample(rng, clips, texture_pool, size) for _ in range(c["batch"])]
        x = align_pixels([p[0] for p in pairs]).to(dev)
        ids = torch.tensor([tok.encode(p[1]) for p in pairs]).to(dev)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, c["steps"], 2e-3, 30, t0, c["max_minutes"])
        lg = it(x) @ tt(ids).t() * logit_scale.exp().clamp(max=100)
        lab = torch.arange(len(pairs), device=dev)
        loss = (F.cross_entropy(lg, lab) + F.cross_entropy(lg.t(), lab)) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            log(f"align step {step} loss {loss.item():.3f}")
        if time.time() - t0 > c["max_minutes"] * 60:
            break
    it.eval()
    tt.eval()
    # held-out retrieval accuracy on procedural captions: does the right colour+shape caption win among 40?
    erng = np.random.default_rng(10**9 + 7)
    scenes = [D.sample_shape_scene(erng, size, texture_pool) for _ in range(40)]
    with torch.no_grad():
        ie = it(align_pixels([s["image"] for s in scenes]).to(dev))
        te = tt(torch.tensor([tok.encode(f"a {s['color']} {s['shape']}") for s in scenes]).to(dev))
        sim = ie @ te.t()
        names = [f"{s['color']} {s['shape']}" for s in scenes]
        acc = float(np.mean([names[int(sim[i].argmax())] == names[i] for i in range(len(scenes))]))
    info["align"] = dict(steps=step + 1, heldout_top1_of_40=round(acc, 3))
    log(f"align: held-out top-1 {acc:.3f}")
    # 2. aesthetic head: Bradley-Terry on (real image > degraded copy of it) pairs
    c = cfg["aes"]
    head = N.AestheticHead().to(dev)
    opt = torch.optim.AdamW(head.parameters(), lr=2e-3)
    for step in range(c["steps"]):
        good = [align_sample(rng, clips, texture_pool, size)[0] for _ in range(c["batch"])]
        bad = [degrade(rng, g, texture_pool)[0] for g in good]
        with torch.no_grad():
            eg, eb = it(align_pixels(good).to(dev)), it(align_pixels(bad).to(dev))
        loss = -F.logsigmoid(head(eg) - head(eb)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    head.eval()
    with torch.no_grad():
        good = [align_sample(erng, clips, texture_pool, size)[0] for _ in range(64)]
        bad = [degrade(erng, g, texture_pool)[0] for g in good]
        pa = float((head(it(align_pixels(good).to(dev))) > head(it(align_pixels(bad).to(dev)))).float().mean())
    info["aesthetic"] = dict(steps=c["steps"], heldout_pair_accuracy=round(pa, 3))
    log(f"aesthetic: held-out pair accuracy {pa:.3f}")
    # 3. coherence: per-pixel BCE, 1 = pixel inside a manipulated region
    c = cfg["coh"]
    coh = N.CoherenceNet().to(dev)
    opt = torch.optim.AdamW(coh.parameters(), lr=2e-3)
    t0 = time.time()

    def coh_batch(r, n):
        return coherence_batch(r, n, clips, texture_pool, size, dev)

    for step in range(c["steps"]):
        x, m, y = coh_batch(rng, c["batch"])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, c["steps"], 2e-3, 20, t0, c["max_minutes"])
        loss = F.binary_cross_entropy_with_logits(coh(x, m), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            log(f"coherence step {step} loss {loss.item():.3f}")
        if time.time() - t0 > c["max_minutes"] * 60:
            break
    coh.eval()
    # on COH_VAL held-out cases: 48 gave 0.37 for a model that scores 0.59-0.62 on 400 (standard error 0.08 at 48)
    r = coherence_auc(coh, (coh_batch(erng, 100) for _ in range(0, COH_VAL, 100)))
    auc, se, n = r["auc"], r["se"], r["fakes"] + r["reals"]
    info["coherence"] = dict(steps=step + 1, heldout_auc_real_vs_filled=round(auc, 3), heldout_auc_se=round(se, 3), heldout_cases=n)
    log(f"coherence: held-out AUC {auc:.3f} ± {se:.3f} ({n} cases)")
    return it, tt, head, coh, info


# ---------------------------------------------------------------- stage: PyTorch evaluation

def stage_eval(cfg, te, un, enc, dec, scaling, tok, sched, texture_pool, dev, steps_list=(8,)):
    cases = D.eval_cases(cfg["eval_cases"], size=cfg["size"], texture_pool=texture_pool)
    res = {}
    for steps in steps_list:
        col, shp, found, clean = [], [], [], []
        for i, case in enumerate(cases):
            prompt = case["prompt"] if case["kind"] == "edit" else D.ERASE_PROMPT
            out = sample_inpaint(te, un, enc, dec, scaling, tok, sched, case["image"], case["mask"], prompt,
                                 steps=steps, guidance=5.0, seed=i, dev=dev)
            m = case["mask"][..., None]
            comp = np.where(m, out, case["image"])
            if case["kind"] == "edit":
                j = O.judge_edit(comp, case)
                col.append(j["color_ok"])
                shp.append(j["shape_ok"])
                found.append(j["found"])
            else:
                clean.append(O.judge_erase(comp, case)["clean"])
            if i < 8:
                case["result"] = comp
        res[f"steps_{steps}"] = dict(color_acc=round(float(np.mean(col)), 3), shape_acc=round(float(np.mean(shp)), 3),
                                     object_found=round(float(np.mean(found)), 3), erase_clean=round(float(np.mean(clean)), 3),
                                     n_edit=len(col), n_erase=len(clean))
        log(f"pytorch eval @{steps} steps: {res[f'steps_{steps}']}")
    return res, cases


# ---------------------------------------------------------------- export

def export(model, args, names_in, names_out, dyn, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model = model.cpu().eval()
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=names_in, output_names=names_out, dynamic_axes=dyn,
                          opset_version=OPSET, do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(path))


class _Scaled(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, *a):
        return self.m(*a)


def preview_matrix(enc, clips, texture_pool, size):
    """Least squares latent -> RGB in [-1, 1] (C rows + bias row). The core applies it to the
    sampler's x0 divided by scalingFactor, i.e. to raw vae_encoder outputs, so it is fitted on those."""
    imgs = vae_batch(np.random.default_rng(SEED + 5), clips, texture_pool, size, 48)
    with torch.no_grad():
        x = to_t(imgs)
        z = enc.cpu()(x)
    rgb = F.avg_pool2d(x, 4).permute(0, 2, 3, 1).reshape(-1, 3).numpy()
    zz = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]).numpy()
    A = np.concatenate([zz, np.ones((zz.shape[0], 1), np.float32)], 1)
    W, *_ = np.linalg.lstsq(A, rgb, rcond=None)
    return [[round(float(v), 5) for v in row] for row in W]


def blas_backend():
    """Which BLAS Debian's alternatives give torch (BLAS_INFO=generic: it calls libblas.so.3)."""
    try:
        target = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    except OSError:
        return "unknown"
    if "openblas" in target:
        return "openblas"
    if "blis" in target:
        return "blis"
    return "reference" if "/blas/" in target else os.path.basename(os.path.dirname(target)) or "unknown"


def hardware():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), blas=blas_backend(), gpu=gpu,
                python=platform.python_version(), torch=torch.__version__, platform=platform.platform())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=list(CONFIGS), default="tiny")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", default=os.path.join(REPO, ".cache", "byteedit-recipe"))
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads (0 = half the cores, at least 1: measured on 2 cores, one thread kept "
                         "0.65-1.4 s per UNet step whatever else ran, two threads 0.5 s alone but 1.5-5 s beside other jobs)")
    ap.add_argument("--resume", action="store_true",
                    help="reuse trained stages saved under CACHE/checkpoints-CONFIG (re-export / re-assemble without retraining)")
    args = ap.parse_args()
    cfg = CONFIGS[args.config]
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 2) // 2))
    blas = blas_backend()
    if blas == "reference":
        log("WARNING: the reference BLAS (libblas3) is active: training is about 3x slower; "
            "install libopenblas0-pthread (apt) to switch Debian's BLAS alternative to OpenBLAS")
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    sw = Stopwatch()
    load_start = os.getloadavg()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    log(f"config {args.config} -> {out} on {dev}")

    clips, held, texture_pool, vocab = sw.run("data", stage_data, cfg, args.cache)
    tok = WordTokenizer(vocab, cfg["max_len"])
    sched = NoiseSchedule(tok)
    ckdir = os.path.join(args.cache, f"checkpoints-{args.config}")
    os.makedirs(ckdir, exist_ok=True)

    def cached(name, fn, *a, timed=True):
        """Runs a training stage, saving its modules and info; with --resume, loads them instead."""
        path = os.path.join(ckdir, name + ".pt")
        if args.resume and os.path.exists(path):
            log(f"== stage {name}: loaded from {path} (--resume)")
            return torch.load(path)
        r = sw.run(name, fn, *a) if timed else fn(*a)
        torch.save(r, path)
        return r

    enc, dec, vae_info = cached("vae", stage_vae, cfg, clips, texture_pool, dev)
    scaling = vae_info["scaling"]

    def unet_all():
        dataset = sw.run("unet_data", stage_unet_data, cfg, clips, texture_pool, enc, scaling, tok, dev)
        te_, un_, info_ = sw.run("unet", stage_unet, cfg, dataset, len(vocab), sched, dev)
        info_["tasks"] = dataset[4]
        return te_, un_, info_

    te, un, unet_info = cached("unet", unet_all, timed=False)
    unet_tasks = unet_info.get("tasks")
    it, tt, head, coh, reward_info = cached("rewards", stage_rewards, cfg, clips, texture_pool, tok, len(vocab), dev)
    eval_res, shown = sw.run("eval", stage_eval, cfg, te, un, enc, dec, scaling, tok, sched, texture_pool, dev,
                              (4, 8, 20) if args.config == "full" else (8,))

    def do_export():
        L, s = cfg["max_len"], cfg["size"]
        ids = torch.tensor([tok.encode("a red star")] * 2)
        export(te, (ids,), ["input_ids"], ["last_hidden_state"], {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}},
               os.path.join(out, "text_encoder", "model.onnx"))
        img = torch.zeros(1, 3, s, s)
        export(enc, (img,), ["sample"], ["latent_sample"],
               {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "latent_height", 3: "latent_width"}},
               os.path.join(out, "vae_encoder", "model.onnx"))
        export(dec, (torch.zeros(1, 4, s // 4, s // 4),), ["latent_sample"], ["sample"],
               {"latent_sample": {0: "batch", 2: "latent_height", 3: "latent_width"}, "sample": {0: "batch", 2: "height", 3: "width"}},
               os.path.join(out, "vae_decoder", "model.onnx"))
        h = s // 4
        export(un, (torch.zeros(2, 9, h, h), torch.tensor([999, 999]), torch.zeros(2, L, cfg["text"]["dim"])),
               ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
               {"sample": {0: "batch", 2: "latent_height", 3: "latent_width"}, "timestep": {0: "batch"},
                "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch", 2: "latent_height", 3: "latent_width"}},
               os.path.join(out, "unet", "model.onnx"))
        export(it, (torch.zeros(2, 3, ALIGN_R, ALIGN_R),), ["pixel_values"], ["image_embeds"],
               {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, os.path.join(out, "rewards", "image_encoder.onnx"))
        export(tt, (ids,), ["input_ids"], ["text_embeds"], {"input_ids": {0: "batch"}, "text_embeds": {0: "batch"}},
               os.path.join(out, "rewards", "text_encoder.onnx"))
        export(head, (torch.zeros(2, 64),), ["image_embeds"], ["score"], {"image_embeds": {0: "batch"}, "score": {0: "batch"}},
               os.path.join(out, "rewards", "aesthetic.onnx"))
        export(coh, (torch.zeros(1, 3, COH_R, COH_R), torch.zeros(1, 1, COH_R, COH_R)), ["image", "mask"], ["logits"],
               {"image": {0: "batch", 2: "height", 3: "width"}, "mask": {0: "batch", 2: "height", 3: "width"},
                "logits": {0: "batch", 2: "height", 3: "width"}}, os.path.join(out, "rewards", "coherence.onnx"))
        os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
        with open(os.path.join(out, "tokenizer", "vocab.json"), "w") as f:
            json.dump(vocab, f, indent=0, sort_keys=False)
        return preview_matrix(enc, clips, texture_pool, s)

    preview = sw.run("export", do_export)
    manifest = {
        "schema": "byteedit.pack/1",
        "name": "byteedit-small",
        "version": "0.1.1",
        "kind": "trained",
        "description": ("Small text-conditioned inpainting pack trained by models/recipe/build_pack.py "
                        f"(config {args.config}) on openclipart clip art and procedural shapes; for clip art "
                        "and simple shapes, not photographs."),
        "license": "Apache-2.0 (weights); training data CC0 / public domain (openclipart-svg, procedural)",
        "components": {
            "tokenizer": {"type": "word", "vocab": "tokenizer/vocab.json", "maxLength": cfg["max_len"], "lowercase": True},
            "text_encoder": {"file": "text_encoder/model.onnx"},
            "unet": {"file": "unet/model.onnx"},
            "vae_encoder": {"file": "vae_encoder/model.onnx"},
            "vae_decoder": {"file": "vae_decoder/model.onnx"},
        },
        "latent": {"channels": 4, "scaleFactor": 4, "scalingFactor": round(scaling, 6), "previewRgb": preview},
        "resolution": {"native": cfg["size"], "multiple": 16, "max": 2 * cfg["size"]},
        "prediction": "epsilon",
        "noiseSchedule": {"betaSchedule": "scaled_linear", "betaStart": 0.00085, "betaEnd": 0.012, "trainSteps": 1000},
        "defaults": {"scheduler": "euler-a", "steps": 8, "guidance": 5.0},
        "modes": ["edit", "erase", "outpaint"],
        # Trained on clip art only (MODEL_CARD.md): routing sends photographs to the fill or an erase pack.
        "domains": ["illustration"],
        "erase": {"prompt": D.ERASE_PROMPT, "negativePrompt": ""},
        "rewards": {
            "image_encoder": {"file": "rewards/image_encoder.onnx", "resolution": ALIGN_R, "mean": MEAN, "std": STD},
            "text_encoder": {"file": "rewards/text_encoder.onnx"},
            "aesthetic": {"file": "rewards/aesthetic.onnx"},
            "coherence": {"file": "rewards/coherence.onnx", "resolution": COH_R},
        },
    }
    with open(os.path.join(out, "pack.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    # a strip of PyTorch eval results for the model card
    try:
        from PIL import Image
        rows = [np.concatenate([c["image"], c["result"]], 0) for c in shown if "result" in c]
        Image.fromarray(np.concatenate(rows, 1)).save(os.path.join(out, "samples.png"))
    except Exception as e:  # a picture is nice to have, never a reason to fail the build
        log(f"samples.png skipped: {e}")
    sizes = {}
    for root, _, files in os.walk(out):
        for fn in files:
            p = os.path.join(root, fn)
            sizes[os.path.relpath(p, out)] = os.path.getsize(p)
    total = time.time() - sw.t0
    info = dict(config=args.config, seed=SEED, load_average=dict(start=[round(x, 2) for x in load_start],
                                                                 end=[round(x, 2) for x in os.getloadavg()]), wall_time_s=round(total, 1), stages_s=sw.stages, hardware=hardware(),
                command=f"/usr/bin/python3 models/recipe/build_pack.py --config {args.config} --out {args.out}",
                clipart=dict(train=len(clips), heldout=len(held)), vocab_size=len(vocab), text=cfg["text"], vae=vae_info, unet=unet_info,
                unet_tasks=unet_tasks, rewards=reward_info, pytorch_eval=eval_res, files_bytes=sizes,
                pack_bytes=sum(sizes.values()), finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with open(os.path.join(out, "build_info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    # the same ORT that the core uses must load every model
    chk = os.path.join(REPO, "models", "eval", "check-pack.cjs")
    if shutil.which("node") and os.path.exists(chk):
        r = subprocess.run(["node", chk, out], capture_output=True, text=True)
        log(r.stdout.strip() or r.stderr.strip())
        if r.returncode != 0:
            sys.exit(f"onnxruntime-node could not run the pack: {r.stderr.strip()}")
    print("\n===== byteedit-small build summary =====")
    print(f"config {args.config}; wall time {total / 60:.1f} min; stages (s) {sw.stages}")
    print(f"VAE PSNR {vae_info['psnr_db']} dB; UNet {unet_info['params_unet'] / 1e6:.2f} M params, {unet_info['steps']} steps, loss {unet_info['final_loss']}")
    print(f"rewards {reward_info}")
    print(f"PyTorch eval (8 steps, euler-a, guidance 5): {eval_res}")
    print(f"pack {out}: {info['pack_bytes'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
