#!/usr/bin/python3
"""Writes the fixture packs under models/fixtures/: tiny random-weight ONNX models with exactly the
input/output names, ranks and dtypes of real Stable-Diffusion inpainting exports.

Three layouts, so that every branch of the core's layout detection runs in tests:

  tiny-sd-diffusers  diffusers' convert script: vae_encoder -> `latent_sample` (4 ch),
                     UNet timestep int64 [1], input_ids int32, 9-channel inpainting UNet
  tiny-sd-optimum    optimum: vae_encoder -> `latent_parameters` (mean||logvar, 8 ch),
                     scalar float32 timestep, input_ids int64, 9-channel inpainting UNet
  tiny-sd-legacy     a plain 4-channel (text-to-image) UNet with float16 I/O and float16 [batch]
                     timestep, run by the core through latent blending (RePaint-style)

and two learned erase packs (family inpaint), one network each, image + mask -> image:

  tiny-migan         MI-GAN's ONNX pipeline: `image` uint8 [1,3,H,W] 0..255 and `mask` uint8
                     [1,1,H,W] with 255 = keep, any size; `result` uint8 [1,3,H,W]
  tiny-lama          LaMa's common export: `image` float32 [1,3,512,512] in 0..1 and `mask` float32
                     [1,1,512,512] with 1 = hole, fixed size; `output` float32 in 0..255

Both fill the hole with a known answer plus a bounded random residual: the mean colour of the
known pixels + 0.1 * tanh(random convolutions), so a test can tell a swapped mask polarity or a
wrong value range (the hole would take the object's colour, or a scaled one) from a right one.

The weights are random: outputs are noise-like, which is what the fixture tests need (shapes,
determinism, pixel preservation). Sizes are tiny (embedding width 32, 8 hidden channels) but the
tensor ranks, names and dtypes are those of the real exports. Deterministic: the same bytes every run.

Run with Debian's python (python3-onnx, python3-numpy):  /usr/bin/python3 models/tools/make_fixture_packs.py
"""
import json
import os
import re
import sys
from collections import Counter

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures")
EMBED = 32  # text embedding width (768 in SD 1.x, 1024 in SD 2.x)
SEQ = 77
HIDDEN = 8
OPSET = 17

CORPUS = """a red star on a blue background a green circle a yellow square a photo of a cat
a dog sitting on the grass remove the object empty background high quality detailed photograph
an orange heart a purple triangle on stripes a white cloud in the sky a black car on the road
sunset over the sea mountains with snow a tree in a field flowers in a vase a bowl of fruit"""


def bytes_to_unicode():
    """CLIP's reversible byte -> printable unicode map (from the published GPT-2/CLIP tokenizer)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def train_tiny_bpe(corpus, num_merges=120):
    """A tiny CLIP-format BPE vocabulary: the 512 byte symbols, `merges` learned on a toy corpus,
    and the start/end tokens. Same file formats as openai/clip-vit-large-patch14's tokenizer."""
    b2u = bytes_to_unicode()
    base = list(b2u.values())
    vocab = base + [c + "</w>" for c in base]
    words = Counter(re.findall(r"[a-z]+", corpus.lower()))
    seqs = {w: tuple(b2u[b] for b in w.encode("utf-8")[:-1]) + (b2u[w.encode("utf-8")[-1]] + "</w>",) for w in words}
    merges = []
    for _ in range(num_merges):
        pairs = Counter()
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += words[w]
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        vocab.append(best[0] + best[1])
        for w, s in seqs.items():
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = tuple(out)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(vocab)}, merges


def init(rng, name, shape, scale):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def text_encoder(rng, vocab_size, ids_dtype):
    ids = helper.make_tensor_value_info("input_ids", ids_dtype, ["batch", "sequence"])
    hidden = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", EMBED])
    pooled = helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["batch", EMBED])
    inits = [init(rng, "tok_emb", (vocab_size, EMBED), 0.5), init(rng, "pos_emb", (SEQ, EMBED), 0.1),
             init(rng, "proj", (EMBED, EMBED), 1.0 / np.sqrt(EMBED))]
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["ids64"], to=TensorProto.INT64),
        helper.make_node("Gather", ["tok_emb", "ids64"], ["tok"]),
        helper.make_node("Add", ["tok", "pos_emb"], ["h0"]),
        helper.make_node("Tanh", ["h0"], ["h1"]),
        helper.make_node("MatMul", ["h1", "proj"], ["last_hidden_state"]),
        helper.make_node("ReduceMean", ["last_hidden_state"], ["pooler_output"], axes=[1], keepdims=0),
    ]
    return helper.make_graph(nodes, "text_encoder", [ids], [hidden, pooled], inits)


