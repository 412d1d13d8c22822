"""PyTorch reference for bench/train-step.bench.ts: one training step of the same iResNet
configuration, CPU, 2 threads, the median of argv[2] steps (default 3) after a warm-up. The steps
(baseline, and GABN as the paper counts it) are those of steps.py.
Prints one JSON line: seconds per step."""
import json
import sys

import torch
from reference_timing import median, step_times
from steps import training_steps

torch.set_num_threads(2)
torch.manual_seed(0)
c = json.loads(sys.argv[1])
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
steps = training_steps(c, torch.device("cpu"))
results = {name: median(step_times(step, repeats)) for name, step in steps.items()}
print(json.dumps(results))
