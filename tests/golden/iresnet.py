#!/usr/bin/python3
"""Reference fixtures for the iResNet, the margin head and the GAM discriminator.

Run with Debian's python3 (it has torch): /usr/bin/python3 tests/golden/iresnet.py
Writes tests/golden/fixtures/iresnet.json.

The networks are written here from the published architectures (insightface arcface_torch
backbones/iresnet.py, losses.py; torchvision's ResNet-18 BasicBlock), with a width multiplier, an
input size and an embedding size so that a small configuration fits a fixture. Weights come from a
seed; batch-norm statistics and scales are randomised so that eval mode is not the identity.
Tensors are exported in the layouts GABN Studio uses (NHWC activations, HWIO kernels, linear
weights [in, out], fc rows in (h, w, c) flatten order), as base64 little-endian float32.
"""
import base64
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "iresnet.json")

LAYERS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 14, 3], 100: [3, 13, 30, 3]}


def widths(width):
    return [max(1, round(w * width)) for w in (64, 128, 256, 512)]


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class IBasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, downsample):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=1e-5)
        self.conv1 = conv3x3(cin, cout)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5)
        self.prelu = nn.PReLU(cout)
        self.conv2 = conv3x3(cout, cout, stride)
        self.bn3 = nn.BatchNorm2d(cout, eps=1e-5)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity


class IResNet(nn.Module):
    def __init__(self, depth, width=1.0, input_size=112, embedding_size=512, device=None):
        super().__init__()
        w = widths(width)
        self.conv1 = nn.Conv2d(3, w[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0], eps=1e-5)
        self.prelu = nn.PReLU(w[0])
        cin = w[0]
        size = input_size
        for stage, count in enumerate(LAYERS[depth]):
            cout = w[stage]
            blocks = []
            for i in range(count):
                stride = 2 if i == 0 else 1
                down = None
                if stride != 1 or cin != cout:
                    down = nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout, eps=1e-5))
                blocks.append(IBasicBlock(cin, cout, stride, down))
                cin = cout
            setattr(self, "layer%d" % (stage + 1), nn.Sequential(*blocks))
            size = (size + 2 - 3) // 2 + 1
        self.final_size = size
        self.bn2 = nn.BatchNorm2d(cin, eps=1e-5)
        self.dropout = nn.Dropout(p=0, inplace=True)
        self.fc = nn.Linear(cin * size * size, embedding_size)
        self.features = nn.BatchNorm1d(embedding_size, eps=1e-5)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

    def forward(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.bn2(x)
        x = torch.flatten(x, 1)
        x = self.dropout(x)
        return self.features(self.fc(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, downsample):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18OneChannel(nn.Module):
    """torchvision resnet18 with conv1 taking 1 channel and fc to the number of groups."""

    def __init__(self, groups, width=1.0):
        super().__init__()
        w = widths(width)
        self.conv1 = nn.Conv2d(1, w[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        cin = w[0]
        for stage in range(4):
            cout = w[stage]
            blocks = []
            for i in range(2):
                stride = 2 if (i == 0 and stage > 0) else 1
                down = None
                if stride != 1 or cin != cout:
                    down = nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))
                blocks.append(BasicBlock(cin, cout, stride, down))
                cin = cout
            setattr(self, "layer%d" % (stage + 1), nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, groups)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def arcface_logits(cos, labels, s, m):
    """insightface arcface_torch CombinedMarginLoss (m1 = 1, m3 = 0, easy_margin False), verbatim logic."""
    cos_m, sin_m = math.cos(m), math.sin(m)
    theta = math.cos(math.pi - m)
    sinmm = math.sin(math.pi - m) * m
    logits = cos.clone()
    index = torch.where(labels != -1)[0]
    target = logits[index, labels[index].view(-1)]
    sin_theta = torch.sqrt(1.0 - torch.pow(target, 2))
    cos_theta_m = target * cos_m - sin_theta * sin_m
    final = torch.where(target > theta, cos_theta_m, target - sinmm)
    logits[index, labels[index].view(-1)] = final
    return logits * s


def cosface_logits(cos, labels, s, m):
    logits = cos.clone()
    index = torch.where(labels != -1)[0]
    logits[index, labels[index].view(-1)] = logits[index, labels[index].view(-1)] - m
    return logits * s


def randomise_norms(model, gen):
    """BN scales/shifts/statistics and PReLU slopes away from their defaults (features.weight stays 1)."""
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
                if name != "features":
                    mod.weight.copy_(torch.rand(mod.weight.shape, generator=gen) + 0.5)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=gen) * 0.1)
                mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=gen) * 0.1)
                mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=gen) + 0.5)
            elif isinstance(mod, nn.PReLU):
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=gen) * 0.3 + 0.1)


