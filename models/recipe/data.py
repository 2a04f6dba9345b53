"""Training and evaluation data for the byteedit-small pack.

Two public-domain sources, both generated on the machine that runs the recipe:
  * procedural "shapes on textures": named-color shapes on muted backgrounds, with exact captions
    and the background kept, so an oracle can check edits and erases;
  * openclipart-svg (Debian package, CC0 / public-domain dedication), rasterized with rsvg-convert,
    captioned from <dc:title> and the category folder.

Held-out split: clip art by a hash of the file path (every 10th bucket), procedural by seed range
(training draws use seeds < 10**6, evaluation cases use seeds >= 10**9).
"""
import hashlib
import math
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from PIL import Image, ImageDraw

COLORS = {
    "red": (220, 30, 30),
    "green": (30, 165, 50),
    "blue": (35, 70, 225),
    "yellow": (245, 220, 30),
    "orange": (250, 135, 20),
    "purple": (140, 45, 185),
    "white": (250, 250, 250),
    "black": (15, 15, 15),
}
SHAPES = ["circle", "square", "triangle", "star", "heart"]
SIZES = {"small": (0.11, 0.15), "medium": (0.17, 0.23), "large": (0.26, 0.34)}  # radius / side
BACKGROUNDS = ["gradient", "stripes", "checks", "noise", "texture"]
BG_WORDS = {"gradient": "a gradient", "stripes": "stripes", "checks": "checks", "noise": "noise", "texture": "a texture"}
ERASE_PROMPT = "background"
CLIPART_ROOT = "/usr/share/openclipart/svg"


# ---------------------------------------------------------------- backgrounds

def muted_color(rng):
    """A desaturated mid-tone colour: never confusable with the saturated/white/black object colours."""
    h = rng.uniform(0, 1)
    s = rng.uniform(0.05, 0.35)
    v = rng.uniform(0.35, 0.78)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, np.float32) * 255


def make_background(rng, kind, size, texture_pool=None):
    h = w = size
    c1, c2 = muted_color(rng), muted_color(rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / size
    ang = rng.uniform(0, math.pi)
    proj = xx * math.cos(ang) + yy * math.sin(ang)
    if kind == "gradient":
        t = (proj - proj.min()) / max(1e-6, proj.max() - proj.min())
    elif kind == "stripes":
        period = rng.uniform(0.06, 0.2)
        t = (np.sin(proj / period * 2 * math.pi) > 0).astype(np.float32)
        t = cv2.GaussianBlur(t, (0, 0), max(0.5, size / 256))
    elif kind == "checks":
        cell = rng.uniform(0.06, 0.18)
        t = ((np.floor(xx / cell) + np.floor(yy / cell)) % 2).astype(np.float32)
        t = cv2.GaussianBlur(t, (0, 0), max(0.5, size / 256))
    elif kind == "noise":
        g = max(4, int(rng.integers(4, 12)))
        small = rng.uniform(0, 1, (g, g)).astype(np.float32)
        t = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        t = np.clip(t, 0, 1) * 0.85 + rng.uniform(0, 0.15, (h, w)).astype(np.float32)
    else:  # texture: a desaturated crop of a clip-art raster, tinted between the two colours
        if texture_pool:
            src = texture_pool[int(rng.integers(len(texture_pool)))]
            a = src[..., 3:4].astype(np.float32) / 255
            g = (src[..., :3].astype(np.float32) * a + 255 * (1 - a)).mean(-1) / 255
            k = int(rng.integers(48, src.shape[0] + 1))
            y0, x0 = rng.integers(0, src.shape[0] - k + 1), rng.integers(0, src.shape[1] - k + 1)
            t = cv2.resize(np.ascontiguousarray(g[y0:y0 + k, x0:x0 + k]), (w, h), interpolation=cv2.INTER_LINEAR)
        else:
            t = (np.sin(xx * 23) * np.cos(yy * 17) + 1) / 2
    t = np.clip(t, 0, 1)[..., None]
    img = c1 * (1 - t) + c2 * t
    return np.clip(img, 0, 255).astype(np.uint8), (c1, c2)


# ---------------------------------------------------------------- shapes

def shape_polygon(shape, cx, cy, r, n=64):
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r * 1.1, cy + r * 0.85), (cx - r * 1.1, cy + r * 0.85)]
    if shape == "star":
        pts = []
        for i in range(10):
            a = -math.pi / 2 + i * math.pi / 5
            rr = r if i % 2 == 0 else r * 0.42
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a) + r * 0.1))
        return pts
    if shape == "heart":
        pts = []
        for i in range(n):
            t = 2 * math.pi * i / n
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            pts.append((cx + x * r / 16, cy - y * r / 16 - r * 0.1))
        return pts
    return [(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n)) for i in range(n)]