def unet(rng, in_channels, timestep_type, timestep_shape, io_type):
    """conv(sample) + timestep and text conditioning -> conv -> noise prediction, all at latent size."""
    sample = helper.make_tensor_value_info("sample", io_type, ["batch", in_channels, "height", "width"])
    t = helper.make_tensor_value_info("timestep", timestep_type, timestep_shape)
    ehs = helper.make_tensor_value_info("encoder_hidden_states", io_type, ["batch", "sequence", EMBED])
    out = helper.make_tensor_value_info("out_sample", io_type, ["batch", 4, "height", "width"])
    inits = [
        init(rng, "w1", (HIDDEN, in_channels, 3, 3), 0.3), init(rng, "b1", (HIDDEN,), 0.1),
        init(rng, "w2", (4, HIDDEN, 3, 3), 0.3), init(rng, "b2", (4,), 0.1),
        init(rng, "wt", (1, HIDDEN, 1, 1), 1.0), init(rng, "wtxt", (EMBED, 4), 0.3),
        numpy_helper.from_array(np.array([-1, 1, 1, 1], dtype=np.int64), "tshape"),
        numpy_helper.from_array(np.array([-1, 4, 1, 1], dtype=np.int64), "txtshape"),
        numpy_helper.from_array(np.array(1e-3, dtype=np.float32), "tscale"),
    ]
    nodes = []
    x, e = "sample", "encoder_hidden_states"
    if io_type != TensorProto.FLOAT:
        nodes += [helper.make_node("Cast", ["sample"], ["x32"], to=TensorProto.FLOAT),
                  helper.make_node("Cast", ["encoder_hidden_states"], ["e32"], to=TensorProto.FLOAT)]
        x, e = "x32", "e32"
    nodes += [
        helper.make_node("Cast", ["timestep"], ["tf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["tf", "tscale"], ["ts"]),
        helper.make_node("Reshape", ["ts", "tshape"], ["t4"]),
        helper.make_node("Mul", ["t4", "wt"], ["temb"]),
        helper.make_node("Conv", [x, "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c1", "temb"], ["c1t"]),
        helper.make_node("Tanh", ["c1t"], ["a1"]),
        helper.make_node("Conv", ["a1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("ReduceMean", [e], ["txt"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["txt", "wtxt"], ["txtp"]),
        helper.make_node("Reshape", ["txtp", "txtshape"], ["txt4"]),
        helper.make_node("Add", ["c2", "txt4"], ["y" if io_type != TensorProto.FLOAT else "out_sample"]),
    ]
    if io_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", ["y"], ["out_sample"], to=io_type))
    return helper.make_graph(nodes, "unet", [sample, t, ehs], [out], inits)


def vae_encoder(rng, output_name, out_channels):
    x = helper.make_tensor_value_info("sample", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    y = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", out_channels, "height_latent", "width_latent"])
    inits = [init(rng, "we", (out_channels, 3, 8, 8), 0.05), init(rng, "be", (out_channels,), 0.05)]
    nodes = [helper.make_node("Conv", ["sample", "we", "be"], [output_name], strides=[8, 8])]
    return helper.make_graph(nodes, "vae_encoder", [x], [y], inits)


def vae_decoder(rng):
    z = helper.make_tensor_value_info("latent_sample", TensorProto.FLOAT, ["batch", 4, "height_latent", "width_latent"])
    y = helper.make_tensor_value_info("sample", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    inits = [init(rng, "wd", (4, 3, 8, 8), 0.2), init(rng, "bd", (3,), 0.05)]
    nodes = [helper.make_node("ConvTranspose", ["latent_sample", "wd", "bd"], ["d"], strides=[8, 8]),
             helper.make_node("Tanh", ["d"], ["sample"])]
    return helper.make_graph(nodes, "vae_decoder", [z], [y], inits)


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="byteedit-fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())


def erase_net(rng, name, pixel_type, fixed, mask_keeps, out_scale):
    """An erase network with a real export's I/O: hole <- mean known colour + 0.1 tanh(conv(conv(x)))."""
    h, w = (512, 512) if fixed else ("height", "width")
    img = helper.make_tensor_value_info("image", pixel_type, [1, 3, h, w])
    msk = helper.make_tensor_value_info("mask", pixel_type, [1, 1, h, w])
    out_name = "result" if pixel_type == TensorProto.UINT8 else "output"
    out = helper.make_tensor_value_info(out_name, pixel_type, [1, 3, h, w])
    scale = 255.0 if pixel_type == TensorProto.UINT8 else 1.0
    inits = [
        init(rng, "w1", (HIDDEN, 4, 3, 3), 0.3), init(rng, "b1", (HIDDEN,), 0.1),
        init(rng, "w2", (3, HIDDEN, 3, 3), 0.3), init(rng, "b2", (3,), 0.1),
        numpy_helper.from_array(np.array(1.0 / scale, dtype=np.float32), "inv"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array(0.1, dtype=np.float32), "amp"),
        numpy_helper.from_array(np.array(1e-6, dtype=np.float32), "eps"),
        numpy_helper.from_array(np.array(out_scale, dtype=np.float32), "oscale"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "hw"),
    ]
    nodes = [
        helper.make_node("Cast", ["image"], ["xi"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["xi", "inv"], ["x"]),                       # 0..1
        helper.make_node("Cast", ["mask"], ["mi"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["mi", "inv"], ["m"]),                       # 0..1
    ]
    if mask_keeps:
        nodes += [helper.make_node("Identity", ["m"], ["keep"])]
    else:
        nodes += [helper.make_node("Sub", ["one", "m"], ["keep"])]
    nodes += [
        helper.make_node("Sub", ["one", "keep"], ["hole"]),
        helper.make_node("Mul", ["x", "keep"], ["xk"]),
        helper.make_node("ReduceSum", ["xk", "hw"], ["sx"], keepdims=1),
        helper.make_node("ReduceSum", ["keep", "hw"], ["sk"], keepdims=1),
        helper.make_node("Add", ["sk", "eps"], ["ske"]),
        helper.make_node("Div", ["sx", "ske"], ["mean"]),                    # [1,3,1,1]
        helper.make_node("Concat", ["xk", "hole"], ["xin"], axis=1),
        helper.make_node("Conv", ["xin", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["c1"], ["a1"]),
        helper.make_node("Conv", ["a1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["c2"], ["r"]),
        helper.make_node("Mul", ["r", "amp"], ["ra"]),
        helper.make_node("Add", ["mean", "ra"], ["g0"]),
        helper.make_node("Clip", ["g0", "zero", "one"], ["g"]),
        # The real pipelines hand known pixels back unchanged.
        helper.make_node("Mul", ["g", "hole"], ["gh"]),
        helper.make_node("Add", ["xk", "gh"], ["y"]),
        helper.make_node("Mul", ["y", "oscale"], ["ys"]),
    ]
    if pixel_type == TensorProto.UINT8:
        nodes += [helper.make_node("Round", ["ys"], ["yr"]), helper.make_node("Cast", ["yr"], [out_name], to=TensorProto.UINT8)]
    else:
        nodes += [helper.make_node("Identity", ["ys"], [out_name])]
    return helper.make_graph(nodes, name, [img, msk], [out], inits)


def write_erase_pack(name, seed, description, pixel_type, fixed, mask_keeps, io):
    rng = np.random.RandomState(seed)
    root = os.path.join(OUT, name)
    out_scale = 255.0 if (pixel_type == TensorProto.UINT8 or io.get("outputRange") == [0, 255]) else 1.0
    save(erase_net(rng, name, pixel_type, fixed, mask_keeps, out_scale), os.path.join(root, "model.onnx"))
    pack = {
        "schema": "byteedit.pack/1",
        "family": "inpaint",
        "name": name,
        "version": "1.0.0",
        "kind": "fixture",
        "description": description,
        "license": "CC0-1.0 (random weights generated by models/tools/make_fixture_packs.py)",
        "components": {"inpaint": {"file": "model.onnx"}},
        "io": io,
        "resolution": {"native": 512, "multiple": 8},
        "modes": ["erase", "outpaint"],
        "domains": ["photo", "illustration"],
    }
    with open(os.path.join(root, "pack.json"), "w", encoding="utf-8") as f:
        json.dump(pack, f, indent=2)
        f.write("\n")


def write_pack(name, seed, description, ids_dtype, enc_output, enc_channels, unet_channels, t_type, t_shape, io_type):
    rng = np.random.RandomState(seed)
    root = os.path.join(OUT, name)
    vocab, merges = train_tiny_bpe(CORPUS)
    os.makedirs(os.path.join(root, "tokenizer"), exist_ok=True)
    with open(os.path.join(root, "tokenizer", "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    with open(os.path.join(root, "tokenizer", "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    save(text_encoder(rng, len(vocab), ids_dtype), os.path.join(root, "text_encoder", "model.onnx"))
    save(unet(rng, unet_channels, t_type, t_shape, io_type), os.path.join(root, "unet", "model.onnx"))
    save(vae_encoder(rng, enc_output, enc_channels), os.path.join(root, "vae_encoder", "model.onnx"))
    save(vae_decoder(rng), os.path.join(root, "vae_decoder", "model.onnx"))
    pack = {
        "schema": "byteedit.pack/1",
        "name": name,
        "version": "1.0.0",
        "kind": "fixture",
        "description": description,
        "license": "CC0-1.0 (random weights generated by models/tools/make_fixture_packs.py)",
        "components": {
            "tokenizer": {"type": "clip-bpe", "vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt",
                          "maxLength": SEQ, "padToken": "<|endoftext|>"},
            "text_encoder": {"file": "text_encoder/model.onnx"},
            "unet": {"file": "unet/model.onnx"},
            "vae_encoder": {"file": "vae_encoder/model.onnx"},
            "vae_decoder": {"file": "vae_decoder/model.onnx"},
        },
        "latent": {"channels": 4, "scaleFactor": 8, "scalingFactor": 0.18215},
        "resolution": {"native": 64, "multiple": 8},
        "prediction": "epsilon",
        "noiseSchedule": {"betaSchedule": "scaled_linear", "betaStart": 0.00085, "betaEnd": 0.012, "trainSteps": 1000},
        "defaults": {"scheduler": "euler-a", "steps": 4, "guidance": 5.0},
        "modes": ["edit", "erase", "outpaint"],
        "erase": {"prompt": "empty background", "negativePrompt": "object"},
    }
    with open(os.path.join(root, "pack.json"), "w", encoding="utf-8") as f:
        json.dump(pack, f, indent=2)
        f.write("\n")


def main():
    write_pack("tiny-sd-diffusers", 1, "Fixture pack in the layout of diffusers' ONNX export (random weights).",
               TensorProto.INT32, "latent_sample", 4, 9, TensorProto.INT64, [1], TensorProto.FLOAT)
    write_pack("tiny-sd-optimum", 2, "Fixture pack in the layout of an optimum ONNX export (random weights).",
               TensorProto.INT64, "latent_parameters", 8, 9, TensorProto.FLOAT, [], TensorProto.FLOAT)
    write_pack("tiny-sd-legacy", 3, "Fixture pack with a 4-channel float16-I/O UNet, run through latent blending (random weights).",
               TensorProto.INT32, "latent_sample", 4, 4, TensorProto.FLOAT16, ["batch"], TensorProto.FLOAT16)
    write_erase_pack("tiny-migan", 4, "Fixture erase pack in the I/O of MI-GAN's ONNX pipeline: uint8, any size, mask 255 = keep (random weights).",
                     TensorProto.UINT8, False, True, {"inputRange": [0, 255], "mask": "keep"})
    write_erase_pack("tiny-lama", 5, "Fixture erase pack in the I/O of LaMa's 512x512 ONNX export: float 0..1 in, 0..255 out, mask 1 = hole (random weights).",
                     TensorProto.FLOAT, True, False, {"inputRange": [0, 1], "outputRange": [0, 255], "mask": "hole"})
    print("wrote fixture packs to", os.path.normpath(OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
