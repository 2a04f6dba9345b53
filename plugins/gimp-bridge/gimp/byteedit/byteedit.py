#!/usr/bin/env python3
"""byteedit for GIMP 3: Filters > Generative > Edit Selection..., Erase Selection, Expand Canvas...

Reads the active layer and the (soft) selection, sends only the context region around it to the
local byteedit bridge (`npx byteedit serve`), shows progress, and inserts every candidate as a new
layer with a (hard) layer mask at the right offset, all in one undo group. Original layers are never
painted on. Filters > Generative > Keep Candidate... removes the other candidates of that run and,
when the user ticks it (off by default), asks the bridge to record the choice locally
(docs/preferences.md). Standard library only; the bridge protocol lives in bridge_client.py, and
the rules shared with the other hosts (context region, outpaint bands, layer names) in prepare.py.
"""
import os
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GLib, GObject  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bridge_client  # noqa: E402
import prepare  # noqa: E402
from bridge_client import Bridge, BridgeError  # noqa: E402

PROC_EDIT = "python-fu-byteedit-edit-selection"
PROC_ERASE = "python-fu-byteedit-erase-selection"
PROC_EXPAND = "python-fu-byteedit-expand-canvas"
PROC_KEEP = "python-fu-byteedit-keep-candidate"
RGBA = "R'G'B'A u8"
GREY = "Y u8"


def fail(procedure, message):
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error.new_literal(Gimp.PlugIn.error_quark(), message, 0))


def read_rgba(drawable, x, y, w, h):
    """Pixels of drawable-local rectangle as straight RGBA bytes (any precision/type converted by babl)."""
    return bytes(drawable.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, RGBA, Gegl.AbyssPolicy.NONE))


def read_selection(image, x, y, w, h):
    return bytes(image.get_selection().get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, GREY, Gegl.AbyssPolicy.NONE))


def write_buffer(drawable, w, h, fmt, data):
    buf = drawable.get_buffer()
    buf.set(Gegl.Rectangle.new(0, 0, w, h), fmt, data)
    buf.flush()


class Job:
    """One request: what to send, and where its canvas sits in image coordinates."""

    def __init__(self, mode, params):
        self.mode = mode
        self.params = params
        self.image_png = None
        self.mask_png = None
        # Image coordinates of the context crop's top-left pixel.
        self.origin = (0, 0)
        self.margins = (0, 0, 0, 0)


def prepare_selection_job(image, drawable, mode, params):
    _, offx, offy = drawable.get_offsets()
    dw, dh = drawable.get_width(), drawable.get_height()
    _, non_empty, x1, y1, x2, y2 = Gimp.Selection.bounds(image)
    if not non_empty:
        raise BridgeError("invalid_argument", "Nothing is selected. Select the area to %s (any selection tool; soft edges are kept) and run the filter again." % mode)
    # The rule every host uses (prepare.py, core's host/prepare.ts), within the layer's part of the image.
    rect = prepare.context_region((x1, y1, x2 - x1, y2 - y1), (image.get_width(), image.get_height()), within=(offx, offy, dw, dh))
    if rect is None:
        raise BridgeError("invalid_argument", "The selection does not overlap the active layer. Select an area on the layer you want to %s." % mode)
    cx1, cy1, w, h = rect
    pixels = read_rgba(drawable, cx1 - offx, cy1 - offy, w, h)
    sel = read_selection(image, cx1, cy1, w, h)
    if prepare.mask_bounds(w, h, sel) is None:
        raise BridgeError("invalid_argument", "The selection does not overlap the active layer. Select an area on the layer you want to %s." % mode)
    job = Job(mode, params)
    job.image_png = bridge_client.encode_png(w, h, 4, pixels)
    job.mask_png = bridge_client.encode_png(w, h, 1, sel)
    job.origin = (cx1, cy1)
    return job


def prepare_expand_job(image, drawable, margins, params):
    if not any(margins):
        raise BridgeError("invalid_argument", "All margins are 0: give at least one margin (in pixels) to expand the canvas by.")
    _, offx, offy = drawable.get_offsets()
    # A band of the layer along the one growing edge, or all of it (prepare.py); the margins stay the user's.
    (x1, y1, w, h), expand, _canvas = prepare.outpaint_context((drawable.get_width(), drawable.get_height()), margins)
    job = Job("outpaint", dict(params, expand=list(expand)))
    job.image_png = bridge_client.encode_png(w, h, 4, read_rgba(drawable, x1, y1, w, h))
    job.origin = (offx + x1, offy + y1)
    job.margins = margins
    return job


