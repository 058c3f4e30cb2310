#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for firegrad's tests.

Usage (from the repo root):

    /usr/bin/python3 scripts/make-fixtures.py          # write every group
    /usr/bin/python3 scripts/make-fixtures.py core     # only test/fixtures/core.json
    /usr/bin/python3 scripts/make-fixtures.py ops      # only test/fixtures/ops.json

(`pnpm fixtures` runs the same thing.) Needs only PyTorch (Debian's
python3-torch is enough). Everything is computed in float64 with a fixed seed
per case, so the output is byte-for-byte reproducible.

The generated JSON files are committed to the repo: the TypeScript tests read
them directly, so CI never needs Python or PyTorch. Re-run this script only
when a case is added or changed, and commit the result.

File layout: {"cases": [case, ...]} where each case is
    {"name": str,
     "op": str,                      # ops.json only
     "inputs": {name: tensor},       # float inputs, plus int index/label tensors
     "params": {...},                # non-tensor arguments
     "gradOutput": tensor,           # random normal, same shape as output
     "output": tensor,
     "grads": {name: tensor}}        # d/d(input) of (output * gradOutput).sum()
and a tensor is {"shape": [...], "data": [flat row-major list]} (ints for
index tensors; a 0-d tensor has shape [] and a one-element data list).
Integer inputs have no entry in "grads".
"""

import json
import math
import os
import sys
import zlib

import torch
import torch.nn.functional as F

DTYPE = torch.float64
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_DIR = os.path.join(ROOT, "test", "fixtures")


# ---------------------------------------------------------------- helpers


def seed(name):
    """Seed torch from the case name, so cases don't depend on each other."""
    torch.manual_seed(zlib.crc32(name.encode("utf-8")))


def ser(t):
    """Tensor -> {"shape", "data"} with a flat row-major list of Python numbers."""
    t = t.detach()
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def randn(*shape):
    return torch.randn(shape, dtype=DTYPE)


def uniform(lo, hi, *shape):
    return torch.rand(shape, dtype=DTYPE) * (hi - lo) + lo


def push_away(x, points, margin=0.05):
    """Move values within `margin` of any kink point further away from it.

    A value at distance d < margin from p goes to distance margin + d on the
    same side, so no value lands near p and distinct values stay distinct.
    """
    x = x.clone()
    for p in points:
        d = x - p
        near = d.abs() < margin
        side = torch.where(d >= 0, torch.ones_like(d), -torch.ones_like(d))
        x = torch.where(near, p + side * (margin + d.abs()), x)
    return x


def distinct(*shape, scale=4.0):
    """Values with no ties anywhere: a scaled random permutation plus noise.

    Gaps between any two values are at least 0.2 * scale / numel.
    """
    n = math.prod(shape)
    perm = torch.randperm(n).to(DTYPE)
    noise = uniform(-0.4, 0.4, n)
    return ((perm + noise) / n * scale - scale / 2).reshape(shape)


def vjp(fn, inputs):
    """Run fn(**inputs) and the VJP with a random normal gradOutput.

    Returns (output, gradOutput, grads) with grads for every float input.
    """
    leaves = {
        k: (v.clone().requires_grad_(True) if v.is_floating_point() else v)
        for k, v in inputs.items()
    }
    out = fn(**leaves)
    grad_out = randn(*out.shape)
    diff = [k for k, v in leaves.items() if v.is_floating_point()]
    gs = torch.autograd.grad(out, [leaves[k] for k in diff], grad_out)
    return out.detach(), grad_out, dict(zip(diff, gs))


def make_case(name, fn, inputs, params=None, op=None):
    out, grad_out, grads = vjp(fn, inputs)
    case = {"name": name}
    if op is not None:
        case["op"] = op
    case["inputs"] = {k: ser(v) for k, v in inputs.items()}
    case["params"] = params or {}
    case["gradOutput"] = ser(grad_out)
    case["output"] = ser(out)
    case["grads"] = {k: ser(g) for k, g in grads.items()}
    return case


