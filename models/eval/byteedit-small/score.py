#!/usr/bin/python3
"""Scores results written by eval-pack.mjs with the procedural oracle (models/recipe/oracle.py).

Usage: /usr/bin/python3 models/eval/byteedit-small/score.py CASES_DIR RESULTS_JSON
Reads RESULTS_JSON (a list of {run, steps, file, ms, alignment?, coherence?}) and prints one JSON
object with a row per step count. `erase_mae`: mean absolute error (0-255, RGB) inside the mask
between an erase result and the true background the case was drawn on (CASE-bg.png).
"""
import json
import os
import sys

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "recipe"))
import oracle as O  # noqa: E402


def main():
    cases_dir, results = sys.argv[1], json.load(open(sys.argv[2]))
    cases = {c["run"]: c for c in json.load(open(os.path.join(cases_dir, "cases.json")))}
    by_steps = {}
    for r in results:
        c = cases[r["run"]]
        img = np.asarray(Image.open(os.path.join(cases_dir, c["id"] + ".png")).convert("RGB"))
        mask = np.asarray(Image.open(os.path.join(cases_dir, c["id"] + "-mask.png"))) > 127
        out = np.asarray(Image.open(r["file"]).convert("RGB"))
        case = dict(mask=mask, bg_colors=c["bg_colors"], color=c["color"], shape=c["shape"], object_area=c["object_area"])
        row = by_steps.setdefault(r["steps"], dict(color=[], shape=[], found=[], clean=[], keep=[], ms=[], align=[], coh_edit=[], coh_erase=[], erase_mae={}))
        # pixels farther from the mask than 10 % of its longest side (beyond the core's grow + feather) must be byte-identical
        ys, xs = np.nonzero(mask)
        grow = int(np.ceil(0.1 * max(xs.max() - xs.min(), ys.max() - ys.min()))) + 2
        far = cv2.dilate(mask.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)) == 0
        row["keep"].append(float((out[far] == img[far]).all(-1).mean()))
        row["ms"].append(r["ms"])
        if c["kind"] == "edit":
            j = O.judge_edit(out, case)
            row["color"].append(j["color_ok"])
            row["shape"].append(j["shape_ok"])
            row["found"].append(j["found"])
            if "alignment" in r:
                row["align"].append(r["alignment"])
            if "coherence" in r:
                row["coh_edit"].append(r["coherence"])
        else:
            row["clean"].append(O.judge_erase(out, case)["clean"])
            # pixel-level coherence against the truth: the erase case knows the background behind the object
            bg = os.path.join(cases_dir, c["id"] + "-bg.png")
            if os.path.exists(bg):
                truth = np.asarray(Image.open(bg).convert("RGB")).astype(np.float32)
                row["erase_mae"][c["id"]] = float(np.abs(out.astype(np.float32) - truth)[mask].mean())
            if "coherence" in r:
                row["coh_erase"].append(r["coherence"])
    summary = {}
    mean = lambda v: round(float(np.mean(v)), 3) if v else None  # noqa: E731
    for s, row in sorted(by_steps.items(), reverse=True):
        summary[str(s)] = dict(n_edit=len(row["color"]), n_erase=len(row["clean"]), color_acc=mean(row["color"]),
                               shape_acc=mean(row["shape"]), object_found=mean(row["found"]), erase_clean=mean(row["clean"]),
                               unmasked_identical=mean(row["keep"]), ms_mean=round(float(np.mean(row["ms"])), 1),
                               ms_p90=round(float(np.percentile(row["ms"], 90)), 1), alignment_edit=mean(row["align"]),
                               coherence_edit=mean(row["coh_edit"]), coherence_erase=mean(row["coh_erase"]),
                               erase_mae=mean(list(row["erase_mae"].values())),
                               erase_mae_by_case={k: round(v, 3) for k, v in row["erase_mae"].items()})
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
