#!/usr/bin/python3
"""Export of the feedback recipe: pack folders with the same pack.json layout as the base pack.

    /usr/bin/python3 models/feedback/export.py --config tiny --cache CACHE --out WORK [--base-pack DIR]

Every ONNX file is written by the base recipe's exporter (build_pack.export, opset 17, checked
with onnx.checker) with the same input/output names and dynamic axes as build_pack.py; the
manifest is the base pack's pack.json (--base-pack, else models/packs/byteedit-small/pack.json)
with the numbers of this base (scaling factor, preview matrix, resolution) and a new version.
Writes, under WORK/packs/:
  base/          the base UNet (as trained), for the ablation's reference rows
  feedback/      + stage 2 (ReFL)                       version 0.2.0-ablation.feedback
  adversarial/   + stage 3                              version 0.2.0-ablation.adversarial
  byteedit-small/ the accelerated pack, 8 steps, best schedule     version 0.2.0
  byteedit-small-4step/ the same for 4 steps             version 0.2.0
and WORK/heldout-rewards/ (the held-out reward model, for evaluation only: a pack.json with
`components.tokenizer` and `rewards`). All packs carry the stage-1 `train` reward models.
"""
import argparse
import copy
import json
import os
import shutil
import time

import torch

import common as C
import rewards as R
from common import B, log

VERSION = "0.2.0"


def export_rewards(rs, out):
    ids = torch.tensor([rs.tok.encode("a red star")] * 2)
    rs = copy.deepcopy(rs).cpu()
    B.export(rs.it, (torch.zeros(2, 3, B.ALIGN_R, B.ALIGN_R),), ["pixel_values"], ["image_embeds"],
             {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, os.path.join(out, "rewards", "image_encoder.onnx"))
    B.export(rs.tt, (ids,), ["input_ids"], ["text_embeds"], {"input_ids": {0: "batch"}, "text_embeds": {0: "batch"}},
             os.path.join(out, "rewards", "text_encoder.onnx"))
    B.export(rs.head, (torch.zeros(2, 64),), ["image_embeds"], ["score"], {"image_embeds": {0: "batch"}, "score": {0: "batch"}},
             os.path.join(out, "rewards", "aesthetic.onnx"))
    B.export(rs.coh, (torch.zeros(1, 3, B.COH_R, B.COH_R), torch.zeros(1, 1, B.COH_R, B.COH_R)), ["image", "mask"], ["logits"],
             {"image": {0: "batch", 2: "height", 3: "width"}, "mask": {0: "batch", 2: "height", 3: "width"},
              "logits": {0: "batch", 2: "height", 3: "width"}}, os.path.join(out, "rewards", "coherence.onnx"))


def export_unet(ctx, un, out):
    L, h = ctx.bcfg["max_len"], ctx.size // 4
    B.export(copy.deepcopy(un).cpu(), (torch.zeros(2, 9, h, h), torch.tensor([999, 999]), torch.zeros(2, L, ctx.bcfg["text"]["dim"])),
             ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
             {"sample": {0: "batch", 2: "latent_height", 3: "latent_width"}, "timestep": {0: "batch"},
              "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch", 2: "latent_height", 3: "latent_width"}},
             os.path.join(out, "unet", "model.onnx"))