def write(group, cases):
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    path = os.path.join(FIXTURE_DIR, group + ".json")
    with open(path, "w") as f:
        # Python's float repr is shortest round-trip exact; allow_nan=False
        # makes a NaN/Inf an error instead of invalid JSON.
        json.dump({"cases": cases}, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)}: {len(cases)} cases, "
          f"{os.path.getsize(path)} bytes")


# ---------------------------------------------------------------- core


def core_cases():
    cases = []

    def add(name, build, fn, params=None):
        seed(name)
        cases.append(make_case(name, fn, build(), params))

    add("logsoftmax_gather",
        lambda: {"x": randn(4, 5), "idx": torch.randint(0, 5, (4, 1))},
        lambda x, idx: torch.log_softmax(x, 1).gather(1, idx))

    add("matmul_chain",
        lambda: {"a": randn(3, 4), "b": randn(4, 5), "c": randn(5, 2)},
        lambda a, b, c: torch.tanh(a @ b) @ c)

    add("batched_matmul_broadcast",
        lambda: {"a": randn(2, 1, 3, 4), "b": randn(3, 4, 2)},
        lambda a, b: a @ b)

    add("matvec",
        lambda: {"a": randn(3, 4), "v": randn(4)},
        lambda a, v: a @ v)

    add("vecmat",
        lambda: {"v": randn(3), "a": randn(3, 4)},
        lambda v, a: v @ a)

    def broadcast_inputs():
        # x away from 0 (abs kink, and x*y0 == x*y1 only when x == 0);
        # y's two values well apart, so amax over dim 1 never ties.
        x = push_away(randn(3, 1, 4), [0.0], 0.1)
        y = torch.tensor([[0.9], [-0.6]], dtype=DTYPE) + uniform(-0.2, 0.2, 2, 1)
        return {"x": x, "y": y}

    def broadcast_fn(x, y):
        z = x * y
        return (z.sum(dim=2, keepdim=True)
                / (x.abs() + 1).mean(dim=[0, 2], keepdim=True)
                + z.amax(dim=1, keepdim=True).mean(dim=2, keepdim=True))

    add("broadcast_reductions", broadcast_inputs, broadcast_fn)

    add("softmax_dims",
        lambda: {"x": randn(3, 4, 2)},
        lambda x: torch.softmax(x, dim=0) * torch.softmax(x, dim=-1))

    add("logsumexp_max",
        lambda: {"x": distinct(3, 5, scale=5.0)},
        lambda x: torch.logsumexp(x, dim=1) + x.max(dim=1).values
        - torch.sigmoid(x).mean())

    add("pow_sqrt_div",
        lambda: {"x": uniform(0.5, 2, 2, 3), "y": uniform(0.5, 2, 3)},
        lambda x, y: x.pow(y) / (x + y).sqrt() + x.pow(2.5)
        - torch.log(x) * torch.exp(-y))

    add("cross_entropy",
        lambda: {"logits": randn(6, 4), "labels": torch.randint(0, 4, (6,))},
        lambda logits, labels: F.cross_entropy(logits, labels))

    add("permute_reshape_narrow",
        # 2x is clamped at +-1.5, so keep x away from +-0.75
        lambda: {"x": push_away(randn(2, 3, 4), [-0.75, 0.75])},
        lambda x: torch.clamp(
            x.permute(2, 0, 1).reshape(4, 6).transpose(0, 1).narrow(0, 1, 3) * 2,
            -1.5, 1.5))

    add("where_relu",
        lambda: {"x": push_away(randn(4, 4), [0.0]), "y": randn(4, 4)},
        lambda x, y: torch.where(x > 0, torch.relu(x) * y, torch.tanh(y)))

    add("index_select_expand",
        lambda: {"x": randn(5, 3), "idx": torch.tensor([3, 0, 3, 4])},
        lambda x, idx: x.index_select(0, idx).unsqueeze(0).expand(2, 4, 3)
        * x.sum(0))

    def sum_all_mean_inputs():
        x = randn(2, 3, 4)
        x = x + (0.5 if x.mean() >= 0 else -0.5)  # |mean| well away from 0
        return {"x": x}

    add("sum_all_mean", sum_all_mean_inputs,
        lambda x: (x * x).sum() / x.mean().abs())

    add("squeeze_unsqueeze",
        lambda: {"x": randn(3, 1, 4)},
        lambda x: x.squeeze(1).unsqueeze(0).sub(x.mean(dim=0)).neg())

    return cases


