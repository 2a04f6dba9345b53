"""Evaluates the cross-language table (host-prepare-cases.json, argv[1]) with the GIMP plug-in's
Python mirror (gimp/byteedit/prepare.py, argv[2] is its folder) and prints the results as JSON,
in the same plain form as host-prepare-eval.ts."""
import json
import sys

sys.path.insert(0, sys.argv[2])
import prepare  # noqa: E402


def mask_of(size, fill):
    width, height = size
    data = bytearray(width * height)
    for x, y, w, h, v in fill:
        for j in range(y, y + h):
            data[j * width + x:j * width + x + w] = bytes([v]) * w
    return bytes(data)


def outpaint(c):
    o = prepare.outpaint_context(tuple(c["doc"]), tuple(c["margins"]), **{k: v for k, v in c.get("options", {}).items()})
    return o and {"region": list(o[0]), "expand": list(o[1]), "canvas": list(o[2])}


def context(c):
    names = {"padFraction": "pad_fraction", "minPad": "min_pad", "maxPad": "max_pad", "minSide": "min_side", "maxPixels": "max_pixels", "within": "within"}
    options = {names[k]: (tuple(v) if k == "within" else v) for k, v in c.get("options", {}).items()}
    r = prepare.context_region(tuple(c["selection"]), tuple(c["doc"]), **options)
    return list(r) if r else None


def name(c):
    extra = {"max_prompt_length": c["maxPromptLength"]} if "maxPromptLength" in c else {}
    if "match" in c:
        extra["match"] = c["match"]
    return prepare.candidate_layer_name(c["mode"], c["prompt"], c["index"], c["seed"], **extra)


with open(sys.argv[1], encoding="utf-8") as f:
    cases = json.load(f)
bounds = (prepare.mask_bounds(c["size"][0], c["size"][1], mask_of(c["size"], c["fill"])) for c in cases["maskBounds"])
print(json.dumps({
    "contextRegion": [context(c) for c in cases["contextRegion"]],
    "outpaintContext": [outpaint(c) for c in cases["outpaintContext"]],
    "maskBounds": [list(b) if b else None for b in bounds],
    "documentOffset": [list(prepare.document_offset(c["origin"], c["sourceOffset"], c["expand"], c["at"])) for c in cases["documentOffset"]],
    "hardLayerMask": [list(prepare.hard_mask(bytes(c["values"]))) for c in cases["hardLayerMask"]],
    "candidateLayerName": [name(c) for c in cases["candidateLayerName"]],
    "candidateSignals": [[list(s) for s in prepare.candidate_signals(c["ranking"], c["rankScores"])] for c in cases["candidateSignals"]],
}))
