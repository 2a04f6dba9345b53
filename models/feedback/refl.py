#!/usr/bin/python3
"""Stage 2 of the feedback recipe: perceptual feedback fine-tuning of the inpainting UNet (ReFL).

    /usr/bin/python3 models/feedback/refl.py --config tiny --cache CACHE --out WORK

Each step: sample with the core's sampler (euler-a, guidance 5) to a random late step of a
random step count, predict x0 in one guided step with gradients, decode with the frozen VAE
decoder, paste into the known pixels, score with the frozen stage-1 `train` rewards (weighted sum
of aesthetic, alignment and coherence inside the mask, each divided by its spread on real vs
damaged images), backpropagate into the UNet; plus the base recipe's diffusion loss on fresh
samples as a regularizer so the model does not collapse onto the rewards. Works for eps and
v-prediction UNets with the pack's I/O (common.Backbone). Needs WORK/rewards.pt (stage 1).
Writes WORK/refl.pt (the UNet) and the stage record.
"""
import argparse
import copy
import os
import time

import numpy as np
import torch

import common as C
import rewards as R
import steps as T
from common import log


def checkpoint_selector(ctx, rs, c, label):
    """Validation during a stage: every `val_every` steps (and at the start and the end) sample the
    validation cases with the core's sampler at `val_steps` steps, score them with the oracle and
    the `train` rewards (steps.selection_key) and keep a copy of the best weights. The stage then
    returns the best checkpoint, which may be its starting point: a reward that rises while the
    validation oracle falls is reward hacking, and this is where it is stopped."""
    vc = T.val_cases(ctx, ctx.cfg["val_cases"])
    state = dict(best=None, curve=[])

    def check(step, un):
        r = T.validate(ctx, un, vc, T.SCHEDULER, c.get("val_steps", 8), [("train", rs)])
        key = T.selection_key(r)
        state["curve"].append(dict(step=step, key=round(key, 4), score=round(r["score"], 4), color_acc=r["color_acc"],
                                   shape_acc=r["shape_acc"], erase_clean=r["erase_clean"],
                                   **{k: round(v, 4) for k, v in r["train"].items()}))
        log(f"{label} validation at step {step}: key {key:.4f} " + " ".join(f"{k} {v}" for k, v in state["curve"][-1].items() if k not in ("step", "key")))
        check.last = step
        if state["best"] is None or key > state["best"][0]:
            state["best"] = (key, step, copy.deepcopy(un.state_dict()))
        un.train()

    def finish(un):
        key, step, sd = state["best"]
        un.load_state_dict(sd)
        return dict(selected_step=step, selected_key=round(key, 4), validation_curve=state["curve"],
                    val_cases=len(vc[0]), val_steps=c.get("val_steps", 8))

    return check, finish


def train_feedback(ctx, un, rs, c, label, seed, extra=None):
    """The ReFL loop; `extra(step, comp, b)` adds a loss term (the adversarial stage). Returns the
    best checkpoint on the validation cases (checkpoint_selector), not necessarily the last."""
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    make = T.make_trainable(un)
    opt = torch.optim.AdamW(make.parameters(), lr=c["lr"], weight_decay=0.0)
    scales = T.reward_scales(ctx, rs)
    w = c.get("w", ctx.cfg["refl"]["w"])
    check, finish = checkpoint_selector(ctx, rs, c, label)
    every = c.get("val_every", 50)
    with torch.no_grad():
        check(0, un)
    t0, step, hit, avg = time.time(), 0, False, {}
    for step in range(c["steps"]):
        for grp in opt.param_groups:
            grp["lr"] = C.lr_at(step, c["steps"], c["lr"], t0, c["max_minutes"])
        b = C.make_batch(ctx, rng, c["batch"])
        comp = T.feedback_sample(ctx, un, b, ctx.cfg["refl"], g, rng)
        lr_, stats = T.reward_loss(rs, comp, b, w, scales)
        reg = C.diffusion_loss(ctx, un, C.make_batch(ctx, rng, c["batch"]), g)
        loss = lr_ + ctx.cfg["refl"]["reg"] * reg
        if extra is not None:
            le, st2 = extra(step, comp, b)
            loss = loss + le
            stats.update(st2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(un.parameters(), 1.0)
        opt.step()
        stats.update(reward_loss=lr_.item(), diffusion=reg.item())
        for k, v in stats.items():
            avg[k] = v if k not in avg else 0.9 * avg[k] + 0.1 * v
        if step % 10 == 0:
            log(f"{label} step {step} " + " ".join(f"{k} {v:.3f}" for k, v in avg.items()) +
                f" ({(time.time() - t0) / (step + 1):.2f} s/step)")
        if C.time_up(t0, c["max_minutes"]):
            hit = True
            break
        if (step + 1) % every == 0 and step + 1 < c["steps"]:
            with torch.no_grad():
                check(step + 1, un)
    s_per_step = round((time.time() - t0) / (step + 1), 3)
    if check.last != step + 1:
        with torch.no_grad():
            check(step + 1, un)
    C.freeze(un)
    sel = finish(un)
    log(f"{label}: kept the weights of step {sel['selected_step']} of {step + 1} (validation key {sel['selected_key']})")
    return dict(steps=step + 1, batch=c["batch"], hit_time_cap=hit, lr=c["lr"], reward_weights=w, reward_scales=scales,
                final_avg={k: round(v, 4) for k, v in avg.items()}, s_per_step=s_per_step, **sel)


def run(ctx, args, rec, rs_train, rs_held):
    t = time.time()
    un = copy.deepcopy(ctx.base_unet)
    info = train_feedback(ctx, un, rs_train, ctx.cfg["refl"], "refl", C.SEED + 20)
    vc = T.val_cases(ctx, ctx.cfg["val_cases"])
    rsl = [("train", rs_train)]
    info["val_20"] = dict(base=T.validate(ctx, ctx.base_unet, vc, T.SCHEDULER, 20, rsl), refl=T.validate(ctx, un, vc, T.SCHEDULER, 20, rsl))
    log(f"refl validation @20: {info['val_20']}")
    torch.save(un.cpu(), os.path.join(args.out, "refl.pt"))
    un.to(ctx.dev)
    rec.stage("refl", info, time.time() - t)
    return un


def main():
    ap = C.common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    args = C.finish_args(ap.parse_args())
    C.setup_threads(args.threads)
    ctx = C.context(args, C.device())
    run(ctx, args, C.Record(args.out, args), *R.load(args.out, ctx.dev))


if __name__ == "__main__":
    main()