def run_job(bridge, job):
    """Submits, follows progress in GIMP's progress bar, returns (job json, candidates in rank order)."""
    Gimp.progress_init("byteedit: sending %s request to %s" % (job.mode, bridge.url))
    bridge.json("GET", "/v1/health")
    job_id = bridge.submit(job.image_png, job.mask_png, dict(job.params, mode=job.mode))

    def on_event(kind, data):
        if kind == "queued" and data.get("position"):
            Gimp.progress_set_text("byteedit: waiting (%d jobs ahead)" % data["position"])
        elif kind == "started":
            Gimp.progress_set_text("byteedit: %s on %s" % (job.mode, data.get("device", "?")))
        elif kind == "progress" and data.get("of"):
            Gimp.progress_update(min(1.0, float(data["done"]) / float(data["of"])))

    kind, data = bridge.follow(job_id, on_event)
    if kind == "error":
        err = data.get("error") or {}
        raise BridgeError(err.get("code", "internal"), "byteedit could not %s this: %s" % (job.mode, err.get("message", "unknown error")))
    if kind == "cancelled":
        raise BridgeError("cancelled", "The byteedit job was cancelled.")
    info = bridge.job(job_id)
    # Which engine made the pixels and why (e.g. a photograph sent to the fill, not the small pack).
    route = (info.get("summary") or {}).get("route") or {}
    if route.get("reason"):
        Gimp.progress_set_text("byteedit: %s" % route["reason"])
    order = info.get("ranking") or [c["index"] for c in info["candidates"]]
    by_index = dict((c["index"], c) for c in info["candidates"])
    return job_id, info, [by_index[i] for i in order if i in by_index]


def insert_candidates(image, drawable, bridge, job, job_id, info, candidates):
    """Adds one layer (with a hard layer mask) per candidate above `drawable`; best on top and visible."""
    summary = info.get("summary") or {}
    source_offset = (summary.get("sourceOffset", {}).get("x", 0), summary.get("sourceOffset", {}).get("y", 0))
    # The layer name is GIMP's only candidate UI: it carries the rank and the 0-100 match.
    matches = dict((s[0], s[3]) for s in prepare.candidate_signals(summary.get("ranking") or [c["index"] for c in candidates], summary.get("rankScores") or []))
    layer_type = Gimp.ImageType.GRAYA_IMAGE if image.get_base_type() == Gimp.ImageBaseType.GRAY else Gimp.ImageType.RGBA_IMAGE
    parent = drawable.get_parent()
    position = image.get_item_position(drawable)
    layers = []
    for rank in reversed(range(len(candidates))):
        c = candidates[rank]
        r = c["region"]
        w, h, patch = bridge.result(job_id, c["index"], "patch")
        mw, mh, mask = bridge.result(job_id, c["index"], "mask")
        if (w, h) != (r["width"], r["height"]) or (mw, mh) != (w, h):
            raise BridgeError("internal", "The bridge sent a candidate of the wrong size (%dx%d for a %dx%d region)." % (w, h, r["width"], r["height"]))
        name = prepare.candidate_layer_name(job.mode, job.params.get("prompt"), rank + 1, c["seed"], match=matches.get(c["index"]))
        layer = Gimp.Layer.new(image, name, w, h, layer_type, 100.0, Gimp.LayerMode.NORMAL)
        image.insert_layer(layer, parent, position)
        # Canvas → image coordinates: the crop's origin, minus where the source sits on the canvas,
        # plus the shift the canvas resize gave everything (outpaint).
        layer.set_offsets(*prepare.document_offset(job.origin, source_offset, job.margins, (r["x"], r["y"])))
        write_buffer(layer, w, h, RGBA, patch)
        layer_mask = layer.create_mask(Gimp.AddMaskType.BLACK)
        layer.add_mask(layer_mask)
        write_buffer(layer_mask, w, h, GREY, prepare.hard_mask(mask))
        layer.update(0, 0, w, h)
        layer.set_visible(rank == 0)
        # Which job and candidate this layer shows, for Keep Candidate.
        layer.attach_parasite(Gimp.Parasite.new(bridge_client.CANDIDATE_PARASITE, Gimp.PARASITE_PERSISTENT, list(bridge_client.candidate_tag(job_id, c["index"]))))
        layers.append(layer)
    return layers


