#!/usr/bin/env python3
"""Exports a LAION-style aesthetic head to ONNX: CLIP ViT-L/14 image embedding (768) -> score.

The head is the MLP 768-1024-128-64-16-1 (dropout between the first layers, no activations) that
the improved-aesthetic-predictor project trained on SAC + LAION-logos + AVA ratings; its weights are
published as a PyTorch state dict (`sac+logos+ava1-l14-linearMSE.pth`, keys layers.{0,2,4,6,7}.*).
The exported graph L2-normalises the embedding first (as the head expects), so the input is the raw
image embedding from the CLIP image tower.

  python3 export_aesthetic_head.py --weights sac+logos+ava1-l14-linearMSE.pth --out PACK/rewards/aesthetic.onnx
  python3 export_aesthetic_head.py --random --out /tmp/aesthetic.onnx      # random weights, for tests

I/O: embedding float32 [batch, 768] -> score float32 [batch, 1] (roughly 1..10 with the real weights).
"""
import argparse
import os

import onnx
import torch


class AestheticHead(torch.nn.Module):
    def __init__(self, dim=768):
        super().__init__()
        # Same module indices as the published state dict, so load_state_dict matches key for key.
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(dim, 1024), torch.nn.Dropout(0.2),
            torch.nn.Linear(1024, 128), torch.nn.Dropout(0.2),
            torch.nn.Linear(128, 64), torch.nn.Dropout(0.1),
            torch.nn.Linear(64, 16),
            torch.nn.Linear(16, 1),
        )

    def forward(self, embedding):
        e = embedding / embedding.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return self.layers(e)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights")
    src.add_argument("--random", action="store_true")
    ap.add_argument("--out", required=True)
    ap.add_argument("--opset", type=int, default=14)
    a = ap.parse_args()
    head = AestheticHead()
    if a.weights:
        state = torch.load(a.weights, map_location="cpu")
        head.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
    else:
        torch.manual_seed(0)
    head.eval()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(head, (torch.randn(1, 768),), a.out, input_names=["embedding"], output_names=["score"],
                          dynamic_axes={"embedding": {0: "batch"}, "score": {0: "batch"}}, opset_version=a.opset)
    onnx.checker.check_model(a.out)
    print(a.out)


if __name__ == "__main__":
    main()
