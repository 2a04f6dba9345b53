#!/usr/bin/python3
"""docs/img/before-after.png for the README: before | mask | after, from files the CLI wrote.
Usage: make_readme_figure.py BEFORE MASK AFTER OUT [CAPTION]"""
import sys
from PIL import Image, ImageDraw

before, mask, after, out = sys.argv[1:5]
caption = sys.argv[5] if len(sys.argv) > 5 else ""
b = Image.open(before).convert("RGB")
m = Image.open(mask).convert("L")
a = Image.open(after).convert("RGB")
overlay = b.copy()
red = Image.new("RGB", b.size, (255, 40, 40))
overlay.paste(Image.blend(b, red, 0.55), (0, 0), m)
w, h = b.size
pad = 8
label = 24
canvas = Image.new("RGB", (3 * w + 4 * pad, h + 2 * pad + label + (22 if caption else 0)), (255, 255, 255))
d = ImageDraw.Draw(canvas)
for i, (img, text) in enumerate([(b, "before"), (overlay, "mask (red)"), (a, "after")]):
    x = pad + i * (w + pad)
    canvas.paste(img, (x, pad + label))
    d.text((x + 4, pad + 4), text, fill=(20, 20, 20))
if caption:
    d.text((pad + 4, pad + label + h + 6), caption, fill=(60, 60, 60))
canvas.save(out)