def show_dialog(procedure, config):
    """The procedure's dialog (GIMP fills it from the last-used values); False when cancelled."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    GimpUi.init("byteedit")
    dialog = GimpUi.ProcedureDialog.new(procedure, config, procedure.get_menu_label().replace("_", "").rstrip("."))
    dialog.fill(None)
    if os.environ.get("BYTEEDIT_TEST_DIALOG") == "accept":
        # Test hook (end-to-end test under Xvfb): press OK once the dialog is up.
        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk

        GLib.timeout_add(300, lambda: dialog.response(Gtk.ResponseType.OK) and False)
    ok = dialog.run()
    dialog.destroy()
    return ok


def candidate_info(layer):
    parasite = layer.get_parasite(bridge_client.CANDIDATE_PARASITE)
    return bridge_client.parse_candidate_tag(parasite.get_data()) if parasite is not None else None


def run_keep(procedure, run_mode, image, drawables, config):
    """Keeps the selected candidate layer, removes the other candidates of its run (one undo step)
    and, if the user ticked "record-choice", has the bridge record the choice in its folder."""
    if run_mode == Gimp.RunMode.INTERACTIVE and not show_dialog(procedure, config):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
    layer = drawables[0] if len(drawables) == 1 else None
    info = candidate_info(layer) if isinstance(layer, Gimp.Layer) else None
    if info is None:
        return fail(procedure, "Keep Candidate works on a candidate layer byteedit added (named like \"edit #1 ... seed N\"): select the one candidate you want to keep, then run it again.")
    parent = layer.get_parent()
    siblings = parent.get_children() if parent is not None else image.get_layers()
    others = [s for s in siblings if s.get_id() != layer.get_id() and isinstance(s, Gimp.Layer) and (candidate_info(s) or {}).get("job") == info["job"]]
    image.undo_group_start()
    try:
        for other in others:
            image.remove_layer(other)
        layer.set_visible(True)
    finally:
        image.undo_group_end()
    Gimp.displays_flush()
    if config.get_property("record-choice"):
        try:
            Bridge.discover().record_choice(info["job"], info["index"])
        except BridgeError as e:
            # The layers are already as the user wanted them: say why the choice was not kept.
            Gimp.message(str(e))
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)


def run(procedure, run_mode, image, drawables, config, mode):
    if run_mode == Gimp.RunMode.INTERACTIVE and not show_dialog(procedure, config):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
    if len(drawables) != 1:
        return fail(procedure, "byteedit works on one layer: select exactly one layer and try again.")
    drawable = drawables[0]
    if not isinstance(drawable, Gimp.Layer):
        return fail(procedure, "byteedit works on layers, not on channels or masks: select the layer itself and try again.")
    params = {}
    for arg, key in (("candidates", "candidates"), ("steps", "steps"), ("seed", "seed")):
        value = config.get_property(arg)
        if value is not None and value >= (1 if arg != "seed" else 0):
            params[key] = value
    pack = config.get_property("pack")
    if pack:
        params["pack"] = pack
    if mode in ("edit", "outpaint"):
        prompt = config.get_property("prompt")
        if prompt:
            params["prompt"] = prompt
    if mode == "edit" and not params.get("prompt"):
        return fail(procedure, "Edit Selection needs a prompt that describes what to paint into the selection.")
    try:
        bridge = Bridge.discover()
        if mode == "outpaint":
            margins = tuple(config.get_property(n) for n in ("margin-left", "margin-top", "margin-right", "margin-bottom"))
            job = prepare_expand_job(image, drawable, margins, params)
        else:
            job = prepare_selection_job(image, drawable, mode, params)
        job_id, info, candidates = run_job(bridge, job)
        if not candidates:
            raise BridgeError("internal", "The bridge finished without any candidate; check the terminal where it runs.")
        image.undo_group_start()
        try:
            if mode == "outpaint":
                left, top, right, bottom = job.margins
                image.resize(image.get_width() + left + right, image.get_height() + top + bottom, left, top)
            insert_candidates(image, drawable, bridge, job, job_id, info, candidates)
        finally:
            image.undo_group_end()
        Gimp.progress_end()
        Gimp.displays_flush()
    except BridgeError as e:
        return fail(procedure, str(e))
    except Exception as e:  # noqa: BLE001 - a message beats GIMP's "plug-in crashed"
        return fail(procedure, "byteedit failed unexpectedly (%s: %s). Please report it with the bridge's terminal output." % (type(e).__name__, e))
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)


def add_common_args(procedure, candidates_default):
    rw = GObject.ParamFlags.READWRITE
    procedure.add_int_argument("candidates", "Candi_dates", "How many alternatives to make (one layer each)", 1, 8, candidates_default, rw)
    procedure.add_int_argument("steps", "Sampling s_teps", "Sampling steps (0 = the pack's default)", 0, 150, 0, rw)
    procedure.add_int_argument("seed", "S_eed", "Random seed (-1 = random)", -1, 2147483647, -1, rw)
    procedure.add_string_argument("pack", "Pac_k", "Model pack served by the bridge (empty = its default)", "", rw)


class ByteEdit(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROC_EDIT, PROC_ERASE, PROC_EXPAND, PROC_KEEP]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        if name == PROC_KEEP:
            procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, lambda p, rm, img, dr, cfg, data: run_keep(p, rm, img, dr, cfg), None)
            procedure.set_image_types("RGB*, GRAY*")
            procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
            procedure.set_attribution("byteedit", "byteedit contributors", "2026")
            procedure.set_menu_label("_Keep Candidate...")
            procedure.set_documentation(
                "Keep this byteedit candidate, remove the others",
                "Removes the other candidate layers of the same byteedit run. If ticked (off by default), the local bridge records which candidate you kept, in the folder it was started with (--record-preferences); nothing is uploaded.",
                name,
            )
            procedure.add_boolean_argument("record-choice", "Keep my choice for _training (local files, via the bridge)", "Ask the bridge to record the kept candidate against the others (only if it runs with --record-preferences)", False, GObject.ParamFlags.READWRITE)
            procedure.add_menu_path("<Image>/Filters/Generative")
            return procedure
        mode = {PROC_EDIT: "edit", PROC_ERASE: "erase", PROC_EXPAND: "outpaint"}[name]
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, lambda p, rm, img, dr, cfg, data: run(p, rm, img, dr, cfg, mode), None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_attribution("byteedit", "byteedit contributors", "2026")
        rw = GObject.ParamFlags.READWRITE
        if mode == "edit":
            procedure.set_menu_label("_Edit Selection...")
            procedure.set_documentation("Repaint the selection from a prompt", "Sends the selection and its surroundings to the local byteedit bridge and adds each result as a new layer with a layer mask.", name)
            procedure.add_string_argument("prompt", "_Prompt", "What to paint into the selection", "", rw)
            add_common_args(procedure, 2)
        elif mode == "erase":
            procedure.set_menu_label("E_rase Selection")
            procedure.set_documentation("Remove what is selected", "Fills the selection with plausible background through the local byteedit bridge, as new layers with layer masks.", name)
            add_common_args(procedure, 1)
        else:
            procedure.set_menu_label("E_xpand Canvas...")
            procedure.set_documentation("Grow the canvas and paint the new border", "Enlarges the canvas by the margins and outpaints the new area through the local byteedit bridge, as new layers.", name)
            for side in ("left", "top", "right", "bottom"):
                label = {"left": "_Left margin", "top": "T_op margin", "right": "Ri_ght margin", "bottom": "_Bottom margin"}[side]
                procedure.add_int_argument("margin-" + side, label, "Pixels to add on the %s" % side, 0, 4096, 0 if side in ("top", "bottom") else 128, rw)
            procedure.add_string_argument("prompt", "_Prompt", "What the new area shows (optional)", "", rw)
            add_common_args(procedure, 1)
        # The menu path needs the label first.
        procedure.add_menu_path("<Image>/Filters/Generative")
        return procedure


Gimp.main(ByteEdit.__gtype__, sys.argv)
