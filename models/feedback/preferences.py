"""Preference data for stage 1: the editors' records (JSONL, `byteedit.preference/1`) and
procedural preferences generated from the base recipe's data.

A record, one JSON object per line (docs/preferences.md is the SDK-side description):

  {"schema": "byteedit.preference/1", "time": ISO-8601, "host": "gimp|photoshop|figma|cli|bridge",
   "mode": "edit|erase|outpaint", "prompt": str, "pack": {"name": str, "version": str},
   "image": REL, "mask": REL, "chosen": REL, "rejected": [REL, ...]}

REL paths are relative to the JSONL file's folder and name PNGs of one size: image = the context
crop the model saw, mask = white where edited, chosen/rejected = candidate results. Unknown
fields are ignored. A bad line is reported with its line number and skipped; reading never raises
on content.

Both sources become the same in-memory record: {prompt, mode, image, mask, chosen, rejected[]}
with uint8 HxWx3 images and a bool HxW mask at the model's resolution.
"""
import json
import os
import sys
from datetime import datetime

import cv2
import numpy as np
from PIL import Image

from common import D

SCHEMA = "byteedit.preference/1"
HOSTS = ("gimp", "photoshop", "figma", "cli", "bridge")
MODES = ("edit", "erase", "outpaint")


def _rel(base, v, field):
    if not isinstance(v, str) or not v:
        raise ValueError(f"{field}: expected a relative path string")
    if os.path.isabs(v):
        raise ValueError(f"{field}: {v!r} must be relative to the JSONL file's folder")
    p = os.path.normpath(os.path.join(base, v))
    if not os.path.isfile(p):
        raise ValueError(f"{field}: {v!r} not found")
    return p


def _png(p, field):
    try:
        with Image.open(p) as im:
            if im.format != "PNG":
                raise ValueError(f"{field}: {os.path.basename(p)} is {im.format}, not PNG")
            return np.asarray(im.convert("RGBA"))
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"{field}: cannot read {os.path.basename(p)} as PNG ({e.__class__.__name__})") from None


def _fit(img, size, interp):
    return cv2.resize(img, (size, size), interpolation=interp)


def parse_line(line, base, size):
    """One JSONL line -> record (images resized to size x size), or ValueError naming the problem."""
    try:
        o = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(o, dict):
        raise ValueError("expected a JSON object")
    if o.get("schema") != SCHEMA:
        raise ValueError(f"schema: expected {SCHEMA!r}, got {o.get('schema')!r}")
    t = o.get("time")
    try:
        datetime.fromisoformat(str(t).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"time: expected ISO-8601, got {t!r}") from None
    if o.get("host") not in HOSTS:
        raise ValueError(f"host: expected one of {', '.join(HOSTS)}, got {o.get('host')!r}")
    if o.get("mode") not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {o.get('mode')!r}")
    if not isinstance(o.get("prompt"), str):
        raise ValueError("prompt: expected a string")
    pk = o.get("pack")
    if not (isinstance(pk, dict) and isinstance(pk.get("name"), str) and isinstance(pk.get("version"), str)):
        raise ValueError("pack: expected {name: string, version: string}")
    rej = o.get("rejected")
    if not isinstance(rej, list) or not rej:
        raise ValueError("rejected: expected a non-empty list of paths")
    img = _png(_rel(base, o.get("image"), "image"), "image")
    mask = _png(_rel(base, o.get("mask"), "mask"), "mask")
    chosen = _png(_rel(base, o.get("chosen"), "chosen"), "chosen")
    rejected = [_png(_rel(base, r, f"rejected[{i}]"), f"rejected[{i}]") for i, r in enumerate(rej)]
    shape = img.shape[:2]
    for name, a in [("mask", mask), ("chosen", chosen)] + [(f"rejected[{i}]", r) for i, r in enumerate(rejected)]:
        if a.shape[:2] != shape:
            raise ValueError(f"{name}: {a.shape[1]}x{a.shape[0]} differs from image {shape[1]}x{shape[0]}")
    m = _fit(mask[..., :3].max(-1), size, cv2.INTER_AREA) > 127
    if not m.any():
        raise ValueError("mask: no white pixels")
    rgb = lambda a: _fit(np.ascontiguousarray(a[..., :3]), size, cv2.INTER_AREA)  # noqa: E731
    prompt = o["prompt"] if o["mode"] != "erase" else D.ERASE_PROMPT
    return dict(prompt=prompt, mode=o["mode"], image=rgb(img), mask=m, chosen=rgb(chosen), rejected=[rgb(r) for r in rejected],
                source="user")


