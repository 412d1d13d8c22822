#!/usr/bin/python3
"""Float64 PyTorch reference for GAM consistency training's double backprop (paper Eq. 1, 2 and 4).

Run with Debian's python3 (it has torch): /usr/bin/python3 tests/golden/second_order.py
Writes tests/golden/fixtures/second_order.json, read by tests/golden/second-order.test.ts.

The network is small but has every kind of layer the GABN path differentiates twice:

    x [N, 3, 8, 8]
    a1  = PReLU(BN(conv3x3(x)))                         conv1 3→K, stride 1, pad 1
    a2  = PReLU(BN(conv3x3(a1))) + a1                   conv2 K→K, stride 1, pad 1; residual add
    a3  = PReLU(BN(conv3x3 stride 2 (a2)))              conv3 K→K, stride 2, pad 1: 8×8 → 4×4
    e   = BN1d(flatten(a3) · F)                         fc (no bias: BN1d cancels it), then insightface's
                                                        `features` BN1d: scale fixed at 1, shift trained
    cos = (e / |e|) · (W / |W_col|)                     W: D×C, one column per identity
    P   = softmax(s · cos)
    T   = Σ_n (1/C) Σ_i (P_max − P_i)                   Eq. 1, summed over the batch
    GAM = max_channels |∂T/∂x|                          Eq. 2, [N, 8, 8]
    G~  = GAM / (max_{h,w} GAM + 1e-30)                 per image, inside the graph (as the
                                                        discriminator sees it; the maximum's gradient
                                                        reaches its pixel)
    z   = flatten(G~) · V + c                           a fixed linear discriminator over 4 groups
    L   = −(1/N) Σ_n (1/G) Σ_g log softmax(z_n)_g       Eq. 4, averaged over the batch

Batch norms are in training mode (batch statistics, biased variance, eps 1e-5), so the images of a
batch interact: both sides compute the same thing, which is what the comparison needs.

s = 16, not the paper's 64. Eq. 1's T written as softmax then max differentiates through P_max, whose
derivative involves 1 − P_max; in float32 that is a difference of numbers near 1, with absolute
resolution 6e-8. At s = 64 this batch already has an image with 1 − P_max = 3.9e-6 (the script prints
it; the smallest top-two cosine gap is 0.04, most are larger), so float32 keeps only ~2 digits of its
derivative and the comparison would measure saturation, not the gradients; trained networks go far
below float32's resolution. At s = 16 the smallest 1 − P_max is 0.04. (main/gabn/gam.ts computes
P_max as 1/(1 + Σ e^{z_j − z_max}) for that reason; the golden test checks it too.)

Exported in the layouts tfjs uses: NHWC activations and images, HWIO kernels, matrices [in, out],
flatten in (h, w, c) order. Arrays are flat lists (row-major) with their shapes, values rounded to
12 significant digits (far beyond float32).

Weights and the batch come from a seed. The script walks seeds from SEED_START until the point is
well-conditioned for a float32 comparison (no PReLU input within 1e-3 of its kink, a unique P argmax
with a margin, a unique channel maximum of |∂T/∂x| at every pixel and a unique GAM maximum per
image), and asserts it.
"""
import json
import math
import os
import tempfile

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "second_order.json")

N, H, W_, K = 4, 8, 8, 3  # batch (BN1d over 2 images only sees their difference: 4), size, channels
D, C, G = 8, 5, 4  # embedding size, identities, discriminator groups
S = 16.0
S_PAPER = 64.0
BN_EPS = 1e-5
NORMALISE_EPS = 1e-30
SEED_START = 20261128

# Conditioning margins (float32 errors on these quantities are ~1e-6 relative).
PRELU_MARGIN = 1e-3  # |pre-activation| (BN output, O(1))
LOGIT_MARGIN = 1e-2  # s·cos gap between the top identity and the second
CHANNEL_MARGIN = 1e-4  # gap between the two largest |∂T/∂x| channels, relative to the image's GAM max
GAM_MAX_MARGIN = 1e-4  # gap between the two largest GAM pixels of an image, relative to its max

