#!/usr/bin/python3
"""Writes docs/examples/before.png, mask.png and mask-sun.png: a 512x512 scene (sky gradient, hills,
sun), a mask where the README's example edit goes and one over the sun (the README's erase).
Deterministic; run with Debian's python3-pil."""
import os
from PIL import Image, ImageDraw

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "examples")
os.makedirs(OUT, exist_ok=True)
W = H = 512
img = Image.new("RGB", (W, H))
px = img.load()
for y in range(H):
    for x in range(W):
        t = y / H
        px[x, y] = (int(90 + 100 * t), int(150 + 70 * t), int(235 - 30 * t))
d = ImageDraw.Draw(img)
d.ellipse((360, 60, 440, 140), fill=(255, 215, 90))
d.ellipse((-200, 330, 380, 700), fill=(70, 140, 70))
d.ellipse((200, 360, 760, 760), fill=(50, 120, 60))
img.save(os.path.join(OUT, "before.png"))
mask = Image.new("L", (W, H), 0)
ImageDraw.Draw(mask).ellipse((150, 170, 290, 310), fill=255)
mask.save(os.path.join(OUT, "mask.png"))
sun = Image.new("L", (W, H), 0)
ImageDraw.Draw(sun).ellipse((352, 52, 448, 148), fill=255)
sun.save(os.path.join(OUT, "mask-sun.png"))
