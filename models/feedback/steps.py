"""The pieces stages 2-4 share: the one-step feedback sample (sample to a late step, predict x0,
decode, composite), the weighted reward loss, distillation targets and the PyTorch validation
used to pick schedules (never the held-out reward model: that one is only for the final table)."""
import math

import numpy as np
import torch

import common as C
import sampler as S
from common import D, O

GUIDANCE = 5.0  # the pack's default guidance; the core applies it the same way
SCHEDULER = "euler-a"  # the pack's default scheduler, used for the feedback trajectories


def feedback_sample(ctx, un, b, c, g, rng):
    """ReFL: run the sampler (no gradients) to a random late step k of a random step count, then
    the guided x0 prediction at k with gradients, decoded by the frozen VAE decoder and pasted into
    the known pixels like the core composites. Returns images in [-1, 1] (N,3,H,W)."""
    n = int(rng.choice(c["steps_choices"]))
    k = int(rng.integers(min(n - 1, int(c["late"] * n)), n))
    with torch.no_grad():
        x, sp, tctx = S.sample(ctx.bb, un, b, SCHEDULER, n, GUIDANCE, g, stop_at=k)
    out = S.guided(ctx.bb, un, sp.model_input(x, k), sp.timestep(k), tctx[0], tctx[1], b["ml"], b["zm"], GUIDANCE)
    x0, _ = sp.predict(x, k, out)
    img = ctx.bb.decode(x0).clamp(-1, 1)
    return img * b["m"] + b["x"] * (1 - b["m"])


@torch.no_grad()
def reward_scales(ctx, rs, n=32):
    """Spread of each reward over real and damaged images: the weights act on comparable scales."""
    from preferences import procedural_record
    rng = np.random.default_rng(C.VAL_SEED + 2)
    recs = [procedural_record(rng, ctx.clips, ctx.texture_pool, ctx.size) for _ in range(n)]
    imgs = np.stack([r["chosen"] for r in recs] + [r["rejected"][0] for r in recs])
    m = torch.from_numpy(np.stack([r["mask"] for r in recs] * 2).astype(np.float32))[:, None].to(ctx.dev)
    sc = rs(C.to_t(imgs).to(ctx.dev), m, [r["prompt"] for r in recs] * 2, subject=True)
    return {k: max(1e-3, float(v.std())) for k, v in sc.items()}


def reward_loss(rs, comp, b, w, scales):
    """-(weighted sum of normalised rewards); alignment counts for edits with a prompt only."""
    sc = rs(comp, b["m"], b["prompts"], subject=True)
    has_text = (~b["erase"]).float()
    r = (w["aesthetic"] * sc["aesthetic"] / scales["aesthetic"]
         + w["alignment"] * sc["alignment"] * has_text / scales["alignment"]
         + w["coherence"] * sc["coherence"] / scales["coherence"])
    return -r.mean(), {k: float(v.mean()) for k, v in sc.items()}


def make_trainable(un):
    un.train()
    for p in un.parameters():
        p.requires_grad_(True)
    return un


# ---------------------------------------------------------------- step-reduction targets