# ---------------------------------------------------------------- ops


def conv_case(name, n, c, h, w, oc, k, stride, padding, dilation, groups, bias):
    seed(name)
    inputs = {"x": randn(n, c, h, w), "weight": randn(oc, c // groups, *k)}
    if bias:
        inputs["bias"] = randn(oc)
    params = {"stride": list(stride), "padding": list(padding),
              "dilation": list(dilation), "groups": groups}

    def fn(x, weight, bias=None):
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

    return make_case(name, fn, inputs, params, op="conv2d")


def maxpool_case(name, n, c, h, w, k, s, p, d, ceil):
    seed(name)
    params = {"kernelSize": list(k), "stride": list(s), "padding": list(p),
              "dilation": list(d), "ceilMode": ceil}
    return make_case(
        name, lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil),
        {"x": distinct(n, c, h, w)}, params, op="maxPool2d")


def avgpool_case(name, n, c, h, w, k, s, p, ceil, include_pad):
    seed(name)
    params = {"kernelSize": list(k), "stride": list(s), "padding": list(p),
              "ceilMode": ceil, "countIncludePad": include_pad}
    return make_case(
        name, lambda x: F.avg_pool2d(x, k, s, p, ceil, include_pad),
        {"x": randn(n, c, h, w)}, params, op="avgPool2d")


def adaptive_case(name, shape, out_size):
    seed(name)
    return make_case(
        name, lambda x: F.adaptive_avg_pool2d(x, out_size),
        {"x": randn(*shape)}, {"outputSize": list(out_size)},
        op="adaptiveAvgPool2d")


def chain_case():
    """SqueezeNet 1.0 stem: conv 7x7/2 + relu, then three 3x3/2 ceil max pools.

    x's grad is summarised (the full 224x224 grad would bloat the file).
    """
    name = "squeezenet10_pool_chain"
    seed(name)
    conv = {"stride": [2, 2], "padding": [0, 0], "dilation": [1, 1], "groups": 1}
    pool = {"kernelSize": [3, 3], "stride": [2, 2], "padding": [0, 0],
            "dilation": [1, 1], "ceilMode": True}
    inputs = {"x": randn(1, 1, 224, 224), "weight": randn(2, 1, 7, 7),
              "bias": randn(2)}
    shapes = {}

    def fn(x, weight, bias):
        y = F.relu(F.conv2d(x, weight, bias, stride=2))
        p1 = F.max_pool2d(y, 3, 2, ceil_mode=True)
        p2 = F.max_pool2d(p1, 3, 2, ceil_mode=True)
        p3 = F.max_pool2d(p2, 3, 2, ceil_mode=True)
        for k, t in (("conv", y), ("p1", p1), ("p2", p2), ("p3", p3)):
            shapes[k] = list(t.shape)
        return p3

    case = make_case(name, fn, inputs, {"conv": conv, "pool": pool}, op="chain")
    gx = torch.tensor(case["grads"].pop("x")["data"], dtype=DTYPE)
    case["gradSummaries"] = {"x": {
        "sum": gx.sum().item(),
        "sumAbs": gx.abs().sum().item(),
        "sumSq": (gx * gx).sum().item(),
        "slice": gx[:50].tolist(),
    }}
    case["shapes"] = shapes
    return case


def ops_cases():
    cases = [
        # name: N, C, H, W, OC, K, stride, padding, dilation, groups, bias
        conv_case("conv_basic", 2, 3, 7, 6, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
        conv_case("conv_stride_asym", 1, 2, 9, 8, 3, (3, 2), (2, 3), (1, 0), (1, 1), 1, True),
        conv_case("conv_dilation", 2, 2, 10, 9, 3, (3, 3), (1, 2), (2, 1), (2, 3), 1, True),
        conv_case("conv_groups", 2, 4, 6, 6, 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, True),
        conv_case("conv_depthwise_nobias", 1, 3, 5, 7, 3, (2, 3), (2, 1), (0, 1), (1, 1), 3, False),
        conv_case("conv_1x1", 2, 5, 4, 4, 3, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),
        conv_case("conv_big_kernel_pad", 1, 1, 5, 5, 2, (5, 5), (3, 3), (2, 2), (1, 1), 1, True),
        # name: N, C, H, W, kernel, stride, padding, dilation, ceilMode
        maxpool_case("maxpool_basic", 2, 2, 6, 6, (2, 2), (2, 2), (0, 0), (1, 1), False),
        maxpool_case("maxpool_ceil", 1, 2, 7, 7, (3, 3), (2, 2), (0, 0), (1, 1), True),
        maxpool_case("maxpool_ceil_pad", 1, 1, 6, 5, (3, 3), (2, 2), (1, 1), (1, 1), True),
        maxpool_case("maxpool_ceil_drop_last", 1, 1, 5, 5, (2, 2), (2, 2), (1, 1), (1, 1), True),
        maxpool_case("maxpool_dilation", 1, 2, 9, 8, (2, 3), (1, 2), (1, 1), (2, 2), False),
        maxpool_case("maxpool_squeezenet_13", 1, 3, 13, 13, (3, 3), (2, 2), (0, 0), (1, 1), True),
        # name: N, C, H, W, kernel, stride, padding, ceilMode, countIncludePad
        avgpool_case("avgpool_basic", 2, 2, 6, 6, (2, 2), (2, 2), (0, 0), False, True),
        avgpool_case("avgpool_ceil_pad_include", 1, 2, 7, 6, (3, 3), (2, 2), (1, 1), True, True),
        avgpool_case("avgpool_ceil_pad_exclude", 1, 2, 7, 6, (3, 3), (2, 2), (1, 1), True, False),
        avgpool_case("avgpool_asym", 1, 1, 8, 5, (3, 2), (2, 1), (1, 0), False, False),
        adaptive_case("adaptive_7x5_to_3x2", (2, 2, 7, 5), (3, 2)),
        adaptive_case("adaptive_6x6_to_1x1", (1, 3, 6, 6), (1, 1)),
        adaptive_case("adaptive_5x4_to_5x4", (1, 1, 5, 4), (5, 4)),
        adaptive_case("adaptive_4x4_to_3x3", (1, 2, 4, 4), (3, 3)),
        chain_case(),
    ]
    by_name = {c["name"]: c for c in cases}
    assert by_name["maxpool_ceil"]["output"]["shape"] == [1, 2, 3, 3]
    assert by_name["maxpool_ceil_drop_last"]["output"]["shape"] == [1, 1, 3, 3]
    assert by_name["maxpool_squeezenet_13"]["output"]["shape"] == [1, 3, 6, 6]
    assert by_name["squeezenet10_pool_chain"]["output"]["shape"] == [1, 2, 13, 13]
    return cases


# ---------------------------------------------------------------- main

GROUPS = {"core": core_cases, "ops": ops_cases}


def main(argv):
    names = argv or list(GROUPS)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        sys.exit(f"unknown fixture group(s) {unknown}; choose from {list(GROUPS)}")
    torch.set_default_dtype(DTYPE)
    for n in names:
        write(n, GROUPS[n]())


if __name__ == "__main__":
    main(sys.argv[1:])
