#!/usr/bin/python3
"""Reference models for the importers: arcface_torch iResNets saved as PyTorch and ONNX files.

Run with Debian's python3 (it has torch): /usr/bin/python3 tests/golden/import_models.py
Writes tests/golden/fixtures/imports/: the model files, and imports.json with the inputs and what
PyTorch computes from them.

Two layouts, at 112 pixels: iresnet18 and iresnet50 at width 1/16 (the depth and the
blocks per stage are the published ones; the width is reduced so the files stay small enough to
commit and the wasm backend runs them in well under a second). Each is written as
  - NAME.pth               torch.save(model.state_dict()), as arcface_torch saves backbone.pth
  - NAME-fused.pth         the same with every conv -> batch norm pair folded by PyTorch's own
                           fuse_conv_bn_eval (a state dict of a fused network)
  - NAME.onnx              torch.onnx.export as arcface_torch's torch2onnx.py does it (eval mode,
                           constant folding: batch norms after convolutions are folded)
  - NAME-unfolded.onnx     exported without folding (training=PRESERVE, no constant folding)
and iresnet18 also as
  - NAME-prenorm.onnx      with the input normalisation inside the graph (Sub 127.5, Mul 1/128),
                           as insightface's converted models have it: it takes pixels 0..255
  - NAME.safetensors       the state dict in the safetensors format (a JSON header, raw bytes)

imports.json holds the two test images (uint8 pixels) and, per model, the references its files
share: the embeddings of both images and the pair GAM of each against the other (T = cos(e(x),
e(x_partner)) with the partner held constant; GAM = max over channels of |dT/dx|), taken with respect
to the project's normalised input x = (p - 127.5) / 128, whatever the file itself expects
("arcface": the network takes (p - 127.5) / 127.5, as arcface_torch; "pixels": the prenorm graph,
which takes p and normalises by (p - 127.5) / 128 itself).
"""
import base64
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from iresnet import IResNet, randomise_norms  # noqa: E402

OUT = os.path.join(HERE, "fixtures", "imports")
SIZE = 112
EMBEDDING = 16


