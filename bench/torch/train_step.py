"""PyTorch reference for bench/train-step.bench.ts: one training step of the same iResNet
configuration, CPU, 2 threads, the median of argv[2] steps (default 3) after a warm-up.
'baseline': ArcFace forward, backward, SGD. 'gabn' as the paper counts it (two backward passes per step): one forward of the original images, the
GAM taken once with create_graph, a discriminator update on the detached GAMs, SFRE-style erasure of
3 rectangles guided by them, then the face network's loss on the erased images with L_adv through the
same GAM (double backprop).
Prints one JSON line: seconds per step."""
import json
import os
import sys

import torch
import torch.nn.functional as F
from reference_timing import median, step_times

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
from iresnet import IResNet, ResNet18OneChannel, arcface_logits  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)
c = json.loads(sys.argv[1])
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
face = IResNet(c["depth"], c["width"], c["inputSize"], c["embeddingSize"]).train()
head = torch.nn.Parameter(torch.randn(c["embeddingSize"], c["classes"]) * 0.01)
disc = ResNet18OneChannel(c["groups"], c["discriminatorWidth"]).train()
opt = torch.optim.SGD(list(face.parameters()) + [head], lr=1e-4, momentum=0.9, weight_decay=5e-4)
dopt = torch.optim.SGD(disc.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)
x = torch.randn(c["batch"], 3, c["inputSize"], c["inputSize"])
labels = torch.randint(0, c["classes"], (c["batch"],))
groups = torch.arange(c["batch"]) % c["groups"]


def cosines(images):
    return F.normalize(face(images), dim=1) @ F.normalize(head, dim=0)


def gam(images):
    images = images.clone().requires_grad_(True)
    p = torch.softmax(64 * cosines(images), dim=1)
    t = (p.max(dim=1, keepdim=True).values - p).mean(dim=1).sum()
    (g,) = torch.autograd.grad(t, images, create_graph=True)
    m = g.abs().amax(dim=1)
    return m / (m.flatten(1).amax(dim=1).view(-1, 1, 1) + 1e-30)


def baseline():
    opt.zero_grad()
    F.cross_entropy(arcface_logits(cosines(x), labels, 64, 0.35), labels).backward()
    opt.step()


def gabn():
    attached = gam(x)
    maps = attached.detach()
    erased = x.clone()
    flat = maps.flatten(1).argsort(dim=1, descending=True)[:, :3]
    size = c["inputSize"]
    for i in range(c["batch"]):
        for k in flat[i]:
            r, q = int(k) // size, int(k) % size
            erased[i, :, max(0, r - 4):r + 4, max(0, q - 4):q + 4] = 0
    dopt.zero_grad()
    F.cross_entropy(disc(maps.unsqueeze(1)), groups).backward()
    dopt.step()
    opt.zero_grad()
    adv = -torch.log_softmax(disc(attached.unsqueeze(1)), dim=1).mean()
    loss = F.cross_entropy(arcface_logits(cosines(erased), labels, 64, 0.35), labels) + adv
    loss.backward()
    opt.step()


results = {}
for name, step in (("baseline", baseline), ("gabn", gabn)):
    results[name] = median(step_times(step, repeats))
print(json.dumps(results))
