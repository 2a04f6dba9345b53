#!/usr/bin/python3
"""Writes the held-out procedural evaluation cases for byteedit-small (images, masks, cases.json).

Usage: /usr/bin/python3 models/eval/byteedit-small/cases.py --n 24 --size 512 --out DIR
Edit cases: a background, an object-sized mask, and two prompts "a <colour> <shape>" with different
colours for the same mask. Erase cases: an object on a background, a mask over it; truth = the
background. Seeds >= 10**9, disjoint from every training draw (which use seeds < 10**6).
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "recipe"))
import data as D  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    names = list(D.COLORS)
    rows = []
    for c in D.eval_cases(a.n, size=a.size):
        Image.fromarray(c["image"]).save(os.path.join(a.out, c["id"] + ".png"))
        Image.fromarray((c["mask"] > 0).astype(np.uint8) * 255).save(os.path.join(a.out, c["id"] + "-mask.png"))
        Image.fromarray(c["background"]).save(os.path.join(a.out, c["id"] + "-bg.png"))
        base = dict(id=c["id"], kind=c["kind"], bg_colors=[list(map(float, x)) for x in c["bg_colors"]],
                    object_area=c["object_area"], shape=c["shape"])
        if c["kind"] == "edit":
            second = names[(names.index(c["color"]) + 4) % len(names)]
            for col in (c["color"], second):
                rows.append(dict(base, run=f"{c['id']}-{col}", prompt=f"a {col} {c['shape']}", color=col))
        else:
            rows.append(dict(base, run=c["id"], prompt="", color=c["color"]))
    with open(os.path.join(a.out, "cases.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(f"{len(rows)} runs in {a.out}")


if __name__ == "__main__":
    main()
