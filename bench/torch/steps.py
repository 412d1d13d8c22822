"""The PyTorch steps the benchmarks time, on any device: the GAM of Eq. 1-2, the baseline training
step (ArcFace forward, backward, SGD) and the GABN step as the paper counts it (two backward passes
per step): one forward of the original images, the GAM taken once with create_graph, a
discriminator update on the detached GAMs, SFRE-style erasure of 3 rectangles guided by them, then
the face network's loss on the erased images with L_adv through the same GAM (double backprop).
Each returned step waits for the device, so wall time is its time."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
from iresnet import IResNet, ResNet18OneChannel, arcface_logits  # noqa: E402


def synchronise(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def attention_map(face, head, images, create_graph=False):
    """Eq. 1-2: max over channels of |dT/dx|, T from the softmax of the scaled cosines."""
    images = images.clone().requires_grad_(True)
    cos = F.normalize(face(images), dim=1) @ F.normalize(head, dim=0)
    p = torch.softmax(64 * cos, dim=1)
    t = (p.max(dim=1, keepdim=True).values - p).mean(dim=1).sum()
    (g,) = torch.autograd.grad(t, images, create_graph=create_graph)
    return g.abs().amax(dim=1)


def gam_step(c, device):
    """The GAM of a batch of c["batch"] images, eval mode."""
    face = IResNet(c["depth"], c["width"], c["inputSize"], c["embeddingSize"]).to(device).eval()
    head = (torch.randn(c["embeddingSize"], c["classes"]) * 0.01).to(device)
    x = torch.randn(c["batch"], 3, c["inputSize"], c["inputSize"], device=device)

    def step():
        attention_map(face, head, x)
        synchronise(device)

    return step


def embedding_step(c, device):
    """The embeddings of a batch, eval mode, copied back to the host (as an audit reads them)."""
    face = IResNet(c["depth"], c["width"], c["inputSize"], c["embeddingSize"]).to(device).eval()
    x = torch.randn(c["batch"], 3, c["inputSize"], c["inputSize"], device=device)

    def step():
        with torch.no_grad():
            face(x).cpu()

    return step


def training_steps(c, device):
    """{"baseline": step, "gabn": step} on one network, head and discriminator."""
    face = IResNet(c["depth"], c["width"], c["inputSize"], c["embeddingSize"]).to(device).train()
    head = torch.nn.Parameter((torch.randn(c["embeddingSize"], c["classes"]) * 0.01).to(device))
    disc = ResNet18OneChannel(c["groups"], c["discriminatorWidth"]).to(device).train()
    opt = torch.optim.SGD(list(face.parameters()) + [head], lr=1e-4, momentum=0.9, weight_decay=5e-4)
    dopt = torch.optim.SGD(disc.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(c["batch"], 3, c["inputSize"], c["inputSize"], device=device)
    labels = torch.randint(0, c["classes"], (c["batch"],), device=device)
    groups = torch.arange(c["batch"], device=device) % c["groups"]

    def cosines(images):
        return F.normalize(face(images), dim=1) @ F.normalize(head, dim=0)

    def baseline():
        opt.zero_grad()
        F.cross_entropy(arcface_logits(cosines(x), labels, 64, 0.35), labels).backward()
        opt.step()
        synchronise(device)

    def gabn():
        m = attention_map(face, head, x, create_graph=True)
        attached = m / (m.flatten(1).amax(dim=1).view(-1, 1, 1) + 1e-30)
        maps = attached.detach()
        erased = x.clone()
        flat = maps.flatten(1).argsort(dim=1, descending=True)[:, :3].cpu()
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
        synchronise(device)

    return {"baseline": baseline, "gabn": gabn}
