"""What every stage of the feedback-learning recipe shares: configs, the base model (loaded from the
default-pack recipe's stage cache), the procedural data, batches at model resolution, the reward
set as a differentiable scorer, and the run record (hardware, per-stage wall time).

The recipe's own modules (models/recipe/*.py) are imported, never copied: data, oracle, networks,
export helpers and the tokenizer are the default pack's, so the two recipes cannot drift apart.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "models", "recipe"))
sys.path.insert(0, HERE)
import build_pack as B  # noqa: E402
import data as D  # noqa: E402
import nets as N  # noqa: E402,F401  (torch.load of the base cache needs the module importable as `nets`)
import oracle as O  # noqa: E402
from sampling import NoiseSchedule  # noqa: E402
from tokenizer import WordTokenizer  # noqa: E402

SEED = 4321  # not the base recipe's 1234: fresh draws, disjoint from what the base was trained on
HELDOUT_SEED = 987_654  # the held-out reward model: another seed, another data split
VAL_SEED = 3 * 10**9  # validation cases for schedule selection; the core evaluation uses 10**9 + i

# Every stage is capped in minutes as well as steps (the cap is recorded when hit), like the base recipe.
CONFIGS = {
    "tiny": dict(  # CI: every stage runs, briefly (test/feedback.test.ts)
        rewards=dict(steps=20, batch=8, lr=1e-3, max_minutes=0.4, pref_weight=1.0, coh_val=100),
        refl=dict(steps=10, batch=4, lr=1e-4, max_minutes=0.75, steps_choices=(8, 20), late=0.6, reg=1.0,
                  w=dict(aesthetic=0.5, alignment=1.0, coherence=1.0), val_every=5, val_steps=8),
        adv=dict(steps=8, batch=4, lr=1e-4, lr_d=2e-4, max_minutes=0.75, adv_weight=0.5, val_every=4, val_steps=8),
        accel=dict(steps=12, batch=4, lr=1e-4, max_minutes=0.75, targets=(8, 4), mix=0.5),
        val_cases=2, eval_n=1),
    # sized for an idle 2-core CPU (about 35 min of training after the base, then ~15 min of
    # evaluation through the core at n = 32); on a GPU raise the minutes, the code does not change.
    # Aesthetic weighs half: at 1.0 it pulled against alignment in the second full run (docs/feedback.md).
    "full": dict(
        rewards=dict(steps=600, batch=24, lr=1e-3, max_minutes=2.5, pref_weight=1.0, coh_val=400),
        refl=dict(steps=2000, batch=8, lr=1e-4, max_minutes=14.0, steps_choices=(8, 20), late=0.6, reg=1.0,
                  w=dict(aesthetic=0.5, alignment=1.0, coherence=1.0), val_every=40, val_steps=8),
        adv=dict(steps=2000, batch=8, lr=5e-5, lr_d=1e-4, max_minutes=6.0, adv_weight=0.5, val_every=40, val_steps=8),
        accel=dict(steps=2000, batch=8, lr=1e-4, max_minutes=6.0, targets=(8, 4), mix=0.5),
        val_cases=16, eval_n=32),
}


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def device():
    return "cuda" if torch.cuda.is_available() else "cpu"


def setup_threads(n=0):
    torch.set_num_threads(n or os.cpu_count() or 1)


# ---------------------------------------------------------------- base model

class Backbone:
    """The inpainting model the stages fine-tune, behind the pack's I/O: a 9-channel UNet
    (noisy latents, latent mask, masked-image latents), an integer timestep and the text encoder's
    hidden states; eps or v prediction. Ours comes from the base recipe's cache; `load_diffusers`
    builds the same object from a Stable-Diffusion-1.5 inpainting folder."""

    def __init__(self, te, un, enc, dec, scaling, tokenize, prediction="epsilon", factor=4,
                 betas=(0.00085, 0.012), unet_call=None, encode_call=None, decode_call=None):
        self.te, self.un, self.enc, self.dec = te, un, enc, dec
        self.scaling, self.tokenize, self.prediction, self.factor = scaling, tokenize, prediction, factor
        self.betas = betas
        self._unet = unet_call or (lambda m, x, t, c: m(x, t, c))
        self._encode = encode_call or (lambda m, x: m(x))
        self._decode = decode_call or (lambda m, z: m(z))

    def unet(self, model, x, t, ctx):
        return self._unet(model, x, t, ctx)

    def encode(self, x):
        return self._encode(self.enc, x) * self.scaling

    def decode(self, z):
        return self._decode(self.dec, z / self.scaling)

    def text(self, prompts):
        return self.te(self.tokenize(prompts))


def load_cached(base_cache):
    """(enc, dec, vae_info), (te, un, unet_info), (it, tt, head, coh, reward_info) from build_pack.py's cache."""
    out = []
    for name in ("vae", "unet", "rewards"):
        p = os.path.join(base_cache, name + ".pt")
        if not os.path.exists(p):
            if name == "rewards":
                out.append(None)
                continue
            sys.exit(f"base checkpoint {p} is missing: run models/recipe/build_pack.py --config CONFIG --cache DIR first "
                     f"(it writes DIR/checkpoints-CONFIG/{{vae,unet,rewards}}.pt)")
        out.append(torch.load(p, map_location="cpu"))
    return out


