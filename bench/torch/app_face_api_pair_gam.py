"""PyTorch reference for bench/app.bench.ts: the pair GAM of one 150 px image on a network of
face-api's shape (dlib's ResNet-34-like metric network: 7x7 stem, max pool, 14 residual blocks with
conv + bias + per-channel scale, 128-D descriptor). Random weights: the time does not depend on
their values. One pair GAM = the partner's embedding (no gradient) + forward and backward of the
image + max over channels of |dT/dx|, as the app computes it. CPU, argv[2] threads (default 2),
median of argv[1] runs after a warm-up. Prints one JSON line: {"seconds": median, "min": fastest, "runs": N}."""
import json
import sys

import torch
import torch.nn.functional as F
from reference_timing import median, step_times

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
torch.set_num_threads(THREADS)
torch.manual_seed(0)

BLOCKS = [
    (False, 32, 32), (False, 32, 32), (False, 32, 32),
    (True, 32, 64), (False, 64, 64), (False, 64, 64), (False, 64, 64),
    (True, 64, 128), (False, 128, 128), (False, 128, 128),
    (True, 128, 256), (False, 256, 256), (False, 256, 256),
    (True, 256, 256),
]


class ConvLayer(torch.nn.Module):
    """conv + bias, then the fixed per-channel affine "scale" that replaces batch norm."""

    def __init__(self, cin, cout, k, stride, padding):
        super().__init__()
        self.conv = torch.nn.Conv2d(cin, cout, k, stride, padding)
        self.scale = torch.nn.Parameter(torch.rand(cout) + 0.5)
        self.shift = torch.nn.Parameter(torch.randn(cout) * 0.1)

    def forward(self, x):
        return self.conv(x) * self.scale[:, None, None] + self.shift[:, None, None]


class Block(torch.nn.Module):
    def __init__(self, down, cin, cout):
        super().__init__()
        self.down = down
        # 'valid' stride-2 conv on the main path of a down block, 'same' elsewhere (as face-api).
        self.conv1 = ConvLayer(cin, cout, 3, 2 if down else 1, 0 if down else 1)
        self.conv2 = ConvLayer(cout, cout, 3, 1, 1)
        self.extra = cout - cin

    def forward(self, x):
        out = self.conv2(F.relu(self.conv1(x)))
        if not self.down:
            return F.relu(out + x)
        pooled = F.avg_pool2d(x, 2, 2)
        dh, dw = pooled.shape[2] - out.shape[2], pooled.shape[3] - out.shape[3]
        if dh or dw:
            out = F.pad(out, (0, dw, 0, dh))
        if self.extra:
            pooled = F.pad(pooled, (0, 0, 0, 0, 0, self.extra))
        return F.relu(pooled + out)


class FaceApiShape(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvLayer(3, 32, 7, 2, 0)
        self.blocks = torch.nn.Sequential(*[Block(*b) for b in BLOCKS])
        self.fc = torch.nn.Linear(256, 128, bias=False)

    def forward(self, x):
        out = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        return self.fc(self.blocks(out).mean(dim=(2, 3)))


model = FaceApiShape().eval()
x = torch.randn(1, 3, 150, 150)
partner = torch.randn(1, 3, 150, 150)


def pair_gam():
    with torch.no_grad():
        target = model(partner)
    xx = x.clone().requires_grad_(True)
    t = F.cosine_similarity(model(xx), target, dim=1).sum()
    (g,) = torch.autograd.grad(t, xx)
    return g.abs().amax(dim=1)


assert tuple(pair_gam().shape) == (1, 150, 150)
# The call above was the warm-up.
times = step_times(pair_gam, RUNS, warmup=0)
print(json.dumps({"seconds": median(times), "min": times[0], "runs": RUNS}))
