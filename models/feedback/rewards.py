#!/usr/bin/python3
"""Stage 1 of the feedback recipe: reward models from preference data.

    /usr/bin/python3 models/feedback/rewards.py --config tiny --cache CACHE --out WORK [--preferences FILE.jsonl]
    /usr/bin/python3 models/feedback/rewards.py --config full --cache CACHE --out WORK --measure   (re-measure WORK's)

Trains, on procedural preference records (models/feedback/preferences.py) plus the editors'
JSONL records:
  * a preference score s(image, prompt) = aesthetic(image) + BETA * alignment(image, prompt),
    Bradley-Terry over (chosen > each rejected), i.e. pairs and best/worst triplets with prompts;
    the aesthetic head and the dual encoder are the pack's own networks, so the score exports as is;
  * the alignment dual encoder, also with symmetric InfoNCE on (image, caption) pairs;
  * the per-pixel coherence model, BCE real (0) vs filled (1 inside the damaged region), plus a
    ranking term on user records (the chosen result's mean P(filled) below the rejected ones').
Two reward sets: `train` (initialised from the base pack's rewards when its cache has them; used
by stages 2-4) and `heldout` (from scratch, another seed, the held-out clip-art split and other
procedural draws, no user records; used only to evaluate, against reward hacking).
Writes WORK/rewards.pt and the stage record in WORK/feedback_info.json.
"""
import argparse
import copy
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import common as C
from common import B, D, N, log
from preferences import procedural_record, read_jsonl

BETA = 4.0  # weight of alignment in the preference score (cosines live in [-1, 1])


def fresh_rewards(vocab_size, seed):
    torch.manual_seed(seed)
    return N.ImageTower(), N.TextTower(vocab_size), N.AestheticHead(), N.CoherenceNet()


def rec_tensors(recs, dev):
    """Records -> (chosen, rejected list, masks) tensors in [-1, 1]."""
    ch = C.to_t(np.stack([r["chosen"] for r in recs])).to(dev)
    m = torch.from_numpy(np.stack([r["mask"] for r in recs]).astype(np.float32))[:, None].to(dev)
    return ch, m


def pref_loss(rs, recs, dev):
    """Bradley-Terry over every (chosen, rejected) pair; returns (loss, pair accuracy)."""
    ch, m = rec_tensors(recs, dev)
    prompts = [r["prompt"] for r in recs]
    users = any(r["source"] == "user" for r in recs)  # the coherence term needs the map, only for user records
    sc = rs(ch, m, prompts, coherence=users)
    s_ch = sc["aesthetic"] + BETA * sc["alignment"]
    losses, wins = [], []
    kmax = max(len(r["rejected"]) for r in recs)
    for j in range(kmax):
        idx = [i for i, r in enumerate(recs) if len(r["rejected"]) > j]
        rj = C.to_t(np.stack([recs[i]["rejected"][j] for i in idx])).to(dev)
        sr = rs(rj, m[idx], [prompts[i] for i in idx], coherence=users)
        s_rj = sr["aesthetic"] + BETA * sr["alignment"]
        d = s_ch[idx] - s_rj
        losses.append(-F.logsigmoid(d))
        wins.append((d > 0).float())
        # coherence ranking on user records: the applied result looks less filled-in than the rejected
        u = [k for k, i in enumerate(idx) if recs[i]["source"] == "user"]
        if u:
            dc = sc["coherence"][[idx[k] for k in u]] - sr["coherence"][u]
            losses.append(-F.logsigmoid(4 * dc))
    return torch.cat(losses).mean(), float(torch.cat(wins).mean())


def coherence_batch(rng, recs, texture_pool, dev):
    """Per-pixel real/filled examples from records: chosen with a random hole (all 0), damaged
    rejected fills (1 inside the damaged region)."""
    from preferences import _damage
    xs, ms, ys = [], [], []
    for r in recs:
        size = r["chosen"].shape[0]
        if rng.uniform() < 0.5:
            m = r["mask"] if rng.uniform() < 0.5 else (D.blob_mask(rng, size) if rng.uniform() < 0.5 else D.box_mask(rng, size))
            xs.append(r["chosen"])
            ms.append(m)
            ys.append(np.zeros_like(m))
        else:
            m = r["mask"]
            xs.append(_damage(rng, r["chosen"], m, texture_pool))
            ms.append(D.dilate(m.astype(np.uint8), 3) > 0)
            ys.append(m)
    f = lambda a: torch.from_numpy(np.stack(a).astype(np.float32))[:, None].to(dev)  # noqa: E731
    return C.to_t(np.stack(xs)).to(dev), f(ms), f(ys)


def coh_loss(rs, x, m, y):
    lg, ms = rs.coherence_logits(x, m)
    ys = (F.interpolate(y, size=lg.shape[-2:], mode="area") > 0.5).float()
    return F.binary_cross_entropy_with_logits(lg, ys)


