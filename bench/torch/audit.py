"""PyTorch (and NumPy) reference for bench/audit.bench.ts: the compute of a fairness audit of one
checkpoint on the demo test set, timed on this machine in the same run as the project's audit.

  1. embeddings: the image plus its mirror image through an iResNet of the checkpoint's shape
     (random weights: the time does not depend on their values), batches of 16, eval mode, no
     gradient, CPU, argv[3] threads; the images are random tensors (no JPEG decoding, no alignment);
  2. the protocol per group: squared distances of the L2-normalised embeddings of each pair,
     insightface's 400 thresholds, 10 folds, each fold's threshold chosen on the other nine;
  3. the bootstrap: `resamples` stratified resamples (group, fold, genuine/impostor) of the pairs,
     the 10-fold accuracy of every group recomputed on each, then Avg, STD and SER.

argv[1]: a JSON file {"depth", "width", "inputSize", "embeddingSize", "images", "resamples",
"groups": [{"a": [...], "b": [...], "same": [...], "fold": [...]}]}. Prints one JSON line:
{"embedSeconds", "imagesPerSecond", "protocolSeconds", "bootstrapSeconds", "totalSeconds"}."""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden"))
from iresnet import IResNet  # noqa: E402

with open(sys.argv[1]) as f:
    spec = json.load(f)
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
torch.manual_seed(0)
THRESHOLDS = np.arange(0, 4, 0.01)


def embed(model, n, size, batch=16):
    out = []
    with torch.no_grad():
        for start in range(0, n, batch):
            x = torch.randn(min(batch, n - start), 3, size, size)
            out.append(model(x) + model(torch.flip(x, dims=[3])))
    e = torch.cat(out)
    return torch.nn.functional.normalize(e, dim=1).numpy().astype(np.float64)


def fold_accuracy(bins, same, fold, weights):
    """10-fold accuracy of one group: counts per (fold, threshold bin) of genuine and impostor pairs."""
    k = fold.max() + 1
    n_bins = len(THRESHOLDS) + 1
    idx = fold * n_bins + bins
    genuine = np.bincount(idx, weights * same, minlength=k * n_bins).reshape(k, n_bins)
    impostor = np.bincount(idx, weights * (1 - same), minlength=k * n_bins).reshape(k, n_bins)
    # Below threshold t are the pairs of bins 0..t: genuine accepted, impostor accepted.
    tp = np.cumsum(genuine, axis=1)[:, :-1]
    fp = np.cumsum(impostor, axis=1)[:, :-1]
    tn = impostor.sum(axis=1, keepdims=True) - fp
    correct = tp + tn
    total = genuine.sum(axis=1) + impostor.sum(axis=1)
    accuracies = []
    for held in range(k):
        train = np.delete(np.arange(k), held)
        best = np.argmax(correct[train].sum(axis=0) / total[train].sum())
        accuracies.append(correct[held, best] / total[held])
    return float(np.mean(accuracies))


def fairness(accuracies):
    a = 100 * np.asarray(accuracies)
    errors = 100 - a
    return a.mean(), a.std(ddof=1), errors.max() / errors.min() if errors.min() > 0 else np.inf


start = time.perf_counter()
model = IResNet(spec["depth"], spec["width"], spec["inputSize"], spec["embeddingSize"]).eval()
built = time.perf_counter()
embeddings = embed(model, spec["images"], spec["inputSize"])
embedded = time.perf_counter()

groups = []
for g in spec["groups"]:
    a, b = np.asarray(g["a"]), np.asarray(g["b"])
    d = ((embeddings[a] - embeddings[b]) ** 2).sum(axis=1)
    # Bin k holds the distances in [t_{k-1}, t_k): a pair is "same" at threshold t_k when d < t_k.
    bins = np.searchsorted(THRESHOLDS, d, side="right")
    groups.append((bins, np.asarray(g["same"], dtype=np.float64), np.asarray(g["fold"])))
point = fairness([fold_accuracy(bins, same, fold, np.ones_like(same)) for bins, same, fold in groups])
protocol = time.perf_counter()

rng = np.random.default_rng(1)
strata = []
for bins, same, fold in groups:
    strata.append([np.flatnonzero((fold == f) & (same == s)) for f in range(fold.max() + 1) for s in (0, 1)])
replicates = []
for _ in range(spec["resamples"]):
    accuracies = []
    for (bins, same, fold), cells in zip(groups, strata):
        w = np.zeros(len(bins))
        for cell in cells:
            if len(cell):
                np.add.at(w, cell[rng.integers(0, len(cell), len(cell))], 1)
        accuracies.append(fold_accuracy(bins, same, fold, w))
    replicates.append(fairness(accuracies))
done = time.perf_counter()
print(
    json.dumps(
        {
            "embedSeconds": embedded - built,
            "imagesPerSecond": spec["images"] / (embedded - built),
            "protocolSeconds": protocol - embedded,
            "bootstrapSeconds": done - protocol,
            "totalSeconds": done - start,
        }
    )
)
