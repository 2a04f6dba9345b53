# Runs inside gimp-console-3.0 (python-fu-eval) for gimp.test.ts: loads a real PNG, makes a soft
# selection, calls the byteedit procedures through the PDB like a script would, and records the
# returned status, errors, and every layer's geometry and pixels to a JSON file for the test, and
# for each layer with a mask (a candidate) what the user sees with it: GIMP's own composite.
import base64
import json
import os

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio

WORK = os.environ["BYTEEDIT_E2E_DIR"]
SPEC = os.environ.get("BYTEEDIT_E2E_SPEC", "spec.json")
spec = json.load(open(os.path.join(WORK, SPEC)))
bridge_file = os.path.join(os.environ["BYTEEDIT_CONFIG_DIR"], "bridge.json")
report = {"runs": []}


def pixels(drawable, fmt):
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    return bytes(drawable.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE))


def composite_with(image, index):
    """What the image shows with its layer `index` visible and every other masked layer (the other
    candidates) hidden: GIMP merges the visible layers of a duplicate (layer masks applied, the
    layers' own modes and composite spaces), clipped to the image; image-sized R'G'B'A u8."""
    dup = image.duplicate()
    try:
        for j, layer in enumerate(dup.get_layers()):
            if j == index:
                layer.set_visible(True)
            elif layer.get_mask() is not None:
                layer.set_visible(False)
        merged = dup.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
        # Clipped to the image, but only as large as what is visible (an offset layer leaves a
        # transparent border): place it on a transparent image-sized canvas.
        _, x, y = merged.get_offsets()
        w, h = merged.get_width(), merged.get_height()
        iw = image.get_width()
        out = bytearray(iw * image.get_height() * 4)
        src = pixels(merged, "R'G'B'A u8")
        for row in range(h):
            at = ((y + row) * iw + x) * 4
            out[at:at + w * 4] = src[row * w * 4:(row + 1) * w * 4]
        return base64.b64encode(bytes(out)).decode()
    finally:
        dup.delete()


def describe(image):
    layers = []
    for index, layer in enumerate(image.get_layers()):
        _, x, y = layer.get_offsets()
        mask = layer.get_mask()
        layers.append({
            "name": layer.get_name(),
            "x": x,
            "y": y,
            "width": layer.get_width(),
            "height": layer.get_height(),
            "visible": layer.get_visible(),
            "rgba": base64.b64encode(pixels(layer, "R'G'B'A u8")).decode(),
            "mask": base64.b64encode(pixels(mask, "Y u8")).decode() if mask else None,
        })
        if mask:
            layers[-1]["composite"] = composite_with(image, index)
    return {"width": image.get_width(), "height": image.get_height(), "layers": layers}


def call(name, image, drawable, args, interactive=False):
    proc = Gimp.get_pdb().lookup_procedure(name)
    if proc is None:
        return {"status": "NOT_FOUND", "error": "procedure %s is not installed" % name}
    config = proc.create_config()
    config.set_property("run-mode", Gimp.RunMode.INTERACTIVE if interactive else Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [drawable])
    for key, value in args.items():
        config.set_property(key, value)
    result = proc.run(config)
    status = result.index(0)
    error = Gimp.get_pdb().get_last_error() if status != Gimp.PDBStatusType.SUCCESS else None
    return {"status": status.value_nick, "error": error}


for run in spec["runs"]:
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(spec["image"]))
    layer = image.get_layers()[0]
    if run.get("grayscale"):
        image.convert_grayscale()
    if run.get("layer_offset"):
        layer.set_offsets(run["layer_offset"][0], run["layer_offset"][1])
    sel = run.get("select")
    if sel:
        image.select_ellipse(Gimp.ChannelOps.REPLACE, sel[0], sel[1], sel[2], sel[3])
        if run.get("feather"):
            Gimp.Selection.feather(image, run["feather"])
    saved = open(bridge_file).read()
    if run.get("bridge_file") is not None:
        with open(bridge_file, "w") as f:
            f.write(run["bridge_file"])
    try:
        before = describe(image)
        outcome = call(run["procedure"], image, layer, run.get("args", {}), run.get("interactive", False))
    finally:
        with open(bridge_file, "w") as f:
            f.write(saved)
    outcome["name"] = run["name"]
    outcome["before"] = before
    outcome["after"] = describe(image)
    then = run.get("then")
    if then:
        # A follow-up on one of the layers the first call made (Keep Candidate on a candidate).
        target = image.get_layers()[then["layer"]]
        outcome["then"] = call(then["procedure"], image, target, then.get("args", {}))
        outcome["then"]["after"] = describe(image)
    if sel:
        outcome["selection"] = base64.b64encode(pixels(image.get_selection(), "Y u8")).decode()
    report["runs"].append(outcome)
    image.delete()

with open(os.path.join(WORK, SPEC.replace("spec", "report")), "w") as f:
    json.dump(report, f)
