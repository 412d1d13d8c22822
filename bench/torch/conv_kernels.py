"""PyTorch reference for bench/engine-conv-kernels.bench.ts: the same convolution gradient shapes,
timed on the CPU with 2 threads (median of 5 after a warm-up). Prints one JSON line."""
import json
import sys

import torch
from reference_timing import median, step_times

torch.set_num_threads(2)
torch.manual_seed(0)
SHAPES = json.loads(sys.argv[1])
results = {}
for s in SHAPES:
    n, h, w, ci = s["x"]
    kh, kw, _, co = s["k"]
    x = torch.randn(n, ci, h, w, requires_grad=True)
    conv = torch.nn.Conv2d(ci, co, (kh, kw), stride=s["stride"], padding=kh // 2, bias=False)
    y = conv(x)
    dy = torch.randn_like(y)

    def step():
        torch.autograd.grad(y, [x, conv.weight], dy, retain_graph=True)

    results[s["name"]] = median(step_times(step, 5))
print(json.dumps(results))