def read_jsonl(path, size, report=None):
    """Valid records of one JSONL file; every bad line is reported as 'FILE:LINE: reason' and skipped."""
    report = report or (lambda msg: print(msg, file=sys.stderr, flush=True))
    out, bad = [], 0
    base = os.path.dirname(os.path.abspath(path))
    try:
        f = open(path, "r", encoding="utf-8", errors="replace")
    except OSError as e:
        report(f"{path}: cannot open ({e.strerror})")
        return out, 1
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(parse_line(line, base, size))
            except ValueError as e:
                bad += 1
                report(f"{path}:{n}: skipped: {e}")
    return out, bad


# ---------------------------------------------------------------- procedural preferences

def _wrong_object(rng, sc, texture_pool, size):
    """The same scene with another colour or another shape at the same place (an alignment loss)."""
    names = list(D.COLORS)
    if rng.uniform() < 0.5:
        color, shape = names[(names.index(sc["color"]) + int(rng.integers(1, len(names)))) % len(names)], sc["shape"]
    else:
        color, shape = sc["color"], D.SHAPES[(D.SHAPES.index(sc["shape"]) + int(rng.integers(1, len(D.SHAPES)))) % len(D.SHAPES)]
    cx, cy = sc["center"]
    alpha = D.shape_alpha(shape, cx, cy, sc["radius"], size)
    return D.composite(sc["background"], np.clip(np.array(D.COLORS[color]) + rng.integers(-12, 13, 3), 0, 255), alpha)


def _damage(rng, img, mask, texture_pool):
    """img with its masked region damaged the ways a bad fill looks (seam, blur, shift, flat, paste)."""
    k = rng.uniform()
    out = img.copy()
    if k < 0.25:
        b = cv2.GaussianBlur(img, (0, 0), rng.uniform(2, 6))
        out[mask] = b[mask]
    elif k < 0.5:
        shift = rng.uniform(-60, 60, 3)
        out = np.where(mask[..., None], np.clip(img.astype(np.float32) + shift, 0, 255), img).astype(np.uint8)
    elif k < 0.7:
        out[mask] = img[mask].reshape(-1, 3).mean(0).astype(np.uint8)
    elif k < 0.85:
        out = cv2.inpaint(img, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    else:
        other = D.make_background(rng, D.BACKGROUNDS[int(rng.integers(5))], img.shape[0], texture_pool)[0]
        out[mask] = other[mask]
    return out


def procedural_record(rng, clips, texture_pool, size):
    """A best/worst record like the editors write: the true completion is chosen; rejected are a
    wrong object (edit), a leftover object (erase) and damaged fills."""
    k = rng.uniform()
    if k < 0.45:  # edit: put a named object into the hole
        sc = D.sample_shape_scene(rng, size, texture_pool)
        mask = D.object_mask(rng, sc["alpha"])
        good = sc["image"]
        rejected = [_wrong_object(rng, sc, texture_pool, size), _damage(rng, good, mask, texture_pool)]
        return dict(prompt=D.shape_caption(rng, sc), mode="edit", image=sc["background"], mask=mask, chosen=good,
                    rejected=rejected, source="procedural")
    if k < 0.7:  # erase: the clean background wins over the object left in place or a smeared fill
        sc = D.sample_shape_scene(rng, size, texture_pool)
        mask = D.object_mask(rng, sc["alpha"])
        good = sc["background"]
        smear = _damage(rng, sc["image"], mask, texture_pool)
        return dict(prompt=D.ERASE_PROMPT, mode="erase", image=sc["image"], mask=mask, chosen=good,
                    rejected=[sc["image"], smear], source="procedural")
    # inpaint / outpaint of clip art or a scene: the untouched image wins over damaged fills
    if rng.uniform() < 0.5 or not clips:
        sc = D.sample_shape_scene(rng, size, texture_pool)
        img, cap = sc["image"], D.shape_caption(rng, sc, full=True)
    else:
        art, cap, _ = clips[int(rng.integers(len(clips)))]
        img = D.clip_on_white(art) if rng.uniform() < 0.5 else D.clip_on_background(rng, art, size, texture_pool)[0]
    mode = "outpaint" if rng.uniform() < 0.4 else "edit"
    mask = D.outpaint_mask(rng, size) if mode == "outpaint" else (D.blob_mask(rng, size) if rng.uniform() < 0.5 else D.box_mask(rng, size))
    return dict(prompt=cap, mode=mode, image=img, mask=mask, chosen=img,
                rejected=[_damage(rng, img, mask, texture_pool), _damage(rng, img, mask, texture_pool)], source="procedural")
