#!/usr/bin/python3
"""The feedback-learning recipe in one command: rewards -> refl -> adv -> accel -> export ->
evaluation through the TypeScript core (ablation table + model card).

    /usr/bin/python3 models/feedback/chain.py --config tiny --build-base --cache CACHE --out WORK   # from scratch
    /usr/bin/python3 models/feedback/chain.py --config tiny --cache CACHE --out WORK
    /usr/bin/python3 models/feedback/chain.py --config full --base-cache /path/checkpoints-full \
        --cache CLIPART_CACHE --base-pack BASE_PACK --out WORK

The base comes from models/recipe/build_pack.py's stage cache (--base-cache, default
CACHE/checkpoints-BASECONFIG: vae.pt, unet.pt, rewards.pt). Fixed seeds; every stage is capped
in steps and minutes (the cap is recorded when hit); WORK/feedback_info.json records hardware,
load and per-stage wall time. --resume skips stages whose output exists in WORK. The stages are
also separate commands (rewards.py, refl.py, adv.py, accel.py, export.py, evaluate.py) on the
same WORK folder. docs/feedback.md has the details.
"""
import argparse
import os
import subprocess
import sys
import time

import torch

import common as C
from common import log


def main():
    ap = C.common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--base-pack", default=None, help="base pack folder whose pack.json is the template (default: the committed one)")
    ap.add_argument("--build-base", action="store_true",
                    help="from scratch: first train the base with models/recipe/build_pack.py --config BASECONFIG "
                         "--cache CACHE --out OUT/base (its stages are cached in CACHE/checkpoints-BASECONFIG; "
                         "with --resume they are reused), then run the chain on it")
    ap.add_argument("--resume", action="store_true", help="reuse stage outputs already in OUT")
    ap.add_argument("--eval-n", type=int, default=None, help="held-out cases per kind for the core evaluation (default: config)")
    ap.add_argument("--no-eval", action="store_true", help="stop after the export")
    args = C.finish_args(ap.parse_args())
    t0 = time.time()
    if args.build_base:
        if args.base_diffusers:
            sys.exit("--build-base trains our own base; it does not combine with --base-diffusers")
        base_out = os.path.join(args.out, "base")
        cmd = [sys.executable, os.path.join(C.REPO, "models", "recipe", "build_pack.py"), "--config", args.base_config,
               "--cache", args.cache, "--out", base_out] + (["--resume"] if args.resume else [])
        log("base: " + " ".join(cmd))
        subprocess.run(cmd, check=True)
        args.base_pack = args.base_pack or base_out
        args.base_cache = os.path.join(args.cache, f"checkpoints-{args.base_config}")
    C.setup_threads(args.threads)
    torch.manual_seed(C.SEED)
    dev = C.device()
    log(f"feedback chain: config {args.config}, base {args.base_cache} -> {args.out} on {dev}")
    ctx = C.context(args, dev)
    rec = C.Record(args.out, args)
    rec.data["command"] = "/usr/bin/python3 models/feedback/chain.py " + " ".join(sys.argv[1:])
    rec.data["load_average_start"] = [round(x, 2) for x in os.getloadavg()]
    have = lambda f: args.resume and os.path.exists(os.path.join(args.out, f))  # noqa: E731

    import rewards as R
    rs_train, rs_held = R.load(args.out, dev) if have("rewards.pt") else R.run(ctx, args, rec)
    import refl
    un_refl = torch.load(os.path.join(args.out, "refl.pt")).to(dev) if have("refl.pt") else refl.run(ctx, args, rec, rs_train, rs_held)
    import adv
    un_adv = torch.load(os.path.join(args.out, "adv.pt"))["unet"].to(dev) if have("adv.pt") else adv.run(ctx, args, rec, rs_train, rs_held, un_refl)
    import accel
    if have("accel.pt"):
        a = torch.load(os.path.join(args.out, "accel.pt"))
        students, choice = dict(s8=a["s8"], s4=a["s4"]), a["choice"]
    else:
        students, choice = accel.run(ctx, args, rec, rs_train, rs_held, un_adv)
    import export
    unets = dict(base=ctx.base_unet, refl=un_refl, adv=un_adv, s8=students["s8"], s4=students["s4"])
    export.run(ctx, args, rec, rs_train, rs_held, unets, choice)
    rec.data["train_wall_s"] = round(time.time() - t0, 1)
    rec.save()
    if args.base_diffusers and not args.no_eval:
        log("evaluation skipped: convert the diffusers folders to packs first (docs/feedback.md), then run evaluate.py")
    elif not args.no_eval:
        import evaluate
        te = time.time()
        evaluate.run(os.path.abspath(args.out), args.eval_n or ctx.cfg["eval_n"], command=rec.data["command"])
        rec.data = __import__("json").load(open(rec.path))
        rec.stage("evaluate", dict(n=args.eval_n or ctx.cfg["eval_n"]), time.time() - te)
    rec.data["wall_s"] = round(time.time() - t0, 1)
    rec.data["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    import resource
    rec.data["peak_rss_mb"] = dict(python=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                                   children=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024))
    rec.save()
    log(f"feedback chain done in {(time.time() - t0) / 60:.1f} min; packs in {os.path.join(args.out, 'packs')}")


if __name__ == "__main__":
    main()
