"""The oracle that checks edit and erase results on procedural "shapes on textures" cases.

Every procedural background is c1*(1-t) + c2*t with t in [0, 1], so its pixels lie on the RGB
segment c1-c2. A pixel farther than OFF_SEGMENT from that segment is foreign to the background:
that is what the oracle calls "object". The named object colours are saturated (or white/black)
while backgrounds are muted mid-tones, so named-colour objects are always off the segment.

  edit:  object pixels = off-segment pixels inside the mask. Found when they cover >= 4 % of the
         mask; colour = the most frequent nearest named colour among them; shape = the template
         (circle, square, triangle, star, heart) with the best IoU against the largest connected
         component, both scaled to its bounding box.
  erase: fails when the largest connected component of off-segment pixels inside the mask is at
         least 20 % of the area of the object that was removed.
"""
import cv2
import numpy as np

from data import COLORS, SHAPES, shape_alpha

OFF_SEGMENT = 40.0
_PROTO = np.array([COLORS[c] for c in COLORS], np.float32)
_NAMES = list(COLORS)
_TEMPLATES = None


def _templates(n=32):
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = {}
        for s in SHAPES:
            a = shape_alpha(s, 64, 64, 40, 128) > 0.5
            ys, xs = np.nonzero(a)
            crop = a[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.uint8)
            _TEMPLATES[s] = cv2.resize(crop, (n, n), interpolation=cv2.INTER_NEAREST) > 0
    return _TEMPLATES


def off_segment(img, c1, c2):
    p = img.astype(np.float32)
    c1, c2 = np.asarray(c1, np.float32), np.asarray(c2, np.float32)
    d = c2 - c1
    t = np.clip(((p - c1) @ d) / max(1e-6, float(d @ d)), 0, 1)
    return np.linalg.norm(p - (c1 + t[..., None] * d), axis=-1)


def _inner(mask, size):
    k = max(1, size // 128)
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * k + 1, 2 * k + 1), np.uint8)) > 0


def _largest_cc(binary):
    n, lab, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros_like(binary, bool)
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return lab == i


def classify_shape(component):
    ys, xs = np.nonzero(component)
    if len(xs) < 6:
        return None, 0.0
    crop = component[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.uint8)
    crop = cv2.morphologyEx(crop, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    c = cv2.resize(crop, (32, 32), interpolation=cv2.INTER_NEAREST) > 0
    best, biou = None, -1.0
    for s, t in _templates().items():
        iou = (c & t).sum() / max(1, (c | t).sum())
        if iou > biou:
            best, biou = s, float(iou)
    return best, biou


def judge_edit(result, case):
    mask = _inner(case["mask"] > 0, result.shape[0])
    off = (off_segment(result, *case["bg_colors"]) > OFF_SEGMENT) & mask
    off = cv2.morphologyEx(off.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    found = off.sum() >= 0.04 * max(1, mask.sum())
    out = dict(found=bool(found), color=None, shape=None)
    if not found:
        out.update(color_ok=False, shape_ok=False)
        return out
    px = result[off].astype(np.float32)
    lab = np.argmin(((px[:, None, :] - _PROTO[None]) ** 2).sum(-1), axis=1)
    color = _NAMES[int(np.bincount(lab, minlength=len(_NAMES)).argmax())]
    comp = np.zeros(off.shape, bool)
    comp[off] = lab == _NAMES.index(color)
    shape, iou = classify_shape(_largest_cc(comp))
    out.update(color=color, shape=shape, shape_iou=iou, color_ok=color == case["color"], shape_ok=shape == case["shape"])
    return out


def judge_erase(result, case):
    mask = _inner(case["mask"] > 0, result.shape[0])
    off = (off_segment(result, *case["bg_colors"]) > OFF_SEGMENT) & mask
    off = cv2.morphologyEx(off.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    big = float(_largest_cc(off).sum())
    return dict(residual_area=big / max(1.0, case["object_area"]), clean=big < 0.2 * case["object_area"])


def unmasked_unchanged(result, source, mask):
    keep = mask == 0
    return float((result[keep] == source[keep]).all(-1).mean()) if keep.any() else 1.0