def to_tfjs_layout(name, t, model):
    t = t.detach().cpu().float()
    if t.dim() == 4:  # conv OIHW -> HWIO
        return t.permute(2, 3, 1, 0).contiguous()
    if name == "fc.weight" and isinstance(model, IResNet):
        # [E, C*H*W] in (c, h, w) order -> [H*W*C, E] in (h, w, c) order.
        e = t.shape[0]
        c = model.bn2.num_features
        s = model.final_size
        return t.reshape(e, c, s, s).permute(2, 3, 1, 0).reshape(s * s * c, e).contiguous()
    if t.dim() == 2:  # linear [out, in] -> [in, out]
        return t.t().contiguous()
    return t


def enc(t):
    a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
    return {"shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def state(model):
    out = {}
    for name, t in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        out[name] = enc(to_tfjs_layout(name, t, model))
    return out


def nhwc(x):
    return x.permute(0, 2, 3, 1).contiguous()


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def main():
    torch.manual_seed(20261128)
    gen = torch.Generator().manual_seed(7)
    torch.set_num_threads(2)

    cfg = {"depth": 18, "width": 0.125, "inputSize": 56, "embeddingSize": 64, "classes": 10, "s": 64.0, "m": 0.35}
    model = IResNet(cfg["depth"], cfg["width"], cfg["inputSize"], cfg["embeddingSize"])
    randomise_norms(model, gen)
    initial = state(model)
    x = torch.randn(2, 3, cfg["inputSize"], cfg["inputSize"], generator=gen)
    labels = torch.tensor([3, 7])
    head = torch.randn(cfg["classes"], cfg["embeddingSize"], generator=gen) * 0.01  # insightface layout [C, E]

    model.eval()
    with torch.no_grad():
        eval_embedding = model(x)

    model.train()
    xg = x.clone().requires_grad_(True)
    headg = head.clone().requires_grad_(True)
    train_embedding = model(xg)
    cos = F.linear(F.normalize(train_embedding), F.normalize(headg))
    arc = arcface_logits(cos, labels, cfg["s"], cfg["m"])
    cosface = cosface_logits(cos, labels, cfg["s"], cfg["m"])
    loss = F.cross_entropy(arc, labels)
    loss.backward()
    grad_names = [
        "conv1.weight", "bn1.weight", "bn1.bias", "prelu.weight", "layer1.0.bn1.weight",
        "layer1.0.conv1.weight", "layer2.1.prelu.weight", "layer3.0.downsample.0.weight",
        "layer4.1.bn3.weight", "bn2.weight", "layer4.1.prelu.weight", "features.bias",
    ]
    params = dict(model.named_parameters())
    grads = {n: enc(to_tfjs_layout(n, params[n].grad, model)) for n in grad_names}
    grads["input"] = enc(nhwc(xg.grad))
    grads["head.weight"] = enc(headg.grad.t().contiguous())
    after = {n: v for n, v in state(model).items() if "running_" in n}

    # Exact double backprop, as GAM-CT needs it (DESIGN.md §5, Eq. 1-2): T = Σ_batch mean_i(P_max - P_i)
    # with P = softmax(s·cos θ) and no margin; GAM = max over channels of |dT/dx|; the objective
    # Σ GAM·R is differentiated with respect to the weights through dT/dx (create_graph=True).
    # Training mode, as in a GABN step; the running statistics were recorded above.
    model.zero_grad()
    headg.grad = None
    r = torch.rand(2, cfg["inputSize"], cfg["inputSize"], generator=gen)
    xs = x.clone().requires_grad_(True)
    p = torch.softmax(cfg["s"] * F.linear(F.normalize(model(xs)), F.normalize(headg)), dim=1)
    t = (p.max(dim=1, keepdim=True).values - p).mean(dim=1).sum()
    (dx,) = torch.autograd.grad(t, xs, create_graph=True)
    gam_map = dx.abs().amax(dim=1)
    objective = (gam_map * r).sum()
    objective.backward()
    gam_names = ["conv1.weight", "prelu.weight", "layer1.0.bn1.weight", "layer2.0.conv2.weight",
                 "layer3.0.downsample.0.weight", "layer4.1.prelu.weight", "bn2.weight", "features.bias"]
    gam_grads = {n: enc(to_tfjs_layout(n, params[n].grad, model)) for n in gam_names}
    gam_grads["head.weight"] = enc(headg.grad.t().contiguous())

    # The ArcFace fallback branch and the label -1 rows, on hand-picked cosines.
    margin_cos = torch.tensor([
        [0.5, -0.2, 0.1, 0.9, 0.0],
        [-0.97, 0.3, 1.0, -1.0, 0.2],   # target -0.97 < cos(pi - m): fallback cos - sin(pi - m) m
        [0.1, 0.2, -0.9, 0.4, 0.999],   # target -0.9 > cos(pi - 0.35) = -0.939: the cos(theta + m) branch
        [0.3, 0.3, 0.3, 0.3, 0.3],      # label -1: no margin
        [0.2, 0.1, 0.0, -0.1, 1.0],     # target cos = 1: sin = 0
    ])
    margin_labels = torch.tensor([0, 0, 2, -1, 4])

    disc_cfg = {"groups": 4, "width": 0.0625, "inputSize": 56}
    disc = ResNet18OneChannel(disc_cfg["groups"], disc_cfg["width"])
    randomise_norms(disc, gen)
    disc_initial = state(disc)
    gam = torch.rand(2, 1, disc_cfg["inputSize"], disc_cfg["inputSize"], generator=gen)
    disc.eval()
    with torch.no_grad():
        disc_eval = disc(gam)
    disc.train()
    gamg = gam.clone().requires_grad_(True)
    disc_train = disc(gamg)
    disc_loss = F.cross_entropy(disc_train, torch.tensor([1, 3]))
    disc_loss.backward()
    disc_after = {n: v for n, v in state(disc).items() if "running_" in n}

    counts = {}
    for depth in (18, 34, 50, 100):
        counts["iresnet%d" % depth] = parameter_count(IResNet(depth))
    counts["iresnet18-w0.25-56"] = parameter_count(IResNet(18, 0.25, 56))
    counts["iresnet34-w0.5-56-e128"] = parameter_count(IResNet(34, 0.5, 56, 128))
    counts["iresnet18-w0.125-56-e64"] = parameter_count(model)
    disc_counts = {
        "resnet18-g4": parameter_count(ResNet18OneChannel(4)),
        "resnet18-g2-w0.25": parameter_count(ResNet18OneChannel(2, 0.25)),
        "resnet18-g4-w0.0625": parameter_count(disc),
    }

    fixture = {
        "generator": "tests/golden/iresnet.py, torch %s" % torch.__version__,
        "config": cfg,
        "params": initial,
        "input": enc(nhwc(x)),
        "labels": labels.tolist(),
        "head": enc(head.t().contiguous()),
        "evalEmbedding": enc(eval_embedding),
        "trainEmbedding": enc(train_embedding),
        "runningStatsAfterTraining": after,
        "cosines": enc(cos),
        "arcfaceLogits": enc(arc),
        "cosfaceLogits": enc(cosface),
        "loss": loss.item(),
        "gradients": grads,
        "gam": {
            "s": cfg["s"],
            "R": enc(r),
            "T": t.item(),
            "gam": enc(gam_map),
            "objective": objective.item(),
            "gradients": gam_grads,
        },
        "margin": {
            "cos": enc(margin_cos),
            "labels": margin_labels.tolist(),
            "arcface": enc(arcface_logits(margin_cos, margin_labels, 64.0, 0.35)),
            "cosface": enc(cosface_logits(margin_cos, margin_labels, 64.0, 0.35)),
            "arcfaceM05": enc(arcface_logits(margin_cos, margin_labels, 30.0, 0.5)),
        },
        "discriminator": {
            "config": disc_cfg,
            "params": disc_initial,
            "input": enc(nhwc(gam)),
            "evalLogits": enc(disc_eval),
            "trainLogits": enc(disc_train),
            "labels": [1, 3],
            "loss": disc_loss.item(),
            "inputGradient": enc(nhwc(gamg.grad)),
            "runningStatsAfterTraining": disc_after,
        },
        "parameterCounts": counts,
        "discriminatorParameterCounts": disc_counts,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + ".tmp", "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    os.replace(OUT + ".tmp", OUT)
    print("wrote %s (%d bytes)" % (OUT, os.path.getsize(OUT)))
    print("parameter counts", counts, disc_counts)
    print("loss %.6f, discriminator loss %.6f" % (loss.item(), disc_loss.item()))


if __name__ == "__main__":
    main()