def load_diffusers(path, dev):  # pragma: no cover - needs diffusers and an SD checkpoint (documented, not run here)
    """An SD-1.5-class inpainting UNet (runwayml/stable-diffusion-inpainting layout) as a Backbone."""
    try:
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer
    except ImportError as e:
        sys.exit(f"--base diffusers:PATH needs the diffusers and transformers packages ({e})")
    tok = CLIPTokenizer.from_pretrained(path, subfolder="tokenizer")
    te = CLIPTextModel.from_pretrained(path, subfolder="text_encoder").to(dev).eval()
    vae = AutoencoderKL.from_pretrained(path, subfolder="vae").to(dev).eval()
    un = UNet2DConditionModel.from_pretrained(path, subfolder="unet").to(dev)
    cfg = json.load(open(os.path.join(path, "scheduler", "scheduler_config.json")))
    if un.config.in_channels != 9:
        sys.exit(f"{path}: the UNet has {un.config.in_channels} input channels; the feedback recipe needs an inpainting UNet (9)")

    def tokenize(prompts):
        return tok(prompts, padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt").input_ids.to(dev)

    return Backbone(lambda ids: te(ids)[0], un, vae, vae, vae.config.scaling_factor, tokenize,
                    prediction=cfg.get("prediction_type", "epsilon"), factor=8,
                    betas=(cfg.get("beta_start", 0.00085), cfg.get("beta_end", 0.012)),
                    unet_call=lambda m, x, t, c: m(x, t, encoder_hidden_states=c).sample,
                    encode_call=lambda m, x: m.encode(x).latent_dist.mean,
                    decode_call=lambda m, z: m.decode(z).sample)


class Context:
    """The base model, its data and tokenizer, as the stages need them."""

    def __init__(self, config, base_config, base_cache, cache, dev, diffusers=None):
        self.config, self.cfg = config, CONFIGS[config]
        self.base_config = base_config
        self.bcfg = B.CONFIGS[base_config]
        if diffusers:  # an SD-class model trains on the same procedural data at its own resolution
            self.bcfg = dict(self.bcfg, size=512)
        self.size = self.bcfg["size"]
        self.dev = dev
        t = time.time()
        self.clips, self.held, self.texture_pool, self.vocab = B.stage_data(self.bcfg, cache)
        self.tok = WordTokenizer(self.vocab, self.bcfg["max_len"])  # the reward models' tokenizer
        self.sched = NoiseSchedule(self.tok)
        self.diffusers = diffusers
        if diffusers:
            self.bb = load_diffusers(diffusers, dev)
            self.base_unet = freeze(self.bb.un)
            self.te = self.enc = self.dec = None
            self.vae_info, self.unet_info, self.base_rewards = {}, {}, None
            log(f"base: {diffusers} (diffusers, {self.bb.prediction}), data at {self.size} px in {time.time() - t:.1f} s")
            return
        (enc, dec, vae_info), (te, un, unet_info), rewards = load_cached(base_cache)
        self.vae_info, self.unet_info, self.base_rewards = vae_info, unet_info, rewards
        if te.tok.num_embeddings != len(self.vocab):
            sys.exit(f"vocabulary mismatch: the base text encoder has {te.tok.num_embeddings} words, the data gives "
                     f"{len(self.vocab)}; pass the --base-config the base was trained with")
        for m in (enc, dec, te, un):
            m.to(dev).eval()
            for p in m.parameters():
                p.requires_grad_(False)
        self.enc, self.dec, self.te, self.base_unet = enc, dec, te, un
        self.bb = Backbone(te, un, enc, dec, vae_info["scaling"], self.ids)
        log(f"base: {base_cache} (config {base_config}), UNet {sum(p.numel() for p in un.parameters()) / 1e6:.2f} M params, "
            f"{unet_info.get('steps')} steps; data in {time.time() - t:.1f} s")

    def ids(self, prompts):
        return torch.tensor([self.tok.encode(p) for p in prompts], dtype=torch.long, device=self.dev)


# ---------------------------------------------------------------- batches at model resolution

def to_t(imgs):
    return B.to_t(imgs)


def latent_mask(m, f):
    """Pixel mask (N,1,H,W) -> latent mask with the core's rule (area mean > 0.1)."""
    return (F.avg_pool2d(m, f) > 0.1).float()


def make_batch(ctx, rng, n, tasks=None):
    """n training samples (target image, mask, prompt) drawn like the base recipe's UNet data, with
    this recipe's seed; the context the model sees is the target outside the mask."""
    imgs, masks, prompts, kinds = [], [], [], []
    while len(imgs) < n:
        img, mask, cap, task = D.training_sample(rng, ctx.clips, ctx.size, ctx.texture_pool)
        if tasks and task not in tasks:
            continue
        imgs.append(img)
        masks.append(mask)
        prompts.append(cap)
        kinds.append(task)
    return batch_from(ctx, np.stack(imgs), np.stack(masks), prompts, kinds)


def batch_from(ctx, imgs, masks, prompts, kinds):
    dev = ctx.dev
    x = to_t(imgs).to(dev)
    m = torch.from_numpy(masks.astype(np.float32))[:, None].to(dev)
    with torch.no_grad():
        z0 = ctx.bb.encode(x)
        zm = ctx.bb.encode(x * (1 - m))
    erase = torch.tensor([p == D.ERASE_PROMPT for p in prompts], device=dev)
    return dict(x=x, m=m, ml=latent_mask(m, ctx.bb.factor), z0=z0, zm=zm, prompts=list(prompts), kinds=list(kinds),
                erase=erase, n=len(prompts))


def diffusion_loss(ctx, un, b, g):
    """The base recipe's objective (eps or v MSE, 4x weight in the hole, 10 % caption dropout):
    the regularizer that keeps the fine-tuned model a diffusion model."""
    dev = ctx.dev
    n = b["n"]
    prompts = [("" if d else p) for p, d in zip(b["prompts"], (torch.rand(n, generator=g) < 0.1).tolist())]
    t = torch.randint(0, ctx.sched.steps, (n,), generator=g).to(dev)
    eps = torch.randn(b["z0"].shape, generator=g).to(dev)
    a = ctx.sched.alphas_cumprod.to(dev)[t][:, None, None, None]
    zt = a.sqrt() * b["z0"] + (1 - a).sqrt() * eps
    pred = ctx.bb.unet(un, torch.cat([zt, b["ml"], b["zm"]], 1), t, ctx.bb.text(prompts))
    target = eps if ctx.bb.prediction == "epsilon" else a.sqrt() * eps - (1 - a).sqrt() * b["z0"]
    w = 1 + 3 * b["ml"]
    return ((pred - target) ** 2 * w).mean()


# ---------------------------------------------------------------- rewards as a differentiable scorer

class RewardSet(torch.nn.Module):
    """The pack's four reward networks, scoring images in [-1, 1] (N,3,H,W) at any resolution the
    way the core does: alignment = cosine of the towers' embeddings, aesthetic = the head on the
    image embedding, coherence = 1 - mean P(filled) inside the mask."""

    def __init__(self, it, tt, head, coh, tok):
        super().__init__()
        self.it, self.tt, self.head, self.coh = it, tt, head, coh
        self.tok = tok

    def ids(self, prompts, dev):
        return torch.tensor([self.tok.encode(p) for p in prompts], dtype=torch.long, device=dev)

    def embed(self, x):
        if x.shape[-1] != B.ALIGN_R or x.shape[-2] != B.ALIGN_R:
            x = F.interpolate(x, size=(B.ALIGN_R, B.ALIGN_R), mode="area")
        return self.it(x)

    @staticmethod
    def at_coh_r(x, m):
        """Image and mask at the coherence net's resolution (the mask thresholded again)."""
        return F.interpolate(x, size=(B.COH_R, B.COH_R), mode="area"), (F.interpolate(m, size=(B.COH_R, B.COH_R), mode="area") > 0.5).float()

    def coherence_logits(self, x, m):
        xs, ms = self.at_coh_r(x, m)
        return self.coh(xs, ms), ms

    def forward(self, x, m, prompts, coherence=True, subject=False):
        e = self.embed(subject_crop(x, m) if subject else x)
        aes = self.head(e).squeeze(-1)
        align = (e * self.tt(self.ids(prompts, x.device))).sum(-1)
        out = dict(aesthetic=aes, alignment=align)
        if coherence:
            lg, ms = self.coherence_logits(x, m)
            pf = (torch.sigmoid(lg) * ms).flatten(1).sum(1) / ms.flatten(1).sum(1).clamp(min=1)
            out["coherence"] = 1 - pf
        return out


def subject_crop(x, m, size=None):
    """The core's reward framing (core/src/rewards/onnx-rewards.ts `subjectCrop`): a square around
    the mask's bounds, 1.25x their longer side plus a small margin, clamped inside the image, resized
    to the image tower's resolution. Differentiable in x. The core ranks candidates and the
    evaluation scores results on this crop, so ReFL optimises the rewards as they are measured
    (the second full run scored whole images in training and lost alignment on the crops)."""
    size = size or B.ALIGN_R
    n, _, h, w = x.shape
    out = []
    for i in range(n):
        ys, xs = torch.nonzero(m[i, 0] > 0.5, as_tuple=True)
        if len(ys) == 0:
            out.append(F.interpolate(x[i:i + 1], size=(size, size), mode="bilinear", align_corners=False))
            continue
        y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
        side = min(max(h, w), round(max(y1 - y0, x1 - x0) * 1.25) + max(2, w // 32))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left = int(round(max(0, min(w - side, cx - side / 2))))
        top = int(round(max(0, min(h - side, cy - side / 2))))
        crop = x[i:i + 1, :, top:top + side, left:left + side]
        out.append(F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False))
    return torch.cat(out)


def freeze(mod):
    mod.eval()
    for p in mod.parameters():
        p.requires_grad_(False)
    return mod


# ---------------------------------------------------------------- run record

def hardware():
    return B.hardware()


class Record:
    """Per-stage info and wall time, written to OUT/feedback_info.json after every stage."""

    def __init__(self, out, args):
        self.path = os.path.join(out, "feedback_info.json")
        self.data = json.load(open(self.path)) if os.path.exists(self.path) else {}
        self.data.setdefault("stages", {})
        self.data.update(config=args.config, base_config=args.base_config, base_cache=os.path.abspath(args.base_cache),
                         seed=SEED, heldout_seed=HELDOUT_SEED, hardware=hardware())

    def stage(self, name, info, seconds):
        self.data["stages"][name] = dict(info, wall_s=round(seconds, 1), load_average=[round(x, 2) for x in os.getloadavg()],
                                         finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.save()

    def save(self):
        with open(self.path, "w") as f:
            json.dump(self.data, f, indent=2)
            f.write("\n")


def common_args(ap):
    ap.add_argument("--config", choices=list(CONFIGS), default="tiny", help="feedback-recipe budget")
    ap.add_argument("--base-config", default=None, help="build_pack.py config of the base (default: same as --config)")
    ap.add_argument("--base-cache", default=None,
                    help="folder with the base's vae.pt, unet.pt[, rewards.pt] (default: CACHE/checkpoints-BASECONFIG)")
    ap.add_argument("--cache", default=os.path.join(REPO, ".cache", "byteedit-recipe"),
                    help="clip-art raster cache (the base recipe's --cache)")
    ap.add_argument("--out", required=True, help="work folder: stage checkpoints, packs, evaluation, feedback_info.json")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--base-diffusers", default=None, metavar="PATH",
                    help="fine-tune a diffusers SD-1.5-class inpainting model instead (needs diffusers + transformers; "
                         "export then goes through models/recipes/export_inpaint_pack.py)")
    ap.add_argument("--preferences", action="append", default=[],
                    help="user preference JSONL (byteedit.preference/1); repeatable")
    return ap


def finish_args(args):
    args.base_config = args.base_config or args.config
    args.base_cache = args.base_cache or os.path.join(args.cache, f"checkpoints-{args.base_config}")
    os.makedirs(args.out, exist_ok=True)
    return args


def lr_at(step, total, base, t0, max_minutes, warm=10):
    return B.lr_at(step, total, base, warm, t0, max_minutes)


def time_up(t0, max_minutes):
    return time.time() - t0 > max_minutes * 60


def context(args, dev):
    return Context(args.config, args.base_config, args.base_cache, args.cache, dev, diffusers=args.base_diffusers)