def export_common(ctx, rs_train, out):
    """Text encoder, VAE, tokenizer and the train rewards: the same in every variant."""
    L, s = ctx.bcfg["max_len"], ctx.size
    ids = torch.tensor([ctx.tok.encode("a red star")] * 2)
    B.export(copy.deepcopy(ctx.te).cpu(), (ids,), ["input_ids"], ["last_hidden_state"],
             {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}}, os.path.join(out, "text_encoder", "model.onnx"))
    B.export(copy.deepcopy(ctx.enc).cpu(), (torch.zeros(1, 3, s, s),), ["sample"], ["latent_sample"],
             {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "latent_height", 3: "latent_width"}},
             os.path.join(out, "vae_encoder", "model.onnx"))
    B.export(copy.deepcopy(ctx.dec).cpu(), (torch.zeros(1, 4, s // 4, s // 4),), ["latent_sample"], ["sample"],
             {"latent_sample": {0: "batch", 2: "latent_height", 3: "latent_width"}, "sample": {0: "batch", 2: "height", 3: "width"}},
             os.path.join(out, "vae_decoder", "model.onnx"))
    export_rewards(rs_train, out)
    os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
    with open(os.path.join(out, "tokenizer", "vocab.json"), "w") as f:
        json.dump(ctx.vocab, f, indent=0, sort_keys=False)
    assert L == ctx.tok.max_length


def template(base_pack):
    committed = os.path.join(C.REPO, "models", "packs", "byteedit-small", "pack.json")
    p = os.path.join(base_pack, "pack.json") if base_pack else committed
    if not os.path.exists(p):
        log(f"{p} is missing: the committed {committed} is the template")
        p = committed
    return json.load(open(p))


def manifest(ctx, tmpl, preview, name, version, defaults, description):
    m = copy.deepcopy(tmpl)
    m.update(name=name, version=version, description=description)
    m["components"]["tokenizer"]["maxLength"] = ctx.bcfg["max_len"]
    m["latent"].update(scalingFactor=round(ctx.bb.scaling, 6), previewRgb=preview)
    m["resolution"].update(native=ctx.size, max=2 * ctx.size)
    m["defaults"] = dict(m["defaults"], **defaults)
    return m


def write_pack(ctx, common_dir, un, dest, m, info):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(common_dir, dest)
    export_unet(ctx, un, dest)
    with open(os.path.join(dest, "pack.json"), "w") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
    with open(os.path.join(dest, "feedback_info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")


def export_diffusers(ctx, args, rec, rs_train, rs_held, unets, choice):  # pragma: no cover - needs diffusers
    """SD-class base: each variant as a diffusers folder (the base's subfolders linked, the UNet
    saved), for models/recipes/export_inpaint_pack.py; the reward models as ONNX beside them."""
    t = time.time()
    root = os.path.join(args.out, "diffusers")
    out = {}
    for folder, (key, steps, sch) in {"feedback": ("refl", 20, "euler-a"), "adversarial": ("adv", 20, "euler-a"),
                                      "accelerated-8": (choice[8]["unet"], 8, choice[8]["scheduler"]),
                                      "accelerated-4": (choice[4]["unet"], 4, choice[4]["scheduler"])}.items():
        dest = os.path.join(root, folder)
        os.makedirs(dest, exist_ok=True)
        for sub in os.listdir(ctx.diffusers):
            if sub != "unet" and not os.path.exists(os.path.join(dest, sub)):
                os.symlink(os.path.abspath(os.path.join(ctx.diffusers, sub)), os.path.join(dest, sub))
        unets[key].save_pretrained(os.path.join(dest, "unet"))
        out[folder] = dict(path=dest, unet=key, defaults=dict(scheduler=sch, steps=steps, guidance=5.0))
        log(f"export: {dest} (UNet {key}; convert with models/recipes/export_inpaint_pack.py --checkpoint {dest})")
    for name, rs in (("rewards-train", rs_train), ("heldout-rewards", rs_held)):
        export_rewards(rs, os.path.join(args.out, name))
        os.makedirs(os.path.join(args.out, name, "tokenizer"), exist_ok=True)
        with open(os.path.join(args.out, name, "tokenizer", "vocab.json"), "w") as f:
            json.dump(ctx.vocab, f, indent=0)
    rec.data["packs"] = out
    rec.stage("export", dict(packs=list(out), diffusers=True), time.time() - t)
    return out


def run(ctx, args, rec, rs_train, rs_held, unets, choice):
    """unets: dict base/refl/adv/s8/s4 -> UNet; choice: {8: {unet, scheduler}, 4: {...}}."""
    if ctx.diffusers:
        return export_diffusers(ctx, args, rec, rs_train, rs_held, unets, choice)
    t = time.time()
    packs = os.path.join(args.out, "packs")
    common_dir = os.path.join(args.out, "export-common")
    if os.path.exists(common_dir):
        shutil.rmtree(common_dir)
    export_common(ctx, rs_train, common_dir)
    held = os.path.join(args.out, "heldout-rewards")
    if os.path.exists(held):
        shutil.rmtree(held)
    export_rewards(rs_held, held)
    shutil.copytree(os.path.join(common_dir, "tokenizer"), os.path.join(held, "tokenizer"))
    tmpl = template(args.base_pack)
    hm = dict(schema=tmpl["schema"], name="byteedit-small-heldout-rewards", version=VERSION,
              description="Held-out reward models of the feedback recipe (another seed and data split); evaluation only.",
              components=dict(tokenizer=tmpl["components"]["tokenizer"]), rewards=tmpl["rewards"])
    with open(os.path.join(held, "pack.json"), "w") as f:
        json.dump(hm, f, indent=2)
        f.write("\n")
    preview = B.preview_matrix(copy.deepcopy(ctx.enc).cpu(), ctx.clips, ctx.texture_pool, ctx.size)
    base_name = tmpl.get("name", "byteedit-small")
    desc = ("Small text-conditioned inpainting pack: models/recipe/build_pack.py (config {bc}) then models/feedback/chain.py "
            "(config {c}): reward models from preferences, perceptual feedback fine-tuning, adversarial coherence and "
            "progressive step reduction. For clip art and simple shapes, not photographs.")
    desc = desc.format(bc=ctx.base_config, c=ctx.config)
    g = tmpl["defaults"]["guidance"]
    variants = {
        "base": ("base", base_name, tmpl.get("version", "0.1.0"), dict(scheduler="euler-a", steps=tmpl["defaults"]["steps"])),
        "feedback": ("refl", base_name, VERSION + "-ablation.feedback", dict(scheduler="euler-a", steps=20)),
        "adversarial": ("adv", base_name, VERSION + "-ablation.adversarial", dict(scheduler="euler-a", steps=20)),
        base_name: (choice[8]["unet"], base_name, VERSION, dict(scheduler=choice[8]["scheduler"], steps=8)),
        base_name + "-4step": (choice[4]["unet"], base_name + "-4step", VERSION, dict(scheduler=choice[4]["scheduler"], steps=4)),
    }
    out = {}
    for folder, (key, name, version, defaults) in variants.items():
        defaults["guidance"] = g
        m = manifest(ctx, tmpl, preview, name, version, defaults, desc if folder != "base" else tmpl.get("description", ""))
        dest = os.path.join(packs, folder)
        write_pack(ctx, common_dir, unets[key], dest, m, dict(rec.data, variant=folder, unet=key))
        out[folder] = dict(path=dest, unet=key, version=version, defaults=defaults)
        log(f"export: {dest} ({name} {version}, UNet {key}, defaults {defaults})")
    rec.data["packs"] = out
    rec.data["heldout_rewards"] = held
    rec.stage("export", dict(packs=list(out)), time.time() - t)
    chk = os.path.join(C.REPO, "models", "eval", "check-pack.cjs")
    if shutil.which("node") and os.path.exists(chk):
        import subprocess
        for folder in out:
            r = subprocess.run(["node", chk, out[folder]["path"]], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"onnxruntime-node could not run {out[folder]['path']}: {r.stderr.strip()}")
        log(f"check-pack: onnxruntime-node runs every model of {len(out)} packs")
    return out


def load_unets(ctx, out):
    acc = torch.load(os.path.join(out, "accel.pt"), map_location="cpu")
    unets = dict(base=ctx.base_unet, refl=torch.load(os.path.join(out, "refl.pt"), map_location="cpu"),
                 adv=torch.load(os.path.join(out, "adv.pt"), map_location="cpu")["unet"], s8=acc["s8"], s4=acc["s4"])
    return unets, acc["choice"]


def main():
    ap = C.common_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--base-pack", default=None, help="the base pack folder whose pack.json is the template")
    args = C.finish_args(ap.parse_args())
    C.setup_threads(args.threads)
    ctx = C.context(args, C.device())
    unets, choice = load_unets(ctx, args.out)
    run(ctx, args, C.Record(args.out, args), *R.load(args.out, ctx.dev), unets, choice)


if __name__ == "__main__":
    main()
