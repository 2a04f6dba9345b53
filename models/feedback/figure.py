#!/usr/bin/python3
"""A picture of the ablation: the first cases of the core evaluation (not picked by hand), the
input with its mask outlined, then what each pack made of it through the core.

    /usr/bin/python3 models/feedback/figure.py --out WORK --png docs/img/feedback-ablation.png [--edits 4 --erases 2]

Reads WORK/eval/<pack>/{cases,out}/ as evaluate.py leaves them. Columns: base at 20 and 8 steps,
+ feedback fine-tuning at 20, the accelerated 8- and 4-step packs; one edit row per mask (its first
prompt) and then the erases.
"""
import argparse
import json
import os

import numpy as np
from PIL import Image, ImageDraw

COLUMNS = [("base", 20, "base, 20 steps"), ("base", 8, "base, 8 steps"), ("feedback", 20, "+ ReFL, 20"),
           ("byteedit-small", 8, "0.2.0, 8 steps"), ("byteedit-small-4step", 4, "0.2.0 4-step, 4")]
TILE = 160


def outline(img, mask):
    """The input with the mask's edge drawn in magenta."""
    m = np.asarray(mask.convert("L").resize(img.size)) > 127
    edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
    edge = edge | np.roll(edge, 1, 0) | np.roll(edge, 1, 1)
    a = np.asarray(img.convert("RGB")).copy()
    a[edge] = (255, 0, 255)
    return Image.fromarray(a)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="the chain's work folder")
    ap.add_argument("--png", required=True)
    ap.add_argument("--edits", type=int, default=4)
    ap.add_argument("--erases", type=int, default=2)
    a = ap.parse_args()
    ev = os.path.join(a.out, "eval")
    cases = json.load(open(os.path.join(ev, "base", "cases", "cases.json")))
    first = {}
    for c in cases:
        first.setdefault(c["id"], c)  # an edit mask comes with two prompts: its first one
    rows = [c for c in first.values() if c["kind"] == "edit"][:a.edits] + [c for c in first.values() if c["kind"] == "erase"][:a.erases]
    head = 22
    sheet = Image.new("RGB", ((len(COLUMNS) + 1) * TILE, head + len(rows) * (TILE + 18)), "white")
    d = ImageDraw.Draw(sheet)
    for j, label in enumerate(["input + mask"] + [c[2] for c in COLUMNS]):
        d.text((j * TILE + 6, 5), label, fill="black")
    for i, c in enumerate(rows):
        y = head + i * (TILE + 18)
        inp = Image.open(os.path.join(ev, "base", "cases", c["id"] + ".png"))
        mask = Image.open(os.path.join(ev, "base", "cases", c["id"] + "-mask.png"))
        sheet.paste(outline(inp, mask).resize((TILE, TILE), Image.LANCZOS), (0, y))
        run = c["run"]
        d.text((6, y + TILE + 3), f'"{c["prompt"]}"' if c["kind"] == "edit" else "erase", fill="black")
        for j, (folder, steps, _) in enumerate(COLUMNS):
            p = os.path.join(ev, folder, "out", f"{run}-s{steps}.png")
            if os.path.exists(p):
                sheet.paste(Image.open(p).convert("RGB").resize((TILE, TILE), Image.LANCZOS), ((j + 1) * TILE, y))
    os.makedirs(os.path.dirname(os.path.abspath(a.png)), exist_ok=True)
    sheet.save(a.png, optimize=True)
    print(f"wrote {a.png} ({len(rows)} cases x {len(COLUMNS)} packs)")


if __name__ == "__main__":
    main()