TRAINABLE = [
    "conv1.weight", "bn1.weight", "bn1.bias", "prelu1.weight",
    "conv2.weight", "bn2.weight", "bn2.bias", "prelu2.weight",
    "conv3.weight", "bn3.weight", "bn3.bias", "prelu3.weight",
    "fc.weight", "features.bias", "head.weight", "disc.weight", "disc.bias",
]  # fmt: skip
FEATURE_SIZE = (H // 2) * (W_ // 2) * K


def make_point(seed):
    """The batch and every weight, PyTorch layouts (OIHW kernels), float64."""
    g = torch.Generator().manual_seed(seed)

    def normal(*shape, std=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * std

    def uniform(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float64)

    p = {}
    x = uniform(-1.0, 1.0, N, 3, H, W_)
    for i, cin in ((1, 3), (2, K), (3, K)):
        p[f"conv{i}.weight"] = normal(K, cin, 3, 3, std=math.sqrt(2.0 / (9 * cin)))
        p[f"bn{i}.weight"] = uniform(0.6, 1.4, K)
        p[f"bn{i}.bias"] = uniform(-0.3, 0.3, K)
        p[f"prelu{i}.weight"] = uniform(0.1, 0.4, K)
    p["fc.weight"] = normal(FEATURE_SIZE, D, std=1.0 / math.sqrt(FEATURE_SIZE))
    p["features.weight"] = torch.ones(D, dtype=torch.float64)  # fixed at 1, as in insightface
    p["features.bias"] = uniform(-0.5, 0.5, D)
    p["head.weight"] = normal(D, C)
    p["disc.weight"] = normal(H * W_, G, std=2.0 / math.sqrt(H * W_))
    p["disc.bias"] = uniform(-0.2, 0.2, G)
    return x, p


def bn(h, p, name):
    """Training-mode batch norm: batch statistics, biased variance, no running estimates."""
    return F.batch_norm(h, None, None, p[f"{name}.weight"], p[f"{name}.bias"], training=True, eps=BN_EPS)


def prelu(h, alpha):
    """PReLU written out with where. torch 1.13's F.prelu, when its output is permuted before use (as
    the NHWC flatten below does), drops the second-order path through its incoming gradient without an
    error: fc.weight, features.bias and head.weight came out unused in ∂L_adv/∂θ. Without the permute,
    or written as here, the path is kept."""
    return torch.where(h > 0, h, alpha.reshape(1, -1, 1, 1) * h)


def embed(x, p, pre):
    """Training-mode forward to the BN1d embedding; PReLU inputs are collected in `pre`."""
    h = bn(F.conv2d(x, p["conv1.weight"], padding=1), p, "bn1")
    pre.append(h)
    a1 = prelu(h, p["prelu1.weight"])
    h = bn(F.conv2d(a1, p["conv2.weight"], padding=1), p, "bn2")
    pre.append(h)
    a2 = prelu(h, p["prelu2.weight"]) + a1
    h = bn(F.conv2d(a2, p["conv3.weight"], stride=2, padding=1), p, "bn3")
    pre.append(h)
    a3 = prelu(h, p["prelu3.weight"])
    flat = a3.permute(0, 2, 3, 1).reshape(N, -1)  # (h, w, c) order, as tfjs flattens NHWC
    return bn(flat @ p["fc.weight"], p, "features")


def cosines(e, p):
    return F.normalize(e, dim=1) @ F.normalize(p["head.weight"], dim=0)


def objective_t(cos, s):
    prob = torch.softmax(s * cos, dim=1)
    return (prob.amax(dim=1, keepdim=True) - prob).mean(dim=1).sum(), prob


def evaluate(x, p):
    x = x.clone().requires_grad_(True)
    params = {k: v.clone().requires_grad_(k in TRAINABLE) for k, v in p.items()}
    trainable = [params[k] for k in TRAINABLE]
    pre = []
    e = embed(x, params, pre)
    cos = cosines(e, params)
    t, prob = objective_t(cos, S)
    grad_t = torch.autograd.grad(t, trainable, retain_graph=True, allow_unused=True)
    (dtdx,) = torch.autograd.grad(t, x, create_graph=True)
    gam = dtdx.abs().amax(dim=1)  # [N, H, W]
    gam_norm = gam / (gam.amax(dim=(1, 2), keepdim=True) + NORMALISE_EPS)
    logits = gam_norm.reshape(N, -1) @ params["disc.weight"] + params["disc.bias"]
    l_adv = -torch.log_softmax(logits, dim=1).mean(dim=1).mean()
    grad_l = torch.autograd.grad(l_adv, [x] + trainable, allow_unused=True)
    return {
        "pre": [q.detach() for q in pre],
        "embedding": e.detach(),
        "cos": cos.detach(),
        "P": prob.detach(),
        "T": t.detach(),
        "dTdx": dtdx.detach(),
        "gam": gam.detach(),
        "gamNormalised": gam_norm.detach(),
        "logits": logits.detach(),
        "lAdv": l_adv.detach(),
        "gradT": dict(zip(TRAINABLE, grad_t)),
        "gradLAdvInput": grad_l[0],
        "gradLAdv": dict(zip(TRAINABLE, grad_l[1:])),
    }


def top_two_gap(values, dim):
    top = values.topk(2, dim=dim).values
    return top.select(dim, 0) - top.select(dim, 1), top.select(dim, 0)


def conditioning(r):
    """The margins the float32 comparison relies on; each must exceed its threshold."""
    z = S * r["cos"]
    logit_gap, _ = top_two_gap(z, 1)
    channel_gap, _ = top_two_gap(r["dTdx"].abs(), 1)  # [N, H, W]
    image_max = r["gam"].reshape(N, -1).amax(dim=1)
    gam_gap, _ = top_two_gap(r["gam"].reshape(N, -1), 1)
    return {
        "preluInputMinAbs": min(float(q.abs().min()) for q in r["pre"]),
        "logitGapMin": float(logit_gap.min()),
        "channelGapMinRelative": float((channel_gap / image_max[:, None, None]).min()),
        "gamMaxGapMinRelative": float((gam_gap / image_max).min()),
        "oneMinusPmaxMin": float((1 - r["P"].amax(dim=1)).min()),
    }


def well_conditioned(c):
    return (
        c["preluInputMinAbs"] > PRELU_MARGIN
        and c["logitGapMin"] > LOGIT_MARGIN
        and c["channelGapMinRelative"] > CHANNEL_MARGIN
        and c["gamMaxGapMinRelative"] > GAM_MAX_MARGIN
        and c["oneMinusPmaxMin"] > 1e-3
    )


def nhwc(t):
    return t.permute(0, 2, 3, 1)


def hwio(t):
    return t.permute(2, 3, 1, 0)


def tfjs_layout(name, t):
    """Kernels OIHW → HWIO; everything else is already in tfjs's layout."""
    return hwio(t) if name.startswith("conv") else t


def enc(t):
    t = t.detach().contiguous()
    return {
        "shape": list(t.shape),
        "data": [float(f"{v:.12g}") for v in t.reshape(-1).tolist()],
    }


def main():
    torch.set_num_threads(1)
    seed = SEED_START
    for seed in range(SEED_START, SEED_START + 500):
        x, p = make_point(seed)
        r = evaluate(x, p)
        cond = conditioning(r)
        if well_conditioned(cond):
            break
    else:
        raise SystemExit("no well-conditioned seed in 500 tries")
    assert cond["preluInputMinAbs"] > PRELU_MARGIN, cond
    assert cond["logitGapMin"] > LOGIT_MARGIN, cond
    assert cond["channelGapMinRelative"] > CHANNEL_MARGIN, cond
    assert cond["gamMaxGapMinRelative"] > GAM_MAX_MARGIN, cond
    for name, grad in r["gradLAdv"].items():
        assert grad is not None and torch.isfinite(grad).all(), name
    # Every weight of the face network reaches L_adv only through ∂T/∂x: a zero here would mean
    # the second-order path is missing from the reference itself.
    for name in TRAINABLE:
        if not name.startswith("disc."):
            assert float(r["gradLAdv"][name].abs().max()) > 0, name

    # Why not s = 64: the same point's 1 − P_max there.
    with torch.no_grad():
        _, prob64 = objective_t(r["cos"], S_PAPER)
    one_minus_pmax_64 = (1 - prob64.amax(dim=1)).tolist()

    fixture = {
        "description": "float64 PyTorch reference of T (Eq. 1), GAM (Eq. 2), L_adv (Eq. 4) and their "
        "gradients through double backprop; written by tests/golden/second_order.py",
        "config": {
            "seed": seed,
            "batch": N,
            "height": H,
            "width": W_,
            "channels": K,
            "embeddingSize": D,
            "identities": C,
            "groups": G,
            "s": S,
            "bnEpsilon": BN_EPS,
            "normaliseEpsilon": NORMALISE_EPS,
        },
        "conditioning": {**cond, "oneMinusPmaxAtS64": one_minus_pmax_64},
        "trainable": TRAINABLE,
        "input": enc(nhwc(x)),
        "params": {k: enc(tfjs_layout(k, v)) for k, v in p.items()},
        "embedding": enc(r["embedding"]),
        "cos": enc(r["cos"]),
        "P": enc(r["P"]),
        "T": float(r["T"]),
        "dTdx": enc(nhwc(r["dTdx"])),
        "gam": enc(r["gam"]),
        "gamNormalised": enc(r["gamNormalised"]),
        "logits": enc(r["logits"]),
        "lAdv": float(r["lAdv"]),
        "gradT": {k: enc(tfjs_layout(k, v)) for k, v in r["gradT"].items() if v is not None},
        "gradLAdv": {
            "input": enc(nhwc(r["gradLAdvInput"])),
            **{k: enc(tfjs_layout(k, v)) for k, v in r["gradLAdv"].items()},
        },
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(OUT), prefix=".second_order.", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    os.chmod(tmp, 0o644)
    os.replace(tmp, OUT)
    print(f"seed {seed}: T {float(r['T']):.6g}, L_adv {float(r['lAdv']):.6g}")
    print("conditioning", json.dumps(fixture["conditioning"]))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
