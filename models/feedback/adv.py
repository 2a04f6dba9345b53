#!/usr/bin/python3
"""Stage 3 of the feedback recipe: adversarial coherence.

    /usr/bin/python3 models/feedback/adv.py --config tiny --cache CACHE --out WORK

The stage-1 coherence model becomes a per-pixel discriminator and is updated in turn with the
generator (the stage-2 UNet): the discriminator learns real target images (0 everywhere) vs the
generator's one-step decoded fills (1 inside the mask); the generator step adds the
non-saturating adversarial loss inside the mask to stage 2's reward loss and diffusion
regularizer. The frozen reward set used in the reward loss is not the discriminator.
Needs WORK/rewards.pt and WORK/refl.pt. Writes WORK/adv.pt (UNet + discriminator).
"""
import argparse
import copy
import os
import time

import torch
import torch.nn.functional as F

import common as C
import refl as RF
import rewards as R
import steps as T
from common import log


def run(ctx, args, rec, rs_train, rs_held, un_refl):
    t = time.time()
    c = ctx.cfg["adv"]
    un = copy.deepcopy(un_refl)
    disc = copy.deepcopy(rs_train)  # a trainable copy; only its coherence net is used
    dnet = disc.coh
    dnet.train()
    for p in dnet.parameters():
        p.requires_grad_(True)
    opt_d = torch.optim.AdamW(dnet.parameters(), lr=c["lr_d"], weight_decay=1e-4)
    d_hist = []

    def adversarial(step, comp, b):
        # discriminator turn, on detached fakes and the real targets
        lg_f, ms = disc.coherence_logits(comp.detach(), b["m"])
        lg_r, _ = disc.coherence_logits(b["x"], b["m"])
        ld = F.binary_cross_entropy_with_logits(lg_f, ms) + F.binary_cross_entropy_with_logits(lg_r, torch.zeros_like(lg_r))
        opt_d.zero_grad()
        ld.backward()
        opt_d.step()
        with torch.no_grad():
            pf = (torch.sigmoid(lg_f) * ms).flatten(1).sum(1) / ms.flatten(1).sum(1).clamp(min=1)
            pr = (torch.sigmoid(lg_r) * ms).flatten(1).sum(1) / ms.flatten(1).sum(1).clamp(min=1)
            d_hist.append(float((pf[:, None] > pr[None, :]).float().mean()))
        # generator turn: fills the discriminator calls real (non-saturating loss inside the mask)
        for p in dnet.parameters():
            p.requires_grad_(False)
        lg, ms = disc.coherence_logits(comp, b["m"])
        lg_adv = (F.softplus(lg) * ms).flatten(1).sum(1) / ms.flatten(1).sum(1).clamp(min=1)
        for p in dnet.parameters():
            p.requires_grad_(True)
        return c["adv_weight"] * lg_adv.mean(), dict(d_loss=ld.item(), g_adv=lg_adv.mean().item(), d_auc=d_hist[-1])

    info = RF.train_feedback(ctx, un, rs_train, c, "adv", C.SEED + 30, extra=adversarial)
    info["disc_auc_fake_vs_real_last20"] = round(float(sum(d_hist[-20:]) / max(1, len(d_hist[-20:]))), 3)
    C.freeze(dnet)
    vc = T.val_cases(ctx, ctx.cfg["val_cases"])
    info["val_20"] = T.validate(ctx, un, vc, T.SCHEDULER, 20, [("train", rs_train)])
    log(f"adv validation @20: {info['val_20']}")
    torch.save(dict(unet=un.cpu(), discriminator=dnet.cpu()), os.path.join(args.out, "adv.pt"))
    un.to(ctx.dev)
    rec.stage("adv", info, time.time() - t)
    return un


def main():
    ap = C.common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    args = C.finish_args(ap.parse_args())
    C.setup_threads(args.threads)
    ctx = C.context(args, C.device())
    un = torch.load(os.path.join(args.out, "refl.pt"), map_location="cpu").to(ctx.dev)
    run(ctx, args, C.Record(args.out, args), *R.load(args.out, ctx.dev), un)


if __name__ == "__main__":
    main()
