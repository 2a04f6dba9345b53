#!/usr/bin/python3
"""Writes the tiny preference example (preferences.jsonl + 64 px PNGs under pref/) used by the
tests and docs: three records as an editor would log them (edit, erase, outpaint).

    /usr/bin/python3 models/feedback/examples/make_example.py
"""
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from preferences import procedural_record  # noqa: E402


def main():
    rng = np.random.default_rng(7)
    os.makedirs(os.path.join(HERE, "pref"), exist_ok=True)
    lines = []
    hosts = ["gimp", "figma", "cli"]
    want = ["edit", "erase", "outpaint"]
    i = 0
    while want:
        r = procedural_record(rng, [], None, 64)
        if r["mode"] != want[0]:
            continue
        want.pop(0)
        names = {}
        for key, img in [("image", r["image"]), ("mask", (r["mask"] * 255).astype(np.uint8)), ("chosen", r["chosen"])] + \
                [(f"rejected{j}", x) for j, x in enumerate(r["rejected"])]:
            names[key] = f"pref/{i}-{key}.png"
            Image.fromarray(img).save(os.path.join(HERE, names[key]), optimize=True)
        lines.append(json.dumps({
            "schema": "byteedit.preference/1", "time": f"2026-11-26T2{i}:00:00Z", "host": hosts[i], "mode": r["mode"],
            "prompt": r["prompt"] if r["mode"] != "erase" else "", "pack": {"name": "byteedit-small", "version": "0.1.0"},
            "image": names["image"], "mask": names["mask"], "chosen": names["chosen"],
            "rejected": [names[k] for k in names if k.startswith("rejected")], "note": "unknown fields are ignored"}))
        i += 1
    with open(os.path.join(HERE, "preferences.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines)} records -> {os.path.join(HERE, 'preferences.jsonl')}")


if __name__ == "__main__":
    main()