def enc(t):
    a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
    return {"shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def fused_state_dict(model):
    """conv -> bn pairs folded into the convolution (weight and bias); the batch norms are gone."""
    sd = {}
    pairs = {"conv1": "bn1"}
    for stage in range(1, 5):
        for i, _ in enumerate(getattr(model, "layer%d" % stage)):
            p = "layer%d.%d" % (stage, i)
            pairs[p + ".conv1"] = p + ".bn2"
            pairs[p + ".conv2"] = p + ".bn3"
            pairs[p + ".downsample.0"] = p + ".downsample.1"
    modules = dict(model.named_modules())
    folded_bns = set()
    for conv, bn in pairs.items():
        if conv not in modules:
            continue
        fused = fuse_conv_bn_eval(modules[conv], modules[bn])
        sd[conv + ".weight"] = fused.weight.detach().clone()
        sd[conv + ".bias"] = fused.bias.detach().clone()
        folded_bns.add(bn)
    for name, t in model.state_dict().items():
        owner = name.rsplit(".", 1)[0]
        if owner in folded_bns or name in sd:
            continue
        sd[name] = t.clone()
    return sd


def write_safetensors(path, sd):
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, t in sd.items():
        if name.endswith("num_batches_tracked"):
            continue
        data = np.ascontiguousarray(t.detach().numpy().astype("<f4")).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


class PixelInput(nn.Module):
    """insightface's converted models: the graph takes pixels and normalises them itself."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, p):
        return self.net((p - 127.5) * 0.0078125)


def export_onnx(module, path, folded):
    x = torch.zeros(1, 3, SIZE, SIZE)
    mode = torch.onnx.TrainingMode.EVAL if folded else torch.onnx.TrainingMode.PRESERVE
    module.eval()
    torch.onnx.export(module, x, path, input_names=["data"], output_names=["fc1"], opset_version=11,
                      training=mode, do_constant_folding=folded, keep_initializers_as_inputs=False,
                      dynamic_axes={"data": {0: "None"}, "fc1": {0: "None"}})
    # The exporter restores the mode it found; make sure nothing below runs in training mode.
    module.eval()


def references(embed, x):
    """Embeddings of x, and the pair GAM of each image against the other, with respect to x."""
    with torch.no_grad():
        e = embed(x)
    partner = e.flip(0).detach()
    xg = x.clone().requires_grad_(True)
    t = F.cosine_similarity(embed(xg), partner, dim=1, eps=1e-8).sum()
    (dx,) = torch.autograd.grad(t, xg)
    return {"embeddings": enc(e), "pairGam": enc(dx.abs().amax(dim=1))}


def main():
    torch.manual_seed(20261201)
    gen = torch.Generator().manual_seed(17)
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    pixels = torch.randint(0, 256, (2, 3, SIZE, SIZE), generator=gen).float()
    # Smooth the noise a little so that the images have structure at several scales.
    pixels = torch.round(F.avg_pool2d(pixels, 3, stride=1, padding=1, count_include_pad=False))
    x = (pixels - 127.5) / 128  # the project's normalisation
    fixture = {
        "generator": "tests/golden/import_models.py, torch %s" % torch.__version__,
        "pixels": base64.b64encode(pixels.permute(0, 2, 3, 1).numpy().astype(np.uint8).tobytes()).decode("ascii"),
        "inputSize": SIZE,
        "models": {},
    }
    layouts = [("iresnet18-w0.0625", 18, 0.0625), ("iresnet50-w0.0625", 50, 0.0625)]
    for name, depth, width in layouts:
        model = IResNet(depth, width, SIZE, EMBEDDING)
        randomise_norms(model, gen)
        model.eval()
        # arcface_torch feeds (p - 127.5) / 127.5: from the project's x that is x * 128 / 127.5.
        refs = {"arcface": references(lambda t: model(t * (128 / 127.5)), x)}
        arcface = {"references": "arcface"}
        files = {}
        sd = {k: v.clone() for k, v in model.state_dict().items()}
        torch.save(sd, os.path.join(OUT, name + ".pth"))
        files[name + ".pth"] = {"batchNorm": "unfolded", **arcface}
        torch.save(fused_state_dict(model), os.path.join(OUT, name + "-fused.pth"))
        files[name + "-fused.pth"] = {"batchNorm": "folded", **arcface}
        export_onnx(model, os.path.join(OUT, name + ".onnx"), folded=True)
        files[name + ".onnx"] = {"batchNorm": "folded", **arcface}
        export_onnx(model, os.path.join(OUT, name + "-unfolded.onnx"), folded=False)
        files[name + "-unfolded.onnx"] = {"batchNorm": "unfolded", **arcface}
        if depth == 18:
            export_onnx(PixelInput(model), os.path.join(OUT, name + "-prenorm.onnx"), folded=True)
            # The graph computes (p - 127.5) / 128 itself: the network sees the project's x as it is.
            refs["pixels"] = references(model, x)
            files[name + "-prenorm.onnx"] = {"batchNorm": "folded", "references": "pixels"}
            write_safetensors(os.path.join(OUT, name + ".safetensors"), sd)
            files[name + ".safetensors"] = {"batchNorm": "unfolded", **arcface}
        fixture["models"][name] = {
            "depth": depth,
            "width": width,
            "embeddingSize": EMBEDDING,
            "parameterCount": sum(p.numel() for p in model.parameters()),
            "files": files,
            "references": refs,
        }
    path = os.path.join(OUT, "imports.json")
    with open(path + ".tmp", "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    os.replace(path + ".tmp", path)
    for f in sorted(os.listdir(OUT)):
        print("%-40s %9d bytes" % (f, os.path.getsize(os.path.join(OUT, f))))


if __name__ == "__main__":
    main()