def shape_alpha(shape, cx, cy, r, size, ss=4):
    """Anti-aliased coverage mask (float32 0..1) of one shape."""
    im = Image.new("L", (size * ss, size * ss), 0)
    ImageDraw.Draw(im).polygon([(x * ss, y * ss) for x, y in shape_polygon(shape, cx, cy, r)], fill=255)
    return np.asarray(im.resize((size, size), Image.BILINEAR), np.float32) / 255


def composite(bg, rgb, alpha):
    a = alpha[..., None]
    return np.clip(bg.astype(np.float32) * (1 - a) + np.asarray(rgb, np.float32) * a, 0, 255).astype(np.uint8)


def sample_shape_scene(rng, size=128, texture_pool=None, color=None, shape=None, sizename=None, bgkind=None):
    color = color or list(COLORS)[int(rng.integers(len(COLORS)))]
    shape = shape or SHAPES[int(rng.integers(len(SHAPES)))]
    sizename = sizename or list(SIZES)[int(rng.integers(len(SIZES)))]
    bgkind = bgkind or BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    lo, hi = SIZES[sizename]
    r = rng.uniform(lo, hi) * size
    m = r * 1.15
    cx, cy = rng.uniform(m, size - m), rng.uniform(m, size - m)
    bg, bgc = make_background(rng, bgkind, size, texture_pool)
    alpha = shape_alpha(shape, cx, cy, r, size)
    jitter = rng.integers(-12, 13, 3)
    rgb = np.clip(np.array(COLORS[color]) + jitter, 0, 255)
    img = composite(bg, rgb, alpha)
    return dict(image=img, background=bg, alpha=alpha, color=color, shape=shape, size=sizename, bg=bgkind,
                center=(cx, cy), radius=r, bg_colors=bgc)


def shape_caption(rng, sc, full=False):
    words = ["a"]
    if full or rng.uniform() < 0.6:
        words.append(sc["size"])
    words += [sc["color"], sc["shape"]]
    if full or rng.uniform() < 0.4:
        words += ["on", BG_WORDS[sc["bg"]]]
    return " ".join(words)


# ---------------------------------------------------------------- masks

def dilate(m, px):
    if px <= 0:
        return m
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(m, k)


def blob_mask(rng, size, cx=None, cy=None, scale=None):
    cx = rng.uniform(0.2, 0.8) * size if cx is None else cx
    cy = rng.uniform(0.2, 0.8) * size if cy is None else cy
    scale = rng.uniform(0.12, 0.35) * size if scale is None else scale
    n = 12
    radii = scale * (1 + 0.35 * (rng.uniform(-1, 1, n)))
    pts = [(cx + radii[i] * math.cos(2 * math.pi * i / n), cy + radii[i] * math.sin(2 * math.pi * i / n)) for i in range(n)]
    m = np.zeros((size, size), np.uint8)
    cv2.fillPoly(m, [np.array(pts, np.int32)], 1)
    return cv2.GaussianBlur(m.astype(np.float32), (0, 0), size / 64) > 0.5


def box_mask(rng, size):
    w, h = rng.uniform(0.15, 0.6, 2) * size
    x0, y0 = rng.uniform(0, size - w), rng.uniform(0, size - h)
    m = np.zeros((size, size), bool)
    m[int(y0):int(y0 + h), int(x0):int(x0 + w)] = True
    return m


def stroke_mask(rng, size):
    m = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0, size, 2)
        width = int(rng.uniform(0.04, 0.12) * size)
        for _ in range(int(rng.integers(3, 8))):
            a = rng.uniform(0, 2 * math.pi)
            L = rng.uniform(0.1, 0.3) * size
            nx, ny = np.clip(x + L * math.cos(a), 0, size - 1), np.clip(y + L * math.sin(a), 0, size - 1)
            cv2.line(m, (int(x), int(y)), (int(nx), int(ny)), 1, width)
            x, y = nx, ny
    return m > 0


def outpaint_mask(rng, size):
    m = np.zeros((size, size), bool)
    sides = [s for s in range(4) if rng.uniform() < 0.5] or [int(rng.integers(4))]
    for s in sides:
        k = int(rng.uniform(0.12, 0.45) * size)
        if s == 0:
            m[:, :k] = True
        elif s == 1:
            m[:, size - k:] = True
        elif s == 2:
            m[:k, :] = True
        else:
            m[size - k:, :] = True
    return m