def train_set(ctx, nets, rng_seed, clips, user, c, label):
    dev = ctx.dev
    it, tt, head, coh = [m.to(dev).train() for m in nets]
    for m in (it, tt, head, coh):
        for p in m.parameters():
            p.requires_grad_(True)
    rs = C.RewardSet(it, tt, head, coh, ctx.tok)
    logit_scale = torch.nn.Parameter(torch.tensor(2.5, device=dev))
    opt = torch.optim.AdamW(list(rs.parameters()) + [logit_scale], lr=c["lr"], weight_decay=1e-4)
    rng = np.random.default_rng(rng_seed)
    torch.manual_seed(rng_seed)
    t0, step, hit = time.time(), 0, False
    avg = {}
    for step in range(c["steps"]):
        for g in opt.param_groups:
            g["lr"] = C.lr_at(step, c["steps"], c["lr"], t0, c["max_minutes"])
        n = c["batch"]
        recs = [procedural_record(rng, clips, ctx.texture_pool, ctx.size) for _ in range(n)]
        if user:
            k = min(len(user), max(1, n // 4))
            recs += [user[int(i)] for i in rng.choice(len(user), k, replace=False)]
        lp, acc = pref_loss(rs, recs, dev)
        pairs = [B.align_sample(rng, clips, ctx.texture_pool, ctx.size) for _ in range(n)]
        x = C.to_t(np.stack([p[0] for p in pairs])).to(dev)
        lg = rs.embed(x) @ rs.tt(rs.ids([p[1] for p in pairs], dev)).t() * logit_scale.exp().clamp(max=100)
        lab = torch.arange(n, device=dev)
        la = (F.cross_entropy(lg, lab) + F.cross_entropy(lg.t(), lab)) / 2
        lc = coh_loss(rs, *coherence_batch(rng, recs, ctx.texture_pool, dev))
        loss = c["pref_weight"] * lp + la + lc
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(rs.parameters(), 1.0)
        opt.step()
        for k_, v in dict(pref=lp.item(), pair_acc=acc, align=la.item(), coh=lc.item()).items():
            avg[k_] = v if k_ not in avg else 0.9 * avg[k_] + 0.1 * v
        if step % 25 == 0:
            log(f"rewards[{label}] step {step} " + " ".join(f"{k_} {v:.3f}" for k_, v in avg.items()))
        if C.time_up(t0, c["max_minutes"]):
            hit = True
            break
    C.freeze(rs)
    return rs, dict(steps=step + 1, hit_time_cap=hit, train_avg={k_: round(v, 4) for k_, v in avg.items()})


def coherence_val_set(ctx, n):
    """Fixed held-out coherence cases (held-out clip art, their own seed): n records' real/damaged
    examples, in batches of 100. The preference validation's 48 records are too few for an AUC
    (standard error 0.08: they gave 0.47-0.52 for models that score 0.64-0.66 on 400)."""
    rng = np.random.default_rng(C.VAL_SEED + 2)
    recs = [procedural_record(rng, ctx.held or ctx.clips, ctx.texture_pool, ctx.size) for _ in range(n)]
    return [coherence_batch(rng, recs[i:i + 100], ctx.texture_pool, "cpu") for i in range(0, n, 100)]


def coherence_auc(rs, cases, dev, at_coh_r=False):
    """build_pack.py's coherence_auc on batches of (image, mask, labels), brought to the coherence
    net's resolution first unless `at_coh_r` (build_pack.py's own batches already are); rounded."""
    r = B.coherence_auc(rs.coh, ((x.to(dev), m.to(dev), y) if at_coh_r else (*rs.at_coh_r(x.to(dev), m.to(dev)), y) for x, m, y in cases))
    return dict(r, auc=round(r["auc"], 3), se=round(r["se"], 3))


@torch.no_grad()
def evaluate(ctx, rs, recs, dev, coh_val):
    """Pair accuracy of the preference score and alignment top-1 of 40 on fixed validation records
    (held-out clip art, validation seeds); coherence AUC (with its standard error) on `coh_val`."""
    _, acc = pref_loss(rs, recs, dev)
    erng = np.random.default_rng(C.VAL_SEED)
    scenes = [D.sample_shape_scene(erng, ctx.size, ctx.texture_pool) for _ in range(40)]
    e = rs.embed(C.to_t(np.stack([s["image"] for s in scenes])).to(dev))
    t = rs.tt(rs.ids([f"a {s['color']} {s['shape']}" for s in scenes], dev))
    names = [f"{s['color']} {s['shape']}" for s in scenes]
    sim = e @ t.t()
    top1 = float(np.mean([names[int(sim[i].argmax())] == names[i] for i in range(40)]))
    coh = coherence_auc(rs, coh_val, dev)
    return dict(pair_accuracy=round(acc, 3), align_top1_of_40=round(top1, 3), coherence_auc=coh["auc"],
                coherence_auc_se=coh["se"], n_records=len(recs), n_coherence_cases=coh["fakes"] + coh["reals"])


def base_reward_set(ctx):
    """The base pack's reward models as a frozen RewardSet (a copy: ctx.base_rewards stays as loaded)."""
    return C.freeze(C.RewardSet(*[m.to(ctx.dev) for m in copy.deepcopy(ctx.base_rewards[:4])], ctx.tok))


def run(ctx, args, rec):
    c = ctx.cfg["rewards"]
    dev = ctx.dev
    t_start = time.time()
    user, bad = [], 0
    for p in args.preferences:
        r, b = read_jsonl(p, ctx.size)
        user += r
        bad += b
    log(f"user preference records: {len(user)} read, {bad} lines skipped")
    vrng = np.random.default_rng(C.VAL_SEED + 1)
    val_clips = ctx.held or ctx.clips
    val = [procedural_record(vrng, val_clips, ctx.texture_pool, ctx.size) for _ in range(48)]
    coh_val = coherence_val_set(ctx, c["coh_val"])
    info = dict(user_records=len(user), user_lines_skipped=bad, beta=BETA, val_records=len(val))
    if ctx.base_rewards is not None:
        it, tt, head, coh, _ = copy.deepcopy(ctx.base_rewards)
        init = "base pack rewards"
    else:
        it, tt, head, coh = fresh_rewards(len(ctx.vocab), C.SEED)
        init = "scratch"
    if ctx.base_rewards is not None:
        base_rs = base_reward_set(ctx)
        info["base_val"] = evaluate(ctx, base_rs, val, dev, coh_val)
        log(f"base rewards on validation: {info['base_val']}")
    tclips, hclips = (ctx.clips[0::2], ctx.clips[1::2]) if len(ctx.clips) > 1 else (ctx.clips, ctx.clips)
    rs_train, info["train"] = train_set(ctx, (it, tt, head, coh), C.SEED, tclips, user, c, "train")
    info["train"]["init"] = init
    info["train"]["val"] = evaluate(ctx, rs_train, val, dev, coh_val)
    if user:
        info["train"]["user_pair_accuracy"] = round(pref_loss(rs_train, user, dev)[1], 3)
    log(f"train rewards on validation: {info['train']['val']}")
    # the held-out set: another seed, the other half of the clip art, other procedural draws, no user records
    rs_held, info["heldout"] = train_set(ctx, fresh_rewards(len(ctx.vocab), C.HELDOUT_SEED), C.HELDOUT_SEED, hclips, [], c, "heldout")
    info["heldout"]["init"] = "scratch"
    info["heldout"]["val"] = evaluate(ctx, rs_held, val, dev, coh_val)
    log(f"held-out rewards on validation: {info['heldout']['val']}")
    torch.save(dict(train=rs_train.cpu(), heldout=rs_held.cpu(), info=info), os.path.join(args.out, "rewards.pt"))
    rec.stage("rewards", info, time.time() - t_start)
    return rs_train, rs_held


def load(out, dev):
    d = torch.load(os.path.join(out, "rewards.pt"), map_location="cpu")
    return C.freeze(d["train"].to(dev)), C.freeze(d["heldout"].to(dev))


def measure(ctx, args):
    """--measure: the coherence AUC (± standard error) of the base pack's, the train and the held-out
    coherence models of an earlier run (WORK/rewards.pt), on the feedback recipe's held-out cases and
    on the base recipe's (build_pack.py `coherence_batch`, held-out clip art); writes
    WORK/rewards-measured.json. Changes no checkpoint."""
    dev = ctx.dev
    n = ctx.cfg["rewards"]["coh_val"]
    coh_val = coherence_val_set(ctx, n)
    brng = np.random.default_rng(C.VAL_SEED + 3)
    base_val = [B.coherence_batch(brng, 100, ctx.held or ctx.clips, ctx.texture_pool, ctx.size, "cpu") for _ in range(0, n, 100)]
    train, held = load(args.out, dev)
    sets = dict(train=train, heldout=held)
    if ctx.base_rewards is not None:
        sets = dict(base=base_reward_set(ctx), **sets)
    out = dict(cases=n, measured=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    for name, rs in sets.items():
        r = dict(feedback_records=coherence_auc(rs, coh_val, dev), base_recipe_damage=coherence_auc(rs, base_val, dev, at_coh_r=True))
        out[name] = r
        log(f"coherence AUC, {name}: " + ", ".join(f"{k} {v['auc']} ± {v['se']}" for k, v in r.items()))
    with open(os.path.join(args.out, "rewards-measured.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    return out


def main():
    ap = C.common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--measure", action="store_true",
                    help="measure the coherence models of WORK/rewards.pt (and the base pack's) on held-out cases; trains nothing")
    args = C.finish_args(ap.parse_args())
    C.setup_threads(args.threads)
    ctx = C.context(args, C.device())
    if args.measure:
        measure(ctx, args)
        return
    run(ctx, args, C.Record(args.out, args))


if __name__ == "__main__":
    main()
