"""Host-side preparation for GIMP: the Python mirror of core/src/host/prepare.ts.

Which part of the image to send around a selection (context_region) or for an outpaint
(outpaint_context), a mask's bounds, where a candidate lands, its hard layer mask and its layer
name: the same rules, and the same answers, as the TypeScript that Photoshop and Figma use. The
reasons for each rule are written once, in prepare.ts's header. Both sides are held to one table
of cases (plugins/gimp-bridge/test/host-prepare-cases.json); change the two together.

Rectangles are (x, y, width, height) tuples, like core's Rect. Standard library only, no GIMP
imports, so it runs under a plain python3.
"""
import math
import re

PAD_FRACTION = 0.5
MIN_PAD = 32
MAX_PAD = 512
MIN_SIDE = 512
MAX_PIXELS = 4000000
BAND = 520
LAYER_NAME_PROMPT_LENGTH = 32
ALIGN = 8

# 0 stays 0, anything else becomes 255 (bytes.translate table).
_HARD = bytes([0] + [255] * 255)
# The same explicit list as prepare.ts's NAME_SPACE (Python's \s is not JavaScript's).
_NAME_SPACE = re.compile("[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+")


def _align_up(v):
    return -(-v // ALIGN) * ALIGN


def _grow_span(start, end, want, lo, hi):
    """[start, end) grown to `want` around its centre, shifted into [lo, hi); rounding half up."""
    length = end - start
    target = min(hi - lo, max(length, want))
    s = max(lo, min(hi - target, start + (length - target + 1) // 2))
    return s, s + target


def _context_span(a, b, pad, side, lo, hi):
    s = max(lo, a - pad)
    e = min(hi, b + pad)
    return _grow_span(s, e, _align_up(max(e - s, side)), lo, hi) if side > 0 else (s, e)


def context_region(selection, doc_size, pad_fraction=PAD_FRACTION, min_pad=MIN_PAD, max_pad=MAX_PAD, min_side=MIN_SIDE, max_pixels=MAX_PIXELS, within=None):
    """The region to send for an edit or erase of `selection` (x, y, w, h) in a (width, height)
    document, clipped to `within` (x, y, w, h; GIMP: the active layer). None when it misses."""
    width, height = doc_size
    lx0 = max(0, within[0] if within else 0)
    ly0 = max(0, within[1] if within else 0)
    lx1 = min(width, within[0] + within[2] if within else width)
    ly1 = min(height, within[1] + within[3] if within else height)
    sx, sy, sw, sh = selection
    x0, y0, x1, y1 = max(lx0, sx), max(ly0, sy), min(lx1, sx + sw), min(ly1, sy + sh)
    if x1 <= x0 or y1 <= y0:
        return None
    pad = min(max_pad, max(min_pad, int(math.floor(pad_fraction * max(x1 - x0, y1 - y0) + 0.5))))
    side = min_side
    while True:
        cx0, cx1 = _context_span(x0, x1, pad, side, lx0, lx1)
        cy0, cy1 = _context_span(y0, y1, pad, side, ly0, ly1)
        if (cx1 - cx0) * (cy1 - cy0) <= max_pixels or (pad <= 0 and side <= 0):
            return (cx0, cy0, cx1 - cx0, cy1 - cy0)
        if pad > 0:
            pad //= 2
        else:
            side //= 2


def outpaint_context(doc_size, margins, band=BAND, max_pixels=MAX_PIXELS):
    """(region, expand, canvas) for outpainting a (width, height) document by margins (left, top,
    right, bottom): a band along the one growing edge, or everything when several grow. None when
    no margin is above 0."""
    width, height = doc_size
    left, top, right, bottom = margins
    growing = len([m for m in margins if m > 0])
    if growing == 0:
        return None
    if growing == 1:
        along = height if (left > 0 or right > 0) else width
        if band * along > max_pixels:
            band = max(1, max_pixels // along)
    boxes = []
    if left > 0:
        boxes.append((0, 0, min(width, band), height))
    if right > 0:
        boxes.append((max(0, width - band), 0, width, height))
    if top > 0:
        boxes.append((0, 0, width, min(height, band)))
    if bottom > 0:
        boxes.append((0, max(0, height - band), width, height))
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    region = (x0, y0, x1 - x0, y1 - y0)
    return region, (left, top, right, bottom), (region[2] + left + right, region[3] + top + bottom)


def mask_bounds(width, height, data):
    """(x, y, w, h) of the non-zero bytes of a one-byte-per-pixel mask, or None when all are 0.
    Row by row with bytes operations (C speed): GIMP's Python has no numpy."""
    data = bytes(data)
    x0, y0, x1, y1 = width, -1, -1, -1
    for y in range(height):
        row = data[y * width:(y + 1) * width]
        stripped = row.lstrip(b"\0")
        if not stripped:
            continue
        if y0 < 0:
            y0 = y
        y1 = y
        x0 = min(x0, width - len(stripped))
        x1 = max(x1, len(row.rstrip(b"\0")) - 1)
    return None if y0 < 0 else (x0, y0, x1 - x0 + 1, y1 - y0 + 1)


def document_offset(region_origin, source_offset, expand, at):
    """Where a candidate's region top-left `at` (job-canvas pixels) lands in the document: the
    sent region's origin, minus where the source sits on the job canvas, plus the shift growing
    the canvas gives everything (outpaint: the left and top margins)."""
    left, top = (expand[0], expand[1]) if expand else (0, 0)
    return (region_origin[0] + at[0] - source_offset[0] + left, region_origin[1] + at[1] - source_offset[1] + top)


def hard_mask(compositing):
    """The layer mask for a candidate: its compositing mask made hard (255 wherever it is > 0).

    The patch is already the generated content composited through the compositing mask: where
    the mask is 0 it is the source, byte for byte, and the soft edge is blended in it. The soft
    mask as the layer mask would blend that edge with the source a second time (measured in
    GIMP 3.0: up to 77/255 off the CLI's result); with the hard mask the image shows the patch
    exactly, i.e. what `byteedit edit` writes for the same request, and the user still has a mask
    to paint on to refine the result (black gives the original back).
    """
    return bytes(compositing).translate(_HARD)


def short_prompt(prompt, max_length=LAYER_NAME_PROMPT_LENGTH):
    """The prompt as a layer name shows it: one line, spaces collapsed, cut at a word near
    `max_length` code points with an ellipsis."""
    cps = ["\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in _NAME_SPACE.sub(" ", prompt).strip(" ")]
    if len(cps) <= max_length:
        return "".join(cps)
    cut = cps[:max(1, max_length - 1)]
    # Back to the last space unless the cut already ends a word, when it is not too early.
    if cps[len(cut)] == " ":
        space = len(cut)
    else:
        space = len(cut) - 1 - cut[::-1].index(" ") if " " in cut else -1
    if space >= max_length // 2:
        cut = cut[:space]
    while len(cut) > 1 and cut[-1] in (" ", "\u200d"):
        cut.pop()
    return "".join(cut) + "\u2026"


def candidate_layer_name(mode, prompt, index, seed, max_prompt_length=LAYER_NAME_PROMPT_LENGTH, match=None):
    """The candidate's layer name, the same in every host: `edit #2 “a red heart” · seed 43`; with
    the candidate's match (GIMP's layer names are its only candidate UI): `edit #1 “…” · match 88 · seed 42`."""
    text = "" if mode == "erase" else short_prompt(prompt or "", max_prompt_length)
    shown = " \u00b7 match %d" % match if match is not None else ""
    return "%s #%d%s%s \u00b7 seed %d" % (mode, index, " \u201c%s\u201d" % text if text else "", shown, seed)


def candidate_signals(ranking, rank_scores):
    """core's candidateSignals: (index, rank, best, match) best first; match = round(100 / (1 +
    e^(-2s))) of the candidate's within-job rank score, None when nothing was compared."""
    compared = len(ranking) > 1 and any(s != 0 for s in rank_scores)
    out = []
    for i, index in enumerate(ranking):
        s = rank_scores[index] if index < len(rank_scores) else 0
        # JavaScript's Math.round (half up), not Python's round (half to even).
        match = int(math.floor(100.0 / (1.0 + math.exp(-2.0 * s)) + 0.5)) if compared else None
        out.append((index, i + 1, i == 0, match))
    return out
