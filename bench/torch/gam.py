"""PyTorch reference for bench/gam.bench.ts: the GAM of Eq. 1-2 (eval mode, gradient of T with
respect to the image, max over channels of its absolute value) for the same iResNet configurations,
CPU, 2 threads, median of 3 after a warm-up. Prints one JSON line: seconds per image."""
import json
import os
import sys

import torch
import torch.nn.functional as F
from reference_timing import median, step_times

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
from iresnet import IResNet  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)
CONFIGS = json.loads(sys.argv[1])
results = {}
for c in CONFIGS:
    model = IResNet(c["depth"], c["width"], c["inputSize"], c["embeddingSize"]).eval()
    head = torch.randn(c["embeddingSize"], c["classes"]) * 0.01
    x = torch.randn(c["batch"], 3, c["inputSize"], c["inputSize"])

    def gam():
        xx = x.clone().requires_grad_(True)
        cos = F.normalize(model(xx), dim=1) @ F.normalize(head, dim=0)
        p = torch.softmax(64 * cos, dim=1)
        t = (p.max(dim=1, keepdim=True).values - p).mean(dim=1).sum()
        (g,) = torch.autograd.grad(t, xx)
        return g.abs().amax(dim=1)

    results[c["name"]] = median(step_times(gam, 3)) / c["batch"]
print(json.dumps(results))
