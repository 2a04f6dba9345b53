#!/usr/bin/python3
"""Stage 4 of the feedback recipe: progressive step reduction (20 -> 8 -> 4).

    /usr/bin/python3 models/feedback/accel.py --config tiny --cache CACHE --out WORK

Phase 1: a student (initialised from the stage-3 UNet) learns to land, in one Euler step of the
core's 8-step leading grid, where the teacher (the stage-3 UNet, frozen) lands with its 20-step
grid between the same two levels (steps.distill_loss; both guided as the core guides).
Phase 2: a second student (from phase 1) does the same for 4 steps against the phase-1 student at
8, mixed with phase-1 examples so that one UNet keeps both. Then, for 8 and for 4 steps, every
(UNet, scheduler) pair of {stage 3, phase 1, phase 2} x {euler-a, euler, ddim, dpmpp-2m} is run on
the validation cases (seeds disjoint from the core evaluation) and the best by the oracle
(ties: the train coherence reward) is kept. Never uses the held-out reward model.
Needs WORK/rewards.pt and WORK/adv.pt. Writes WORK/accel.pt (students + the choice per step count).
"""
import argparse
import copy
import os
import time

import numpy as np
import torch

import common as C
import rewards as R
import sampler as S
import steps as T
from common import log


def distill(ctx, student, pairs, c, label, seed, minutes, n_steps):
    """pairs: [(probability, teacher, n_student, n_teacher)]."""
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    T.make_trainable(student)
    opt = torch.optim.AdamW(student.parameters(), lr=c["lr"], weight_decay=0.0)
    t0, step, hit, avg = time.time(), 0, False, None
    probs = np.array([p[0] for p in pairs], dtype=np.float64)
    for step in range(n_steps):
        for grp in opt.param_groups:
            grp["lr"] = C.lr_at(step, n_steps, c["lr"], t0, minutes)
        _, teacher, ns, nt = pairs[int(rng.choice(len(pairs), p=probs / probs.sum()))]
        b = C.make_batch(ctx, rng, c["batch"])
        loss = T.distill_loss(ctx, student, teacher, b, ns, nt, g, rng)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        avg = loss.item() if avg is None else 0.95 * avg + 0.05 * loss.item()
        if step % 10 == 0:
            log(f"{label} step {step} loss {avg:.4f} ({(time.time() - t0) / (step + 1):.2f} s/step)")
        if C.time_up(t0, minutes):
            hit = True
            break
    C.freeze(student)
    return dict(steps=step + 1, hit_time_cap=hit, final_loss=round(avg, 5))


def run(ctx, args, rec, rs_train, rs_held, un_adv):
    t = time.time()
    c = ctx.cfg["accel"]
    teacher = C.freeze(copy.deepcopy(un_adv))
    half = c["max_minutes"] / 2
    n = max(1, c["steps"] // 2)
    s8 = copy.deepcopy(teacher)
    info = dict(phase8=distill(ctx, s8, [(1.0, teacher, 8, 20)], c, "accel 20->8", C.SEED + 40, half, n))
    s8_frozen = C.freeze(copy.deepcopy(s8))
    s4 = copy.deepcopy(s8)
    info["phase4"] = distill(ctx, s4, [(1 - c["mix"], s8_frozen, 4, 8), (c["mix"], teacher, 8, 20)], c, "accel 8->4",
                             C.SEED + 41, half, n)
    vc = T.val_cases(ctx, ctx.cfg["val_cases"])
    models = dict(adv=teacher, s8=s8, s4=s4)
    table, choice = [], {}
    for steps in c["targets"]:
        best = None
        for mname, un in models.items():
            for sch in S.SCHEDULERS:
                r = T.validate(ctx, un, vc, sch, steps, [("train", rs_train)])
                row = dict(steps=steps, unet=mname, scheduler=sch, score=round(r["score"], 4), color_acc=r["color_acc"],
                           shape_acc=r["shape_acc"], erase_clean=r["erase_clean"], coherence_train=round(r["train"]["coherence"], 4))
                table.append(row)
                key = (row["score"], row["coherence_train"])
                if best is None or key > best[0]:
                    best = (key, mname, sch)
        choice[steps] = dict(unet=best[1], scheduler=best[2])
        log(f"accel: best for {steps} steps: {choice[steps]}")
    info.update(selection=table, choice={str(k): v for k, v in choice.items()}, val_cases=len(vc[0]))
    torch.save(dict(s8=s8.cpu(), s4=s4.cpu(), choice=choice), os.path.join(args.out, "accel.pt"))
    for m in (s8, s4):
        m.to(ctx.dev)
    rec.stage("accel", info, time.time() - t)
    return dict(adv=teacher, s8=s8, s4=s4), choice


def main():
    ap = C.common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    args = C.finish_args(ap.parse_args())
    C.setup_threads(args.threads)
    ctx = C.context(args, C.device())
    un = torch.load(os.path.join(args.out, "adv.pt"), map_location="cpu")["unet"].to(ctx.dev)
    run(ctx, args, C.Record(args.out, args), *R.load(args.out, ctx.dev), un)


if __name__ == "__main__":
    main()