def object_mask(rng, alpha, kind=None):
    """A mask that covers an object: dilated silhouette, its bounding box, or a blob around it."""
    size = alpha.shape[0]
    obj = (alpha > 0.05).astype(np.uint8)
    kind = kind or ["silhouette", "box", "blob"][int(rng.integers(3))]
    ys, xs = np.nonzero(obj)
    if len(xs) == 0:
        return blob_mask(rng, size)
    if kind == "silhouette":
        return dilate(obj, int(rng.integers(2, max(3, size // 14)))) > 0
    if kind == "box":
        pad = rng.integers(2, max(3, size // 10), 4)
        m = np.zeros((size, size), bool)
        m[max(0, ys.min() - pad[0]):ys.max() + pad[1] + 1, max(0, xs.min() - pad[2]):xs.max() + pad[3] + 1] = True
        return m
    cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
    rad = max(xs.max() - xs.min(), ys.max() - ys.min()) / 2
    b = blob_mask(rng, size, cx, cy, rad * rng.uniform(1.25, 1.6))
    return b | (dilate(obj, 2) > 0)


# ---------------------------------------------------------------- clip art

def clipart_files():
    files = []
    for root, _, names in os.walk(CLIPART_ROOT):
        for n in names:
            if n.endswith(".svg"):
                files.append(os.path.join(root, n))
    files.sort()
    return files


def is_heldout(path):
    return int(hashlib.sha1(path.encode()).hexdigest(), 16) % 10 == 0


def clipart_caption(path):
    try:
        with open(path, "r", encoding="utf-8", errors="ignore") as f:
            txt = f.read(20000)
        titles = re.findall(r"<dc:title>([^<]*)</dc:title>", txt)
    except OSError:
        titles = []
    title = next((t for t in titles if t.strip() and "open clip art" not in t.lower()), "")
    if not title:
        title = os.path.splitext(os.path.basename(path))[0]
    rel = os.path.relpath(os.path.dirname(path), CLIPART_ROOT).split(os.sep)
    words = re.findall(r"[a-z0-9]+", (title + " " + " ".join(rel)).lower().replace("_", " "))
    words = [w for w in words if not w.isdigit() and len(w) > 1]
    return " ".join(words[:10])


def rasterize(path, size, out):
    """RGBA uint8 raster of an SVG fitted into size x size, or None (timeout, error, empty)."""
    if not os.path.exists(out):
        try:
            subprocess.run(["rsvg-convert", "-w", str(size), "-h", str(size), "-a", "-o", out, path],
                           timeout=4, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except Exception:
            return None
    try:
        im = Image.open(out).convert("RGBA")
    except Exception:
        return None
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    a = np.asarray(canvas)
    if (a[..., 3] > 128).mean() < 0.05:
        return None
    return a


def load_clipart(n, size, cache_dir, seed=0, heldout=False, workers=2):
    """n rasters (RGBA) with captions, chosen deterministically from the train or held-out split."""
    files = [f for f in clipart_files() if is_heldout(f) == heldout]
    rng = np.random.default_rng(seed)
    rng.shuffle(files)
    os.makedirs(cache_dir, exist_ok=True)
    picked = files[: int(n * 1.3) + 8]

    def job(p):
        key = hashlib.sha1(p.encode()).hexdigest()[:16]
        a = rasterize(p, size, os.path.join(cache_dir, f"{key}_{size}.png"))
        return None if a is None else (a, clipart_caption(p), p)

    with ThreadPoolExecutor(workers) as ex:
        res = [r for r in ex.map(job, picked) if r is not None]
    return res[:n]


def clip_on_background(rng, art, size, texture_pool=None, scale=None):
    """Paste one clip-art raster as an object onto a procedural background; returns image, bg, alpha."""
    bg, _ = make_background(rng, BACKGROUNDS[int(rng.integers(4))], size, texture_pool)
    scale = scale or rng.uniform(0.35, 0.7)
    s = max(8, int(size * scale))
    a = cv2.resize(art, (s, s), interpolation=cv2.INTER_AREA)
    x0, y0 = int(rng.integers(0, size - s + 1)), int(rng.integers(0, size - s + 1))
    alpha = np.zeros((size, size), np.float32)
    rgb = np.zeros((size, size, 3), np.float32)
    alpha[y0:y0 + s, x0:x0 + s] = a[..., 3] / 255.0
    rgb[y0:y0 + s, x0:x0 + s] = a[..., :3]
    img = np.clip(bg * (1 - alpha[..., None]) + rgb * alpha[..., None], 0, 255).astype(np.uint8)
    return img, bg, alpha


def clip_on_white(art):
    a = art[..., 3:4].astype(np.float32) / 255
    return np.clip(art[..., :3] * a + 255 * (1 - a), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- training samples

TASKS = [  # (name, probability)
    ("shape_edit", 0.36), ("shape_erase", 0.14), ("clip_edit", 0.12), ("clip_erase", 0.05),
    ("inpaint", 0.15), ("outpaint", 0.18),
]


def training_sample(rng, clips, size, texture_pool):
    """One (target image, mask, caption, task) for the inpainting UNet."""
    r = rng.uniform()
    acc = 0
    for task, p in TASKS:
        acc += p
        if r < acc:
            break
    if task in ("shape_edit", "shape_erase"):
        sc = sample_shape_scene(rng, size, texture_pool)
        mask = object_mask(rng, sc["alpha"])
        if task == "shape_edit":
            return sc["image"], mask, shape_caption(rng, sc), task
        return sc["background"], mask, ERASE_PROMPT, task
    art, cap, _ = clips[int(rng.integers(len(clips)))]
    if task in ("clip_edit", "clip_erase"):
        img, bg, alpha = clip_on_background(rng, art, size, texture_pool)
        mask = object_mask(rng, alpha)
        return (img, mask, cap, task) if task == "clip_edit" else (bg, mask, ERASE_PROMPT, task)
    # inpaint / outpaint: on a shapes scene or a clip-art image
    if rng.uniform() < 0.5:
        sc = sample_shape_scene(rng, size, texture_pool)
        img, cap = sc["image"], shape_caption(rng, sc, full=rng.uniform() < 0.5)
    elif rng.uniform() < 0.5:
        img = clip_on_white(art)
    else:
        img, _, _ = clip_on_background(rng, art, size, texture_pool, scale=rng.uniform(0.6, 1.0))
    if task == "outpaint":
        mask = outpaint_mask(rng, size)
    else:
        k = rng.uniform()
        mask = blob_mask(rng, size) if k < 0.4 else box_mask(rng, size) if k < 0.7 else stroke_mask(rng, size)
    return img, mask, cap, task


# ---------------------------------------------------------------- evaluation cases

def eval_cases(n, size=512, seed=10**9, texture_pool=None):
    """Held-out edit and erase cases with oracle truth.

    Each edit case: a background with a grey-free hole region, a mask sized like an object, a prompt
    "a <color> <shape>", and the truth colour/shape. Each erase case: the same kind of scene with an
    object, mask over it, and the clean background as truth. Colours and shapes cycle so that every
    colour appears equally often; the mask does not depend on the prompt.
    """
    cases = []
    names = list(COLORS)
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        color = names[i % len(names)]
        shape = SHAPES[(i // len(names)) % len(SHAPES)]
        bgkind = BACKGROUNDS[i % len(BACKGROUNDS)]
        sc = sample_shape_scene(rng, size, texture_pool, color=color, shape=shape,
                                sizename=["medium", "large"][i % 2], bgkind=bgkind)
        # the edit mask: a blob/box around where an object-sized thing goes, independent of the prompt
        emask = object_mask(rng, sc["alpha"], kind=["box", "blob"][i % 2])
        cases.append(dict(kind="edit", id=f"edit-{i:03d}", image=sc["background"], background=sc["background"],
                          mask=emask, prompt=f"a {color} {shape}", color=color, shape=shape,
                          bg_colors=sc["bg_colors"], object_area=float((sc["alpha"] > 0.5).sum())))
        # erase: the object drawn, then removed
        other = names[(i * 3 + 1) % len(names)]
        sc2 = sample_shape_scene(rng, size, texture_pool, color=other, shape=SHAPES[i % len(SHAPES)],
                                 sizename=["medium", "large"][(i + 1) % 2], bgkind=BACKGROUNDS[(i + 2) % len(BACKGROUNDS)])
        xmask = object_mask(rng, sc2["alpha"], kind=["silhouette", "box", "blob"][i % 3])
        cases.append(dict(kind="erase", id=f"erase-{i:03d}", image=sc2["image"], background=sc2["background"],
                          mask=xmask, prompt="", color=other, shape=sc2["shape"],
                          bg_colors=sc2["bg_colors"], object_area=float((sc2["alpha"] > 0.5).sum())))
    return cases
