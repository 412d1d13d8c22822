"""PyTorch reference for `npm run bench:gpu` (bench/gpu.ts): the GAM per image, the baseline and
GABN training steps, and the embedding throughput of the same configuration, on CUDA where PyTorch
has it, otherwise on the CPU (the device is part of the output). argv[1]: the configuration as JSON,
argv[2]: repeats. Prints one JSON line."""
import json
import sys

import torch
from reference_timing import median, step_times
from steps import embedding_step, gam_step, training_steps

torch.manual_seed(0)
c = json.loads(sys.argv[1])
repeats = int(sys.argv[2])
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (PyTorch has no CUDA here)"
gam = median(step_times(gam_step(dict(c, batch=c["gamBatch"]), device), repeats)) / c["gamBatch"]
train = {k: median(step_times(s, repeats)) for k, s in training_steps(c, device).items()}
embed = median(step_times(embedding_step(dict(c, batch=c["embedBatch"]), device), repeats))
print(json.dumps({"device": name, "gamPerImage": gam, **train, "imagesPerSecond": c["embedBatch"] / embed}))