def distill_loss(ctx, student, teacher, b, n_student, n_teacher, g, rng):
    """Progressive distillation for the Euler sampler: one student step from level i must land
    where the teacher's finer grid (its own leading-spaced levels between the two) lands, both
    guided like the core guides. Loss in eps units, 4x weight in the hole."""
    sched = S.Schedule(1000, *ctx.bb.betas)
    sp = S.Sampler(sched, "euler", n_student, ctx.bb.prediction)
    tgrid = [lv[2] for lv in S.Sampler(sched, "euler", n_teacher, ctx.bb.prediction).lv]
    i = int(rng.integers(n_student))
    noise = torch.randn(b["z0"].shape, generator=g).to(ctx.dev)
    x = sp.initial(noise) if i == 0 else sp.noise_to(b["z0"], noise, i)
    s_i, s_n = sp.lv[i][2], sp.lv[i + 1][2]
    sig = [s_i] + [s for s in tgrid if s_n < s < s_i - 1e-9] + [s_n]
    tctx = (ctx.bb.text([""] * b["n"]), ctx.bb.text(b["prompts"]))
    with torch.no_grad():
        xt = x
        for j in range(len(sig) - 1):
            s = sig[j]
            t = sched.sigma_to_t(s)
            out = S.guided(ctx.bb, teacher, xt / math.sqrt(s * s + 1), round(t), tctx[0], tctx[1], b["ml"], b["zm"], GUIDANCE)
            x0, _ = S.x0_eps(ctx.bb.prediction, xt / math.sqrt(s * s + 1), out, 1 / (1 + s * s))
            xt = xt + (xt - x0) / s * (sig[j + 1] - s)
        eps_t = (x - xt) / (s_i - s_n)
    out = S.guided(ctx.bb, student, sp.model_input(x, i), sp.timestep(i), tctx[0], tctx[1], b["ml"], b["zm"], GUIDANCE)
    x0s, _ = sp.predict(x, i, out)
    eps_s = (x - x0s) / s_i
    return (((eps_s - eps_t) ** 2) * (1 + 3 * b["ml"])).mean()


# ---------------------------------------------------------------- validation (PyTorch)

def val_cases(ctx, n):
    """The validation cases (drawn and encoded once per context; every stage reads the same ones)."""
    memo = ctx.__dict__.setdefault("_val_cases", {})
    if n not in memo:
        memo[n] = _draw_val_cases(ctx, n)
    return memo[n]


def _draw_val_cases(ctx, n):
    cases = D.eval_cases(n, size=ctx.size, seed=C.VAL_SEED, texture_pool=ctx.texture_pool)
    prompts = [c["prompt"] if c["kind"] == "edit" else D.ERASE_PROMPT for c in cases]
    b = C.batch_from(ctx, np.stack([c["image"] for c in cases]), np.stack([c["mask"] for c in cases]), prompts,
                     [c["kind"] for c in cases])
    return cases, b


@torch.no_grad()
def validate(ctx, un, vc, scheduler, steps, rs_list):
    """Samples every validation case with the core's sampler, composites, and returns the oracle's
    colour/shape/erase results and the mean of each reward of each reward set in rs_list."""
    cases, b = vc
    g = torch.Generator().manual_seed(C.VAL_SEED % (2**31))
    x, _, _ = S.sample(ctx.bb, un, b, scheduler, steps, GUIDANCE, g)
    img = ctx.bb.decode(x).clamp(-1, 1)
    comp = img * b["m"] + b["x"] * (1 - b["m"])
    u8 = C.B.from_t(comp.cpu())
    col, shp, clean = [], [], []
    for c, out in zip(cases, u8):
        if c["kind"] == "edit":
            j = O.judge_edit(out, c)
            col.append(j["color_ok"])
            shp.append(j["shape_ok"])
        else:
            clean.append(O.judge_erase(out, c)["clean"])
    res = dict(color_acc=float(np.mean(col)), shape_acc=float(np.mean(shp)), erase_clean=float(np.mean(clean)))
    for label, rs in rs_list:
        sc = rs(comp, b["m"], b["prompts"], subject=True)
        ed = ~b["erase"]
        res[label] = dict(aesthetic=float(sc["aesthetic"].mean()), alignment_edit=float(sc["alignment"][ed].mean()),
                          coherence=float(sc["coherence"].mean()))
    res["score"] = 0.25 * (res["color_acc"] + res["shape_acc"]) + 0.5 * res["erase_clean"]
    return res


def selection_key(r, label="train"):
    """How stages 2-3 pick their checkpoint on the validation cases: the oracle score first, then
    the stage-1 `train` rewards (alignment of edits + coherence) to break ties. Never the held-out
    reward model, never the core evaluation's cases."""
    return r["score"] + 0.05 * (r[label]["alignment_edit"] + r[label]["coherence"])
