#!/usr/bin/env python3
"""Builds byteedit's evaluation photo set from Debian packages (run with Debian's /usr/bin/python3).

    /usr/bin/python3 models/photos/build.py [--out models/photos/build]

Downloads (does not install) python3-skimage and mate-backgrounds with `apt-get download`, extracts
16 real photographs listed in SOURCES (licenses in LICENSES.md), scales each to at most 768 px on
its long side, and writes for each photo two deterministic masks: an object-sized blob
("<name>_object.png", 3-7 % of the image) and brush strokes ("<name>_strokes.png"). Masks are
8-bit, 255 = fill. Needs python3-opencv and python3-numpy; run `apt-get update` once first.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import cv2
import numpy as np

SKIMAGE = 'usr/lib/python3/dist-packages/skimage/data/'
MATE = 'usr/share/backgrounds/mate/nature/'
# (name, Debian package, path inside the package)
SOURCES = [
    ('astronaut', 'python3-skimage', SKIMAGE + 'astronaut.png'),
    ('chelsea', 'python3-skimage', SKIMAGE + 'chelsea.png'),
    ('coffee', 'python3-skimage', SKIMAGE + 'coffee.png'),
    ('rocket', 'python3-skimage', SKIMAGE + 'rocket.jpg'),
    ('camera', 'python3-skimage', SKIMAGE + 'camera.png'),
    ('brick', 'python3-skimage', SKIMAGE + 'brick.png'),
    ('grass', 'python3-skimage', SKIMAGE + 'grass.png'),
    ('gravel', 'python3-skimage', SKIMAGE + 'gravel.png'),
    ('aqua', 'mate-backgrounds', MATE + 'Aqua.jpg'),
    ('blinds', 'mate-backgrounds', MATE + 'Blinds.jpg'),
    ('dune', 'mate-backgrounds', MATE + 'Dune.jpg'),
    ('garden', 'mate-backgrounds', MATE + 'Garden.jpg'),
    ('greenmeadow', 'mate-backgrounds', MATE + 'GreenMeadow.jpg'),
    ('ladybird', 'mate-backgrounds', MATE + 'LadyBird.jpg'),
    ('storm', 'mate-backgrounds', MATE + 'Storm.jpg'),
    ('wood', 'mate-backgrounds', MATE + 'Wood.jpg'),
]
MAX_SIDE = 768


def fetch_packages(tmp):
    pkgs = sorted({p for _, p, _ in SOURCES})
    subprocess.run(['apt-get', 'download', *pkgs], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    root = os.path.join(tmp, 'root')
    for deb in os.listdir(tmp):
        if deb.endswith('.deb'):
            subprocess.run(['dpkg-deb', '-x', os.path.join(tmp, deb), root], check=True)
    return root


def load_photo(path):
    im = cv2.imread(path, cv2.IMREAD_COLOR)  # greyscale photos become 3 equal channels
    if im is None:
        sys.exit(f'cannot read {path}')
    h, w = im.shape[:2]
    scale = MAX_SIDE / max(h, w)
    if scale < 1:
        im = cv2.resize(im, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return im


def object_mask(h, w, rng):
    """A blob the size of a removed object: a few overlapping ellipses, 3-7 % of the image."""
    target = rng.uniform(0.03, 0.07) * h * w
    while True:
        m = np.zeros((h, w), np.uint8)
        cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h
        base = np.sqrt(target / np.pi)
        for _ in range(rng.integers(2, 5)):
            ax = base * rng.uniform(0.5, 1.1)
            ay = base * rng.uniform(0.5, 1.1)
            ox, oy = rng.normal(0, base * 0.35, 2)
            cv2.ellipse(m, (int(cx + ox), int(cy + oy)), (int(ax), int(ay)), float(rng.uniform(0, 180)), 0, 360, 255, -1)
        area = np.count_nonzero(m)
        if 0.6 * target <= area <= 1.4 * target:
            return m


def stroke_mask(h, w, rng):
    """Brush strokes like a user erasing a wire or a scratch: 2-4 wobbly polylines, 6-18 px wide."""
    m = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(2, 5)):
        n = rng.integers(3, 7)
        x, y = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
        angle = rng.uniform(0, 2 * np.pi)
        pts = [(x, y)]
        for _ in range(n):
            angle += rng.normal(0, 0.6)
            step = rng.uniform(0.05, 0.15) * max(h, w)
            x = float(np.clip(x + step * np.cos(angle), 0, w - 1))
            y = float(np.clip(y + step * np.sin(angle), 0, h - 1))
            pts.append((x, y))
        width = int(rng.integers(6, 19))
        cv2.polylines(m, [np.array(pts, np.int32)], False, 255, width, lineType=cv2.LINE_8)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'build'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='byteedit-photos-')
    os.chmod(tmp, 0o755)  # apt's _apt user writes the download there
    try:
        root = fetch_packages(tmp)
        for i, (name, _pkg, rel) in enumerate(SOURCES):
            im = load_photo(os.path.join(root, rel))
            h, w = im.shape[:2]
            rng = np.random.default_rng(1000 + i)
            cv2.imwrite(os.path.join(args.out, f'{name}.png'), im)
            cv2.imwrite(os.path.join(args.out, f'{name}_object.png'), object_mask(h, w, rng))
            cv2.imwrite(os.path.join(args.out, f'{name}_strokes.png'), stroke_mask(h, w, rng))
            print(f'{name}: {w}x{h}')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
