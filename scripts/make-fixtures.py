#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for firegrad's tests.

Usage (from the repo root):

    /usr/bin/python3 scripts/make-fixtures.py          # write every group
    /usr/bin/python3 scripts/make-fixtures.py core     # only test/fixtures/core.json
    /usr/bin/python3 scripts/make-fixtures.py ops      # only test/fixtures/ops.json
    /usr/bin/python3 scripts/make-fixtures.py nn       # only test/fixtures/nn/*
    /usr/bin/python3 scripts/make-fixtures.py gemm-accuracy  # only its nn/ file
    /usr/bin/python3 scripts/make-fixtures.py roundtrip  # check firegrad's file
    /usr/bin/python3 scripts/make-fixtures.py norm     # test/fixtures/norm.json and nn/*batchnorm2d*
    /usr/bin/python3 scripts/make-fixtures.py resize conv-geometry losses indexing  # one JSON each

(`pnpm fixtures` runs the same thing.) Needs only PyTorch (Debian's
python3-torch is enough), plus torchvision for `nn`. Everything is computed in
float64 with a fixed seed per case (the SqueezeNet files also in float32, as
noted), so the output is byte-for-byte reproducible.

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

The `nn` group writes test/fixtures/nn/ (safetensors written by hand, see
st_encode; tensors in header order, "__metadata__" first):
  squeezenet1_0_10.safetensors, squeezenet1_1_10.safetensors
      torchvision's state dict (same keys, F32) of squeezenet1_x(num_classes=10):
      its own init, then 0.01 * randn added to every bias.
  squeezenet1_0_10_io.safetensors (input [2,3,224,224]),
  squeezenet1_1_10_io.safetensors (input [2,3,96,96])
      input F32, labels I32 [2], logits32 F32 / logits64 F64 [2,10] (eval mode;
      64 = model.double() on the same float32 values), loss32 F32 / loss64 F64
      (0-d, F.cross_entropy mean), grad32.<param> F32 / grad64.<param> F64 for
      the SQUEEZENET_GRADS parameters.
  squeezenet.json  {"paramCounts": {"squeezenet1_0": {"1000": n, "10": n}, ...},
                    "stateDict": {"squeezenet1_0": [{"name", "shape"}, ...], ...}}
                   (state-dict keys in order, 1000 classes)
  optim.json       {"params0": {"p0", "p1"}, "grads": [{"p0", "p1"}, ...],
                    "configs": [{"name", "optimizer", "options", "scheduler",
                                 "steps": [{"p0", "p1", "lr"}, ...]}, ...]}
                   (see optim_fixture; float64)
  fire.json        Fire(6, 3, 4, 5), float64: {"module", "params", "stateDict",
                    "inputs": {"x"}, "gradOutput", "output", "grads"}
                   with grads for "x" and every state-dict name.
  squeezenet1_0_10_227_grads.safetensors (`gemm-accuracy` group)
      long-reduction float32 accuracy: squeezenet1_0_10.safetensors' weights
      on one seeded [1,3,227,227] input (F32), labels I32 [1],
      grad64.features.0.weight F64; metadata: max|g32 - g64| / max|g64| of
      PyTorch float32's whole-network gradient (torchRelErr32) and of its dW
      from the float64 dY rounded to float32 (torchConvDwRelErr32), the
      kink report (reluFlips32, poolFlips32: float32 decisions that differ),
      and on how many of 20 more seeded inputs PyTorch float32's
      whole-network error exceeds 1e-5 (torchRelErr32Over1e-5).
The `roundtrip` group writes nothing: it checks nn/firegrad-saved.safetensors
(written by firegrad's safetensors test) if it exists.
"""

import contextlib
import copy
import json
import math
import os
import struct
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


def ser_nf(t):
    """ser() for tensors that may hold NaN/Inf: JSON has none, so they become the strings "NaN",
    "Infinity" and "-Infinity" (JavaScript's Number() reads them back)."""
    t = t.detach()
    data = [v if math.isfinite(v) else ("NaN" if v != v else ("Infinity" if v > 0 else "-Infinity"))
            for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def elementwise_cases():
    """Issue 15 elementwise math, each case in float64 and float32 (torch computes both).

    Awkward points on purpose: ties and NaN in maximum/minimum (PyTorch halves the gradient on a
    tie and gives both sides the full gradient next to a NaN), halves for round (half to even),
    0/-0/Inf/NaN, and large |x|. JSON has no NaN/Inf, so non-finite values are written as the
    strings "NaN", "Infinity", "-Infinity" (JavaScript's Number() reads them back).
    """
    nan, inf = math.nan, math.inf

    cases = []

    def add(name, build, fn):
        seed(name)
        inputs = build()
        grad_out = None
        for dtype in (torch.float64, torch.float32):
            leaves = {k: v.to(dtype).requires_grad_(True) for k, v in inputs.items()}
            out = fn(*leaves.values())
            if grad_out is None:
                grad_out = randn(*out.shape)
            g = grad_out.to(dtype)
            gs = torch.autograd.grad(out, list(leaves.values()), g)
            cases.append({
                "name": name, "dtype": str(dtype).replace("torch.", ""),
                "inputs": {k: ser_nf(v) for k, v in leaves.items()},
                "gradOutput": ser_nf(g), "output": ser_nf(out),
                "grads": {k: ser_nf(v) for k, v in zip(leaves, gs)},
            })

    t = lambda *v: torch.tensor(v, dtype=DTYPE)
    special = t(-2.5, -1.5, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 2.4999, -3.7, 4.2, 0.49999997,
                8388607.5, -8388609.0, 1e20, -1e20, inf, -inf, nan)
    add("maximum_broadcast", lambda: {"a": distinct(3, 1, 4), "b": distinct(5, 4)}, torch.maximum)
    add("minimum_broadcast", lambda: {"a": distinct(2, 3), "b": distinct(3, 2, 1)}, torch.minimum)
    ties_a = t(1.0, 2.0, 3.0, nan, 1.0, nan, inf, -inf, 0.0, -0.0, 5.0, -1e30)
    ties_b = t(1.0, 3.0, 2.0, 1.0, nan, nan, inf, -inf, -0.0, 0.0, inf, -inf)
    add("maximum_ties_nan_inf", lambda: {"a": ties_a, "b": ties_b}, torch.maximum)
    add("minimum_ties_nan_inf", lambda: {"a": ties_a, "b": ties_b}, torch.minimum)
    # a tie between each row of a and the broadcast b: b's gradient sums halves over rows
    tie_rows = lambda: {"a": t(1.0, 2.0, 3.0, 1.0, 0.0, 4.0, 1.0, 2.0, -3.0).reshape(3, 3), "b": t(1.0, 2.0, 3.0)}
    add("maximum_ties_broadcast", tie_rows, torch.maximum)
    add("minimum_ties_broadcast", tie_rows, torch.minimum)
    for op in ("floor", "ceil", "round", "sign"):
        add(op + "_special", lambda: {"x": special}, getattr(torch, op))
    add("round_halves", lambda: {"x": torch.arange(-20, 21, dtype=DTYPE) / 2}, torch.round)
    add("reciprocal_special",
        lambda: {"x": torch.cat([randn(8), t(0.0, -0.0, 1e-30, -1e30, 3e38, inf, -inf, nan)])},
        torch.reciprocal)
    add("rsqrt_special",
        lambda: {"x": torch.cat([uniform(0.01, 10, 8), t(0.0, 1e-30, 1e30, -1.0, inf, -inf, nan)])},
        torch.rsqrt)
    # dense grid out to |x| = 6.5 plus tiny and infinite values: erf is the base of gelu
    add("erf_grid",
        lambda: {"x": torch.cat([torch.linspace(-6.5, 6.5, 521, dtype=DTYPE),
                                 t(1e-300, -1e-300, 1e-20, -1e-8, 1e-5, 27.0, -27.0, inf, -inf, nan)])},
        torch.erf)
    for op in ("sin", "cos"):
        add(op + "_special",
            lambda: {"x": torch.cat([uniform(-7, 7, 16), t(0.0, -0.0, 1e4, -3e4, 1e5, inf, -inf, nan)])},
            getattr(torch, op))
    add("chain_broadcast",
        lambda: {"a": distinct(2, 3), "b": distinct(3), "c": uniform(0.5, 2, 2, 1)},
        lambda a, b, c: torch.maximum(a, b).erf().mul(torch.minimum(a, c).sin())
        .add(c.rsqrt().mul(a.cos())).sub(b.reciprocal().mul(a.round())))
    return cases


def reduction_cases():
    """Issue 15 reductions, each case in float64 and float32 (torch computes both).

    Awkward points on purpose: ties (max/min over one dim send the gradient to the first index,
    over everything or several dims (amax/amin) they split it evenly), NaN in max/min, prod with one
    zero and with several zeros in a lane (and a zero elsewhere in the tensor, which switches
    PyTorch's backward path), var/std with correction 0/1/N and N - correction <= 0 (inf/NaN), a
    constant slice (std's gradient is NaN there), large |x|. argmin/argmax have no gradient: their
    cases carry the int output only. Non-finite values are the strings "NaN"/"Infinity"/"-Infinity".
    """
    nan, inf = math.nan, math.inf

    cases = []

    def add(name, build, fn, differentiable=True):
        seed(name)
        inputs = build()
        grad_out = None
        for dtype in (torch.float64, torch.float32):
            leaves = {k: v.to(dtype).requires_grad_(differentiable) for k, v in inputs.items()}
            out = fn(*leaves.values())
            case = {"name": name, "dtype": str(dtype).replace("torch.", ""),
                    "inputs": {k: ser_nf(v) for k, v in leaves.items()}, "output": ser_nf(out)}
            if differentiable:
                if grad_out is None:
                    grad_out = randn(*out.shape)
                g = grad_out.to(dtype)
                gs = torch.autograd.grad(out, list(leaves.values()), g)
                case.update(gradOutput=ser_nf(g), grads={k: ser_nf(v) for k, v in zip(leaves, gs)})
            cases.append(case)

    t = lambda *v: torch.tensor(v, dtype=DTYPE)
    ties = lambda: {"x": t(1.0, 3.0, 3.0, -2.0, 0.0, 0.0, 5.0, -2.0, -1.0, -1.0, -1.0, -1.0,
                            2.0, 2.0, 2.0, 7.0, 7.0, 7.0, -4.0, -4.0, 3.0, 0.5, 3.0, 0.5).reshape(2, 3, 4)}
    with_nan = lambda: {"x": t(1.0, nan, 3.0, nan, 2.0, -inf, inf, 0.0, 4.0, -1.0, 4.0, -1.0).reshape(3, 4)}
    for op in ("max", "min"):
        f = getattr(torch, op)
        a = getattr(torch, "a" + op)
        add(op + "_all_ties", ties, lambda x, f=f: f(x))
        add(op + "_dim_ties", ties, lambda x, f=f: f(x, 2).values)
        add(op + "_dim0_keepdim_ties", ties, lambda x, f=f: f(x, 0, keepdim=True).values)
        add(op + "_dims_ties", ties, lambda x, a=a: a(x, (0, 2)))
        add(op + "_dims_keepdim_ties", ties, lambda x, a=a: a(x, (1, -1), keepdim=True))
        add(op + "_all_nan", with_nan, lambda x, f=f: f(x))
        add(op + "_dim_nan_inf", with_nan, lambda x, f=f: f(x, 1).values)
        add(op + "_dims_random", lambda: {"x": distinct(3, 2, 4)}, lambda x, a=a: a(x, (0, 1)))
        add("arg" + op + "_ties_nan", lambda: {"x": t(1.0, 3.0, 3.0, -2.0, -2.0, 0.0, nan, 2.0, nan, 1.0,
                                                       5.0, 5.0, 5.0, 5.0, 5.0, -inf, inf, 0.0, inf, -inf).reshape(4, 5)},
            lambda x, op=op: torch.stack([getattr(torch, "arg" + op)(x, 1), getattr(torch, "arg" + op)(x, 0)[:4]]),
            differentiable=False)
        add("arg" + op + "_all", lambda: {"x": t(2.0, -1.0, 7.0, -1.0, 7.0, 0.0).reshape(2, 3)},
            lambda x, op=op: getattr(torch, "arg" + op)(x), differentiable=False)
    add("prod_dim", lambda: {"x": uniform(0.5, 2.0, 3, 4)}, lambda x: torch.prod(x, 1))
    add("prod_all", lambda: {"x": uniform(-1.5, 1.5, 2, 3)}, lambda x: torch.prod(x))
    # lanes with no zero, one zero, two zeros, all zeros (and a zero somewhere: PyTorch's cumprod path)
    zeros = lambda: {"x": t(1.5, -2.0, 0.5, 3.0, 2.0, 0.0, -1.5, 4.0, 0.0, 3.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0).reshape(4, 4)}
    add("prod_dim_zeros", zeros, lambda x: torch.prod(x, 1))
    add("prod_dim0_keepdim_zeros", zeros, lambda x: torch.prod(x, 0, keepdim=True))
    add("prod_all_one_zero", lambda: {"x": t(1.5, -2.0, 0.0, 3.0, 0.5, -1.0)}, lambda x: torch.prod(x))
    add("prod_all_two_zeros", lambda: {"x": t(1.5, 0.0, 2.0, 0.0, 0.5)}, lambda x: torch.prod(x))
    add("prod_inf", lambda: {"x": t(inf, 2.0, -3.0, 1e200, 1e200, 0.5).reshape(2, 3)}, lambda x: torch.prod(x, 1))
    add("prod_inf_and_zero", lambda: {"x": t(inf, 0.0, 2.0, 1.0, -2.0, 3.0).reshape(2, 3)}, lambda x: torch.prod(x, 1))
    add("prod_scalar", lambda: {"x": t(0.0).reshape(())}, lambda x: torch.prod(x))
    for c in (0, 1, 2):
        add(f"var_dim_c{c}", lambda: {"x": randn(3, 5)}, lambda x, c=c: torch.var(x, 1, correction=c))
        add(f"std_dims_c{c}_keepdim", lambda: {"x": randn(2, 3, 4)},
            lambda x, c=c: torch.std(x, (0, 2), correction=c, keepdim=True))
    add("var_all", lambda: {"x": randn(4, 3)}, lambda x: torch.var(x))
    add("std_all", lambda: {"x": randn(4, 3)}, lambda x: torch.std(x, dim=None, correction=0))
    add("var_large", lambda: {"x": 1e6 * randn(3, 6)}, lambda x: torch.var(x, 1))
    # N - correction <= 0: forward divides by max(0, N - correction); the gradients follow PyTorch's formulas
    add("var_dim_n_eq_c", lambda: {"x": t(1.0, 2.0, 5.0, 5.0, -1.0, 3.0).reshape(3, 2)}, lambda x: torch.var(x, 1, correction=2))
    add("var_dim_n_lt_c", lambda: {"x": t(1.0, 2.0, 5.0, 5.0).reshape(2, 2)}, lambda x: torch.var(x, 1, correction=3))
    add("var_all_n_le_c", lambda: {"x": t(1.0, 2.0, 2.0)}, lambda x: torch.var(x, dim=None, correction=4))
    add("var_single", lambda: {"x": t(2.5)}, lambda x: torch.var(x, 0))
    add("var_scalar", lambda: {"x": t(2.5).reshape(())}, lambda x: torch.var(x))
    add("std_constant_slice", lambda: {"x": t(2.0, 2.0, 2.0, 1.0, -1.0, 4.0).reshape(2, 3)}, lambda x: torch.std(x, 1))
    add("var_nan_inf", lambda: {"x": t(1.0, nan, 3.0, inf, 2.0, 0.0, -inf, 1.0, 4.0).reshape(3, 3)}, lambda x: torch.var(x, 1))
    add("chain", lambda: {"x": randn(3, 4)},
        lambda x: torch.std(x, 0).mul(torch.amin(x, (0, 1))).add(torch.prod(x, 1).sum()).sub(torch.var(x, 1, correction=0).max()))
    return cases


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


# ---------------------------------------------------------------- safetensors
#
# Written and read by hand (no `safetensors` package): an 8-byte little-endian
# u64 header length N, then N bytes of JSON header
#     {"__metadata__": {str: str},
#      name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
# padded with spaces to a multiple of 8, then the raw little-endian tensor data
# packed contiguously in header order (offsets count from the first byte after
# the header).

ST_DTYPES = {  # safetensors dtype -> (torch dtype, struct format, bytes each)
    "F64": (torch.float64, "d", 8),
    "F32": (torch.float32, "f", 4),
    "I64": (torch.int64, "q", 8),
    "I32": (torch.int32, "i", 4),
}
ST_NAMES = {v[0]: k for k, v in ST_DTYPES.items()}


# ---------------------------------------------------------------- activations


def activation_cases():
    """Each activation on random values, on its kinks (ties at a kink take PyTorch's
    one-sided choice), at large |x| and at +-Inf / NaN. JSON has no NaN/Inf, so
    non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity"."""
    ops = {  # op -> (PyTorch function of x and params, kink points)
        "leakyRelu": (lambda x, p: F.leaky_relu(x, p["negativeSlope"]), [0.0]),
        "elu": (lambda x, p: F.elu(x, p["alpha"]), [0.0]),
        "selu": (lambda x, p: F.selu(x), [0.0]),
        "silu": (lambda x, p: F.silu(x), []),
        "mish": (lambda x, p: F.mish(x), []),
        "softplus": (lambda x, p: F.softplus(x, p["beta"], p["threshold"]), []),
        "hardtanh": (lambda x, p: F.hardtanh(x, p["minVal"], p["maxVal"]), []),
        # F.hardsigmoid's backward multiplies by a float32 1/6 even in float64 (3e-8 off);
        # relu6(x + 3) / 6 is the same function with the same zero gradient at +-3, exact in
        # float64, except that hardtanh passes the gradient at NaN where hardsigmoid gives 0
        # (checked against F.hardsigmoid below)
        "hardsigmoid": (lambda x, p: torch.where(x.isnan(), F.hardsigmoid(x), F.hardtanh(x + 3, 0.0, 6.0) / 6),
                        [-3.0, 3.0]),
        "hardswish": (lambda x, p: F.hardswish(x), [-3.0, 3.0]),
        "logSigmoid": (lambda x, p: F.logsigmoid(x), []),
        "gelu": (lambda x, p: F.gelu(x, approximate=p["approximate"]), []),
    }
    variants = [  # (case suffix, op, params)
        ("", "leakyRelu", {"negativeSlope": 0.01}),
        ("_slope_neg", "leakyRelu", {"negativeSlope": -0.7}),
        ("", "elu", {"alpha": 1.0}),
        ("_alpha", "elu", {"alpha": 0.3}),
        ("", "selu", {}),
        ("", "silu", {}),
        ("", "mish", {}),
        ("", "softplus", {"beta": 1.0, "threshold": 20.0}),
        ("_beta_threshold", "softplus", {"beta": 2.5, "threshold": 3.0}),
        ("", "hardtanh", {"minVal": -1.0, "maxVal": 1.0}),
        ("_bounds", "hardtanh", {"minVal": -0.5, "maxVal": 2.0}),
        ("_equal_bounds", "hardtanh", {"minVal": 0.25, "maxVal": 0.25}),
        ("", "hardsigmoid", {}),
        ("", "hardswish", {}),
        ("", "logSigmoid", {}),
        ("_tanh", "gelu", {"approximate": "tanh"}),
        ("", "gelu", {"approximate": "none"}),
    ]
    special = [0.0, -0.0, 1e-8, -1e-8, 3.0, -3.0, 1.0, -1.0, 20.0, -20.0, 40.0, -40.0,
               100.0, -100.0, 800.0, -800.0, 1e30, -1e30,
               math.inf, -math.inf, math.nan]
    cases = []
    for suffix, op, params in variants:
        fn, kinks = ops[op]
        bounds = [params["minVal"], params["maxVal"]] if op == "hardtanh" else []
        thresh = [params["threshold"] / params["beta"]] if op == "softplus" else []
        name = op + suffix
        seed(name)
        x = push_away(4 * randn(3, 5), kinks + bounds + thresh, 0.05)
        cases.append(make_case(name, lambda x, fn=fn, params=params: fn(x, params),
                               {"x": x}, params, op))
        seed(name + "_special")
        # the kinks and bounds themselves, and points either side of the linear tail
        pts = special + kinks + bounds + [t + d for t in thresh for d in (-1e-3, 0.0, 1e-3)]
        x = torch.tensor(pts, dtype=DTYPE)
        # one element at a time: PyTorch 1.13's vectorized CPU loop disagrees with its scalar
        # formula at kinks (hardswish's gradient at x = 3 is 1 there, 1.5 in the scalar
        # formula and on GPU); a 1-element tensor always takes the scalar path
        cases.append(make_case(
            name + "_special",
            lambda x, fn=fn, params=params: torch.cat([fn(x[i:i + 1], params) for i in range(len(x))]),
            {"x": x}, params, op))

    # prelu: a weight per channel (dim 1) or one shared; exact zeros in x (the kink: PyTorch's
    # input gradient there is the weight, and x = 0 adds nothing to the weight's)
    def prelu_case(name, x, w):
        seed(name)
        cases.append(make_case(name, lambda x, weight: F.prelu(x, weight), {"x": x, "weight": w}, {}, "prelu"))

    seed("prelu_inputs")
    x = randn(2, 3, 4)
    x[0, 1, 2] = x[1, 0, 0] = x[1, 2, 3] = 0.0
    prelu_case("prelu_channels", x, torch.tensor([0.25, -0.5, 2.0], dtype=DTYPE))
    prelu_case("prelu_channels_2d", randn(4, 3), torch.tensor([0.1, 0.7, -1.5], dtype=DTYPE))
    prelu_case("prelu_single", randn(2, 3, 2, 2), torch.tensor([0.3], dtype=DTYPE))
    prelu_case("prelu_1d", randn(5), torch.tensor([-0.2], dtype=DTYPE))
    seed("prelu_special")
    x = torch.tensor(special, dtype=DTYPE)
    w = torch.tensor([-0.3], dtype=DTYPE)
    cases.append(make_case(  # one element at a time, as above
        "prelu_special",
        lambda x, weight: torch.cat([F.prelu(x[i:i + 1], weight) for i in range(len(x))]),
        {"x": x, "weight": w}, {}, "prelu"))

    # the hardsigmoid reference above is F.hardsigmoid up to its float32 constant
    for v in special + [-3.0, 3.0, 2.9, -2.9]:  # one at a time: the scalar path, as above
        x = torch.tensor([v], dtype=DTYPE, requires_grad=True)
        ours, = torch.autograd.grad(ops["hardsigmoid"][0](x, {}).sum(), x)
        theirs, = torch.autograd.grad(F.hardsigmoid(x).sum(), x)
        assert torch.allclose(ours, theirs, rtol=1e-7, atol=0), (v, ours, theirs)

    def finite(v):
        if isinstance(v, float) and not math.isfinite(v):
            return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
        if isinstance(v, dict):
            return {k: finite(w) for k, w in v.items()}
        if isinstance(v, list):
            return [finite(w) for w in v]
        return v

    cases = [finite(c) for c in cases]
    write("activations", cases)
    return cases


def mini_bn_cases():
    """SqueezeNetMini({ batchNorm: true }) rebuilt with firegrad's module names (so the state-dict keys
    match), torchvision's init, then random BN affine parameters and running statistics; every float
    value rounded to 3 decimals (a smaller file; the nets compute from the same values). Input x
    [4,1,28,28]. Cases: eval and train mode (dropout off, so only BN differs: batch statistics, running
    ones updated), in float64 and float32: output, the VJP of gradOutput for x and MINI_BN_GRADS, and
    the MINI_BN_RUNNING buffers after the forward."""
    nn = torch.nn

    def unit(cin, cout, k, padding=0):
        return nn.Conv2d(cin, cout, k, padding=padding, bias=False), nn.BatchNorm2d(cout)

    class Fire(nn.Module):
        def __init__(self, cin, s, e):
            super().__init__()
            self.squeeze, self.squeezeBn = unit(cin, s, 1)
            self.expand1x1, self.expand1x1Bn = unit(s, e, 1)
            self.expand3x3, self.expand3x3Bn = unit(s, e, 3, padding=1)

        def forward(self, x):
            x = F.relu(self.squeezeBn(self.squeeze(x)))
            return torch.cat([F.relu(self.expand1x1Bn(self.expand1x1(x))), F.relu(self.expand3x3Bn(self.expand3x3(x)))], 1)

    class Mini(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*unit(1, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), Fire(64, 32, 64),
                                          Fire(128, 32, 64), nn.MaxPool2d(2), Fire(128, 32, 128), Fire(256, 32, 128))
            self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(256, 10, 1), nn.AdaptiveAvgPool2d(1))

        def forward(self, x):
            return self.classifier(self.features(x)).flatten(1)

    seed("mini_bn/model")
    model = Mini()
    final = model.classifier[1]
    rounded = lambda t: torch.round(t * 1000) / 1000
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):  # torchvision's SqueezeNet init, as squeezeNetInit
                nn.init.normal_(m.weight, 0, 0.01) if m is final else nn.init.kaiming_uniform_(m.weight)
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * randn(*m.weight.shape))
                m.bias.copy_(0.2 * randn(*m.bias.shape))
                m.running_mean.copy_(0.3 * randn(*m.running_mean.shape))
                m.running_var.copy_(uniform(0.5, 2, *m.running_var.shape))
                m.num_batches_tracked.fill_(5)
        final.bias.copy_(0.1 * randn(10))
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(rounded(t))
    assert sum(p.numel() for p in model.parameters()) == 146378
    state = {k: v.clone() for k, v in model.state_dict().items()}
    seed("mini_bn/input")
    x = rounded(randn(4, 1, 28, 28))
    grad_out = randn(4, 10)
    cases = []
    for mode in ("eval", "train"):
        for dtype in (torch.float64, torch.float32):
            m = copy.deepcopy(model).to(dtype)
            m.train(mode == "train")
            m.classifier[0].eval()  # dropout off: its random mask is not PyTorch's
            xs = x.to(dtype).requires_grad_(True)
            out = m(xs)
            params = dict(m.named_parameters())
            gs = torch.autograd.grad(out, [xs] + [params[k] for k in MINI_BN_GRADS], grad_out.to(dtype))
            buffers = dict(m.named_buffers())
            cases.append({
                "name": f"mini_bn_{mode}_{str(dtype)[6:]}",
                "params": {"mode": mode, "dtype": str(dtype)[6:]},
                "gradOutput": ser(grad_out),
                "output": ser(out),
                "grads": dict(zip(["x", *MINI_BN_GRADS], map(ser, gs))),
                "running": {k: ser(buffers[k]) for k in MINI_BN_RUNNING},
            })
    # inputs once (the first case), not per case: the state dict is most of the file
    cases[0]["inputs"] = {"x": ser(x), **{k: ser(v) for k, v in state.items()}}
    return cases


MINI_BN_GRADS = ["features.0.weight", "features.1.weight", "features.1.bias", "features.4.squeezeBn.weight",
                 "features.5.expand3x3Bn.bias", "features.8.expand1x1Bn.weight", "classifier.1.bias"]
MINI_BN_RUNNING = ["features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
                   "features.8.expand3x3Bn.running_mean", "features.8.expand3x3Bn.running_var"]


# ---------------------------------------------------------------- normalization

def norm_fixtures():
    """Issue 15 normalization, each case in float64 and float32 (torch computes both): F.batch_norm in
    training (batch statistics; running statistics updated with the unbiased variance, recorded
    before and after in "buffers"/"buffersAfter") and eval, with and without weight, bias and
    running statistics; awkward batches (two values per channel, a constant channel, an offset);
    F.layer_norm over 1 and 2 trailing dims; F.group_norm; nn.InstanceNorm2d with and without
    running statistics. "errors" holds calls PyTorch refuses, with its message."""
    cases = []

    def add(name, op, params, build, fn, buffers=lambda: {}):
        seed(name)
        inputs, bufs = build(), buffers()
        grad_out = None
        for dtype in (torch.float64, torch.float32):
            leaves = {k: v.to(dtype).requires_grad_(True) for k, v in inputs.items()}
            before = {k: v.to(dtype) for k, v in bufs.items()}
            after = {k: v.clone() for k, v in before.items()}
            out = fn(*leaves.values(), **after)
            if grad_out is None:
                grad_out = randn(*out.shape)
            g = grad_out.to(dtype)
            gs = torch.autograd.grad(out, list(leaves.values()), g)
            cases.append({
                "name": name, "dtype": str(dtype).replace("torch.", ""), "op": op, "params": params,
                "inputs": {k: ser(v) for k, v in leaves.items()},
                "buffers": {k: ser(v) for k, v in before.items()},
                "buffersAfter": {k: ser(v) for k, v in after.items()},
                "gradOutput": ser(g), "output": ser(out),
                "grads": {k: ser(v) for k, v in zip(leaves, gs)},
            })

    def bn(training, momentum=0.1, eps=1e-5):
        def fn(x, weight=None, bias=None, runningMean=None, runningVar=None):
            return F.batch_norm(x, runningMean, runningVar, weight, bias, training, momentum, eps)
        return fn

    stats = lambda c: lambda: {"runningMean": randn(c), "runningVar": uniform(0.5, 2, c)}
    affine = lambda shape: lambda: {"x": randn(*shape), "weight": randn(shape[1]), "bias": randn(shape[1])}
    train = lambda momentum=0.1, eps=1e-5: {"training": True, "momentum": momentum, "eps": eps}
    add("bn_train_2d", "batchNorm", train(), affine((4, 3)), bn(True), stats(3))
    add("bn_train_3d_momentum_eps", "batchNorm", train(0.3, 1e-3), affine((3, 2, 5)), bn(True, 0.3, 1e-3), stats(2))
    add("bn_train_4d", "batchNorm", train(), affine((2, 3, 4, 5)), bn(True), stats(3))
    add("bn_train_no_affine_no_stats", "batchNorm", train(), lambda: {"x": randn(2, 3, 3, 3)}, bn(True))
    add("bn_train_two_values", "batchNorm", train(), affine((2, 3)), bn(True), stats(3))

    def constant_channel():  # channel 1 holds one value: variance 0, invstd 1/sqrt(eps)
        x = randn(3, 2, 2, 2)
        x[:, 1] = 0.75
        return {"x": x, "weight": randn(2), "bias": randn(2)}
    add("bn_train_constant_channel", "batchNorm", train(), constant_channel, bn(True), stats(2))
    add("bn_train_offset", "batchNorm", train(),
        lambda: {"x": 50 + randn(4, 2, 3, 3), "weight": randn(2), "bias": randn(2)}, bn(True), stats(2))
    evalp = {"training": False, "momentum": 0.1, "eps": 1e-5}
    add("bn_eval_4d", "batchNorm", evalp, affine((2, 3, 4, 4)), bn(False), stats(3))
    add("bn_eval_batch1", "batchNorm", evalp, affine((1, 3)), bn(False), stats(3))
    add("bn_eval_no_affine", "batchNorm", evalp, lambda: {"x": randn(3, 4, 5)}, bn(False), stats(4))

    def ln(shape):
        return lambda x, weight=None, bias=None: F.layer_norm(x, shape, weight, bias, 1e-5)
    add("ln_last_dim", "layerNorm", {"normalizedShape": [5]},
        lambda: {"x": randn(3, 4, 5), "weight": randn(5), "bias": randn(5)}, ln([5]))
    add("ln_two_dims", "layerNorm", {"normalizedShape": [3, 4]},
        lambda: {"x": randn(2, 3, 4), "weight": randn(3, 4), "bias": randn(3, 4)}, ln([3, 4]))
    add("ln_no_affine", "layerNorm", {"normalizedShape": [6]}, lambda: {"x": randn(4, 6)}, ln([6]))

    def gn(groups):
        return lambda x, weight=None, bias=None: F.group_norm(x, groups, weight, bias, 1e-5)
    add("gn_groups3", "groupNorm", {"numGroups": 3},
        lambda: {"x": randn(2, 6, 3, 3), "weight": randn(6), "bias": randn(6)}, gn(3))
    add("gn_one_group_3d", "groupNorm", {"numGroups": 1}, lambda: {"x": randn(2, 4, 5)}, gn(1))
    add("gn_group_per_channel", "groupNorm", {"numGroups": 4},
        lambda: {"x": randn(3, 4, 2, 2), "weight": randn(4), "bias": randn(4)}, gn(4))

    def inorm(affine_, track, training, momentum=0.1):
        def fn(x, weight=None, bias=None, runningMean=None, runningVar=None):
            # nn.InstanceNorm2d's own call, with the leaves as weight and bias so gradients reach them
            m = torch.nn.InstanceNorm2d(x.shape[-3], affine=affine_, track_running_stats=track,
                                        momentum=momentum, dtype=x.dtype).train(training)
            xb = x.unsqueeze(0) if x.dim() == 3 else x
            y = F.instance_norm(xb, runningMean, runningVar, weight, bias, training or not track, momentum, m.eps)
            with torch.no_grad():  # the same as the module, buffers included
                if affine_:
                    m.weight.copy_(weight)
                    m.bias.copy_(bias)
                if track:
                    m.running_mean.copy_(fn.start[0])
                    m.running_var.copy_(fn.start[1])
                assert torch.equal(m(x), y.squeeze(0) if x.dim() == 3 else y)
                if track:
                    assert torch.equal(m.running_mean, runningMean) and torch.equal(m.running_var, runningVar)
            return y.squeeze(0) if x.dim() == 3 else y
        return fn

    def with_start(fn):  # keeps the running statistics before the call, for the module check
        def call(*args, **bufs):
            fn.start = [v.clone() for v in bufs.values()]
            return fn(*args, **bufs)
        return call
    add("in_plain", "InstanceNorm2d", {"affine": False, "trackRunningStats": False, "training": True},
        lambda: {"x": randn(2, 3, 4, 4)}, with_start(inorm(False, False, True)))
    add("in_affine_unbatched", "InstanceNorm2d", {"affine": True, "trackRunningStats": False, "training": True},
        lambda: {"x": randn(3, 3, 5), "weight": randn(3), "bias": randn(3)}, with_start(inorm(True, False, True)))
    add("in_track_train", "InstanceNorm2d", {"affine": True, "trackRunningStats": True, "training": True, "momentum": 0.2},
        lambda: {"x": randn(2, 3, 3, 4), "weight": randn(3), "bias": randn(3)}, with_start(inorm(True, True, True, 0.2)), stats(3))
    add("in_track_eval", "InstanceNorm2d", {"affine": False, "trackRunningStats": True, "training": False},
        lambda: {"x": randn(2, 3, 3, 3)}, with_start(inorm(False, True, False)), stats(3))

    errors = []
    for shape in ([1, 3], [1, 3, 1, 1], [1, 2, 1]):
        try:
            F.batch_norm(torch.zeros(shape), None, None, training=True)
        except ValueError as e:
            errors.append({"op": "batchNorm", "shape": shape, "training": True, "message": str(e)})
        else:
            raise AssertionError(f"F.batch_norm accepted {shape} in training")
    try:
        torch.nn.InstanceNorm2d(3)(torch.zeros(2, 3, 1, 1))
    except ValueError as e:
        errors.append({"op": "InstanceNorm2d", "shape": [2, 3, 1, 1], "training": True, "message": str(e)})
    else:
        raise AssertionError("InstanceNorm2d accepted one spatial element")
    write_json("norm.json", {"cases": cases, "errors": errors}, f"{len(cases)} cases, {len(errors)} errors")
    torch_batchnorm_files()
    check_firegrad_batchnorm()


BATCHNORM_KEYS = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def torch_batchnorm_files():
    """nn/torch-batchnorm2d.safetensors: a float32 nn.BatchNorm2d(3) state dict as PyTorch holds it
    (num_batches_tracked I64), after random weight and bias and three training forwards.
    nn/torch-batchnorm2d_io.safetensors: an input [2,3,4,4] and, from that state, the eval output,
    then the train output and the running statistics and count after it."""
    seed("torch_batchnorm2d")
    bn = torch.nn.BatchNorm2d(3, dtype=torch.float32)
    with torch.no_grad():
        bn.weight.copy_(randn(3))
        bn.bias.copy_(randn(3))
        for _ in range(3):
            bn(randn(4, 3, 4, 4).float() * 2 + 0.5)
    state = {k: v.detach().clone() for k, v in bn.state_dict().items()}
    assert list(state) == BATCHNORM_KEYS and state["num_batches_tracked"].dtype == torch.int64
    x = randn(2, 3, 4, 4).float()
    with torch.no_grad():
        eval_out = bn.eval()(x)
        train_out = bn.train()(x)
    write_safetensors(os.path.join(NN_DIR, "torch-batchnorm2d.safetensors"), state, {"format": "pt"})
    write_safetensors(os.path.join(NN_DIR, "torch-batchnorm2d_io.safetensors"), {
        "input": x, "eval_output": eval_out, "train_output": train_out,
        "running_mean_after": bn.running_mean, "running_var_after": bn.running_var,
        "num_batches_tracked_after": bn.num_batches_tracked}, {"format": "pt"})


def check_firegrad_batchnorm():
    """nn/firegrad-batchnorm2d.safetensors is a BatchNorm2d state dict saved by firegrad
    (scripts/write-roundtrip-fixture.ts); its _io file holds the starting weight0/bias0, the three
    training inputs and firegrad's eval output on inputs[0]. PyTorch loads the state dict into
    nn.BatchNorm2d (strict) and must reach it from weight0/bias0 with the same forwards, and give
    the same eval output."""
    path = os.path.join(FIXTURE_DIR, NN_DIR, "firegrad-batchnorm2d.safetensors")
    if not os.path.exists(path):
        print(f"{os.path.relpath(path, ROOT)} not found; skipping (scripts/write-roundtrip-fixture.ts writes it)")
        return
    state, _ = st_load(path)
    io, _ = st_load(path.replace(".safetensors", "_io.safetensors"))
    assert list(state) == BATCHNORM_KEYS, list(state)
    loaded = torch.nn.BatchNorm2d(3, dtype=torch.float32)
    loaded.load_state_dict(state, strict=True)
    assert loaded.num_batches_tracked.dtype == torch.int64 and loaded.num_batches_tracked.item() == 3
    replay = torch.nn.BatchNorm2d(3, dtype=torch.float32)
    with torch.no_grad():
        replay.weight.copy_(io["weight0"])
        replay.bias.copy_(io["bias0"])
        for x in io["inputs"]:
            replay(x)
    for k in BATCHNORM_KEYS:
        a, b = loaded.state_dict()[k], replay.state_dict()[k]
        assert a.dtype == b.dtype and torch.allclose(a, b, rtol=1e-5, atol=1e-6), (k, a, b)
    with torch.no_grad():
        out = loaded.eval()(io["inputs"][0])
    assert torch.allclose(out, io["eval_output"], rtol=1e-5, atol=1e-5), (out - io["eval_output"]).abs().max()
    print(f"{os.path.relpath(path, ROOT)}: OK (PyTorch loads it strictly and reproduces it)")


# ---------------------------------------------------------------- pad, interpolate
def resize_cases():
    """Issue 15 pad and interpolate, each case in float64 and float32 (torch computes both).

    params: {"op": "pad", "pad", "mode", "value"} or {"op": "interpolate", "size" | "scaleFactor",
    "mode", "alignCorners"?}, camelCased as firegrad takes them. Awkward on purpose: reflect at its
    limit (pad = size - 1), circular with pad = size, negative (cropping) pads in every mode, 1-D, 2-D
    and 3-D padding, nearest with non-integer scale factors, size vs scaleFactor on the same input, bilinear up and down with and without
    alignCorners, and a scale factor whose output keeps the input's size (ATen copies).
    """
    cases = []

    def add(name, shape, params, fn=None):
        seed(name)
        x = randn(*shape)
        if fn is None:
            p = {k: v for k, v in params.items() if k != "op"}
            if params["op"] == "pad":
                kw = {"value": p["value"]} if p["mode"] == "constant" else {}
                fn = lambda x: F.pad(x, p["pad"], mode=p["mode"], **kw)
            else:
                kw = {"size": p.get("size"), "scale_factor": p.get("scaleFactor"), "mode": p["mode"]}
                if "alignCorners" in p:
                    kw["align_corners"] = p["alignCorners"]
                fn = lambda x: F.interpolate(x, **kw)
        grad_out = None
        for dtype in (torch.float64, torch.float32):
            leaf = x.to(dtype).requires_grad_(True)
            out = fn(leaf)
            if grad_out is None:
                grad_out = randn(*out.shape)
            g = grad_out.to(dtype)
            gx, = torch.autograd.grad(out, [leaf], g, allow_unused=True)
            gx = torch.zeros_like(leaf) if gx is None else gx
            if params.get("mode") == "nearest":
                # torch 1.13's nearest backward indexes with ATen's nearest_idx (out = 2 * in taken as
                # dst >> 1, float32 arithmetic), its forward over several planes without: where they
                # differ its gradient is not the forward's. So the gradient is checked to be the adjoint
                # of torch's forward: its source indices, read off an arange, then a gather.
                plane = math.prod(x.shape[2:])
                src = fn(torch.arange(plane, dtype=dtype).reshape(1, 1, *x.shape[2:])).reshape(-1).long()
                gather = leaf.reshape(*x.shape[:2], plane)[:, :, src].reshape(out.shape)
                assert torch.equal(gather, out), name
                adjoint, = torch.autograd.grad(gather, [leaf], g)
                assert torch.equal(adjoint, gx), name
            cases.append({
                "name": name, "dtype": str(dtype).replace("torch.", ""), "params": params,
                "inputs": {"x": ser(leaf)}, "gradOutput": ser(g), "output": ser(out), "grads": {"x": ser(gx)},
            })

    def pad(name, shape, pads, mode="constant", value=0.0):
        add(name, shape, {"op": "pad", "pad": pads, "mode": mode, "value": value})

    pad("pad_constant_2d", (2, 3, 4, 5), [1, 2, 0, 1], value=0.5)
    pad("pad_constant_negative", (2, 3, 4, 5), [-1, 2, 1, -2])
    pad("pad_constant_three_dims", (2, 3, 4), [1, 0, -1, 1, 2, 1], value=-2.0)
    pad("pad_constant_crop_to_empty", (2, 4), [-1, -3])
    pad("pad_reflect_1d", (2, 3, 6), [2, 3], "reflect")
    pad("pad_reflect_at_limit", (1, 2, 4, 5), [4, 3, 3, 2], "reflect")
    pad("pad_reflect_unbatched_2d", (3, 4, 5), [1, 1, 2, 2], "reflect")
    pad("pad_reflect_3d", (1, 2, 3, 4, 5), [1, 2, 2, 1, 1, 2], "reflect")
    pad("pad_reflect_negative", (1, 2, 5, 6), [-1, 2, 3, -2], "reflect")
    pad("pad_replicate_wider_than_input", (2, 2, 3, 4), [3, 1, 0, 4], "replicate")
    pad("pad_replicate_unbatched_1d", (2, 5), [4, 2], "replicate")
    pad("pad_replicate_3d", (1, 1, 2, 3, 3), [2, 0, 1, 1, 0, 3], "replicate")
    pad("pad_replicate_negative", (1, 1, 4, 5), [-2, 3, 1, -1], "replicate")
    pad("pad_circular_1d_pad_eq_size", (2, 3, 5), [5, 2], "circular")
    pad("pad_circular_2d", (1, 2, 4, 3), [3, 1, 2, 4], "circular")
    pad("pad_circular_3d", (1, 1, 3, 2, 4), [1, 2, 2, 0, 1, 3], "circular")
    pad("pad_circular_negative", (1, 1, 4, 6), [-2, 3, 1, -1], "circular")
    # torch 1.13 takes circular only with a batch dim; newer PyTorch defines the unbatched form as this
    add("pad_circular_unbatched_2d", (2, 3, 4), {"op": "pad", "pad": [2, 1, 1, 3], "mode": "circular", "value": 0.0},
        lambda x: F.pad(x.unsqueeze(0), [2, 1, 1, 3], mode="circular").squeeze(0))

    def interp(name, shape, mode, size=None, scale=None, corners=None):
        params = {"op": "interpolate", "mode": mode}
        if size is not None:
            params["size"] = size
        if scale is not None:
            params["scaleFactor"] = scale
        if corners is not None:
            params["alignCorners"] = corners
        add(name, shape, params)

    interp("nearest_size_2x", (2, 3, 3, 4), "nearest", size=[6, 8])
    interp("nearest_scale_non_integer", (1, 2, 5, 7), "nearest", scale=1.7)
    # no scale factor s != 2 with floor(in * s) = 2 * in: there torch 1.13 indexes by dst >> 1 for one
    # plane and in the backward, by floor(dst / s) for several planes (firegrad: always the latter)
    interp("nearest_scale_pair", (1, 2, 4, 6), "nearest", scale=[2.6, 0.6])
    interp("nearest_size_down", (2, 2, 7, 9), "nearest", size=[3, 4])
    interp("nearest_size_7", (1, 1, 5, 5), "nearest", size=7)
    interp("nearest_scale_1_5", (1, 1, 5, 5), "nearest", scale=1.5)
    interp("nearest_1d_size", (2, 3, 5), "nearest", size=8)
    interp("nearest_1d_scale_down", (2, 3, 7), "nearest", scale=0.5)
    for corners in (False, True):
        tag = "_align" if corners else ""
        interp("bilinear_up" + tag, (1, 2, 3, 4), "bilinear", size=[7, 9], corners=corners)
        interp("bilinear_down" + tag, (1, 2, 8, 9), "bilinear", size=[3, 4], corners=corners)
        interp("bilinear_scale_non_integer" + tag, (1, 1, 5, 6), "bilinear", scale=1.7, corners=corners)
        interp("bilinear_to_1x1" + tag, (1, 2, 3, 4), "bilinear", size=1, corners=corners)
    interp("bilinear_size_7", (1, 1, 5, 5), "bilinear", size=7)
    interp("bilinear_scale_1_5", (1, 1, 5, 5), "bilinear", scale=1.5)
    interp("bilinear_scale_keeps_size", (1, 1, 3, 4), "bilinear", scale=1.2)
    interp("bilinear_default_corners", (2, 1, 4, 3), "bilinear", scale=[0.6, 2.5])
    return cases



# ---------------------------------------------------------------- conv 'same'/'valid', transposed conv
def conv_padding_case(name, n, c, h, w, oc, k, padding, dilation, groups, bias):
    """F.conv2d with a string padding ('same' pads d*(k-1), the odd one bottom/right)."""
    seed(name)
    inputs = {"x": randn(n, c, h, w), "weight": randn(oc, c // groups, *k)}
    if bias:
        inputs["bias"] = randn(oc)
    params = {"padding": padding, "dilation": list(dilation), "groups": groups}

    def fn(x, weight, bias=None):
        return F.conv2d(x, weight, bias, 1, padding, dilation, groups)

    return make_case(name, fn, inputs, params, op="conv2d")


def conv_transpose_case(name, n, c, h, w, oc, k, stride, padding, output_padding, dilation, groups, bias):
    """F.conv_transpose2d; weight [C_in, C_out/groups, kH, kW]."""
    seed(name)
    inputs = {"x": randn(n, c, h, w), "weight": randn(c, oc // groups, *k)}
    if bias:
        inputs["bias"] = randn(oc)
    params = {"stride": list(stride), "padding": list(padding), "outputPadding": list(output_padding),
              "dilation": list(dilation), "groups": groups}

    def fn(x, weight, bias=None):
        return F.conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation)

    return make_case(name, fn, inputs, params, op="convTranspose2d")


def conv_geometry_cases():
    cases = [
        # name: N, C, H, W, OC, K, padding, dilation, groups, bias
        conv_padding_case("same_k2", 2, 2, 5, 6, 3, (2, 2), "same", (1, 1), 1, True),
        conv_padding_case("same_k4", 1, 3, 7, 6, 2, (4, 4), "same", (1, 1), 1, False),
        conv_padding_case("same_k2x4_dilation2", 1, 2, 6, 7, 2, (2, 4), "same", (2, 2), 1, True),
        conv_padding_case("same_k3x2_dilation_2x3_groups", 2, 4, 5, 8, 4, (3, 2), "same", (2, 3), 2, True),
        conv_padding_case("same_k1", 1, 3, 4, 3, 2, (1, 1), "same", (1, 1), 1, True),
        conv_padding_case("valid_k3", 2, 2, 6, 5, 3, (3, 3), "valid", (1, 1), 1, True),
        conv_padding_case("valid_k2x3_dilation2", 1, 3, 7, 8, 2, (2, 3), "valid", (2, 1), 1, False),
        # name: N, C_in, H, W, C_out, K, stride, padding, outputPadding, dilation, groups, bias
        conv_transpose_case("convT_basic", 2, 3, 4, 5, 2, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1, True),
        conv_transpose_case("convT_stride2_outpad1", 1, 2, 4, 3, 3, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1, True),
        conv_transpose_case("convT_stride3_outpad_2x1", 2, 2, 3, 4, 2, (2, 3), (3, 3), (0, 1), (2, 1), (1, 1), 1, False),
        conv_transpose_case("convT_stride_2x3_dilation2", 1, 3, 3, 3, 2, (3, 2), (2, 3), (1, 2), (0, 0), (2, 2), 1, True),
        conv_transpose_case("convT_outpad_below_dilation", 1, 2, 3, 4, 2, (2, 2), (1, 2), (0, 0), (2, 1), (3, 2), 1, True),
        conv_transpose_case("convT_groups", 2, 4, 3, 3, 6, (3, 3), (2, 2), (1, 1), (1, 0), (1, 1), 2, True),
        conv_transpose_case("convT_depthwise_nobias", 1, 3, 4, 4, 3, (2, 2), (2, 2), (0, 0), (0, 0), (1, 1), 3, False),
        conv_transpose_case("convT_1x1_stride2_outpad", 1, 2, 3, 3, 2, (1, 1), (2, 2), (0, 0), (1, 1), (1, 1), 1, True),
        # 1x1, stride 1: outputPadding (below the dilation) grows the output past any window
        conv_transpose_case("convT_1x1_dilation2_outpad", 2, 3, 3, 4, 2, (1, 1), (1, 1), (0, 0), (1, 1), (2, 2), 1, True),
        conv_transpose_case("convT_big_padding", 1, 2, 5, 5, 2, (3, 3), (1, 1), (2, 2), (0, 0), (1, 1), 1, True),
    ]
    by_name = {c["name"]: c for c in cases}
    assert by_name["same_k2"]["output"]["shape"] == [2, 3, 5, 6]
    assert by_name["convT_stride2_outpad1"]["output"]["shape"] == [1, 3, 8, 6]
    assert by_name["convT_outpad_below_dilation"]["output"]["shape"] == [1, 2, 8, 10]
    return cases


# ---------------------------------------------------------------- losses, indexing


def both_dtypes(cases, name, inputs, fn, grads):
    """Append the case `name` in float64 and float32 (torch computes both): fn(*inputs.values()),
    and the gradients of sum(output * gradOutput) for the inputs named in `grads`. Integer inputs
    (targets, indices) are listed under "int" and stay integers."""
    seed(name)
    grad_out = None
    for dtype in (torch.float64, torch.float32):
        leaves = {k: (v.to(dtype).requires_grad_(k in grads) if v.is_floating_point() else v)
                  for k, v in inputs.items()}
        out = fn(*leaves.values())
        if grad_out is None:
            grad_out = randn(*out.shape)
        g = grad_out.to(dtype)
        gs = torch.autograd.grad(out, [leaves[k] for k in grads], g) if grads else []
        case = {"name": name, "dtype": str(dtype).replace("torch.", ""),
                "int": [k for k, v in inputs.items() if not v.is_floating_point()],
                "inputs": {k: ser_nf(v) for k, v in leaves.items()},
                "gradOutput": ser_nf(g), "output": ser_nf(out),
                "grads": {k: ser_nf(v) for k, v in zip(grads, gs)}}
        cases.append(case)


def loss_cases():
    """Issue 15 losses, each in float64 and float32. Awkward points on purpose: class weights,
    ignoreIndex (custom, out of the class range, every target ignored with 'sum'/'none'), label
    smoothing with weights, spatial [N, C, H, W] and [N, C, L], BCE at exactly 0 and 1, BCE with
    logits at +-50 / +-100 with posWeight, smooth L1 / Huber at and around beta / delta and at
    d = 0, KL with zeros in the target, every reduction. Gradients are with respect to the input
    (and the target where PyTorch's is finite)."""
    cases = []
    add = lambda name, inputs, fn, grads=("input",): both_dtypes(cases, name, inputs, fn, list(grads))
    t = lambda *v: torch.tensor(v, dtype=DTYPE)
    ints = lambda *v: torch.tensor(v, dtype=torch.int64)

    seed("losses/ce")
    x54, w4 = randn(5, 4), uniform(0.2, 2.0, 4)
    y5 = ints(0, 3, 1, 3, 2)
    add("ce_mean", {"input": x54, "target": y5}, lambda x, y: F.cross_entropy(x, y))
    add("ce_weight_mean", {"input": x54, "target": y5, "weight": w4}, lambda x, y, w: F.cross_entropy(x, y, weight=w))
    add("ce_weight_sum", {"input": x54, "target": y5, "weight": w4},
        lambda x, y, w: F.cross_entropy(x, y, weight=w, reduction="sum"))
    y_ign = ints(0, -100, 1, 3, -100)
    add("ce_ignore_weight_mean", {"input": x54, "target": y_ign, "weight": w4},
        lambda x, y, w: F.cross_entropy(x, y, weight=w))
    add("ce_ignore_none", {"input": x54, "target": y_ign}, lambda x, y: F.cross_entropy(x, y, reduction="none"))
    add("ce_ignore_custom_mean", {"input": x54, "target": y5, "weight": w4},
        lambda x, y, w: F.cross_entropy(x, y, weight=w, ignore_index=3))
    # ignoreIndex outside [0, C): exempt from the range check
    add("ce_ignore_out_of_range", {"input": x54, "target": ints(7, 3, 7, 0, 2)},
        lambda x, y: F.cross_entropy(x, y, ignore_index=7))
    all_ign = ints(-100, -100, -100, -100, -100)
    add("ce_all_ignored_sum", {"input": x54, "target": all_ign}, lambda x, y: F.cross_entropy(x, y, reduction="sum"))
    add("ce_all_ignored_none", {"input": x54, "target": all_ign, "weight": w4},
        lambda x, y, w: F.cross_entropy(x, y, weight=w, reduction="none"))
    add("ce_all_ignored_smoothing_sum", {"input": x54, "target": all_ign, "weight": w4},
        lambda x, y, w: F.cross_entropy(x, y, weight=w, label_smoothing=0.3, reduction="sum"))
    for red in ("mean", "sum", "none"):
        add(f"ce_smoothing_weight_ignore_{red}", {"input": x54, "target": y_ign, "weight": w4},
            lambda x, y, w, red=red: F.cross_entropy(x, y, weight=w, ignore_index=-100, label_smoothing=0.2, reduction=red))
    add("ce_smoothing_mean", {"input": x54, "target": y5}, lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1))
    add("ce_smoothing_one", {"input": x54, "target": y5}, lambda x, y: F.cross_entropy(x, y, label_smoothing=1.0))
    seed("losses/spatial")
    x2345, w3 = randn(2, 3, 4, 5), uniform(0.2, 2.0, 3)
    y245 = torch.randint(0, 3, (2, 4, 5))
    y245[0, 1, 2] = y245[1, 3, 0] = y245[1, 0, 4] = -100
    for red in ("mean", "sum", "none"):
        add(f"ce_spatial_weight_ignore_{red}", {"input": x2345, "target": y245, "weight": w3},
            lambda x, y, w, red=red: F.cross_entropy(x, y, weight=w, reduction=red))
    add("ce_spatial_smoothing_weight_mean", {"input": x2345, "target": y245, "weight": w3},
        lambda x, y, w: F.cross_entropy(x, y, weight=w, label_smoothing=0.15))
    x234, y24 = randn(2, 3, 4), ints(0, 2, -100, 1, 1, 1, 0, 2).reshape(2, 4)
    add("ce_spatial_1d_smoothing_none", {"input": x234, "target": y24},
        lambda x, y: F.cross_entropy(x, y, label_smoothing=0.25, reduction="none"))
    add("nll_weight_ignore_mean", {"input": x54, "target": y_ign, "weight": w4}, lambda x, y, w: F.nll_loss(x, y, weight=w))
    add("nll_ignore_custom_sum", {"input": x54, "target": y5}, lambda x, y: F.nll_loss(x, y, ignore_index=1, reduction="sum"))
    add("nll_spatial_weight_mean", {"input": x2345, "target": y245, "weight": w3}, lambda x, y, w: F.nll_loss(x, y, weight=w))
    add("nll_spatial_none", {"input": x2345, "target": y245}, lambda x, y: F.nll_loss(x, y, reduction="none"))

    seed("losses/bce")
    p34, q34 = uniform(0.05, 0.95, 3, 4), uniform(0, 1, 3, 4)
    for red in ("mean", "sum", "none"):
        add(f"bce_{red}", {"input": p34, "target": q34}, lambda x, y, red=red: F.binary_cross_entropy(x, y, reduction=red),
            grads=("input", "target"))
    # exactly 0 and 1 (log clamped at -100; the backward's 1e-12 floor), with targets 0, 1 and between
    edges = t(0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1e-30, 1e-8, 0.5, 0.999, 0.25, 0.75)
    add("bce_edges_none", {"input": edges, "target": t(0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.25, 0.1)},
        lambda x, y: F.binary_cross_entropy(x, y, reduction="none"))
    add("bce_weight_broadcast_sum", {"input": p34, "target": q34, "weight": uniform(0.1, 2, 4)},
        lambda x, y, w: F.binary_cross_entropy(x, y, weight=w, reduction="sum"), grads=("input", "target"))
    z34 = randn(3, 4) * 3
    for red in ("mean", "sum", "none"):
        add(f"bce_logits_{red}", {"input": z34, "target": q34},
            lambda x, y, red=red: F.binary_cross_entropy_with_logits(x, y, reduction=red), grads=("input", "target"))
    big = t(50.0, -50.0, 100.0, -100.0, 0.0, 50.0, -50.0, 30.0, -30.0, 1e-3, 700.0, -700.0)
    big_y = t(1.0, 1.0, 0.0, 0.0, 0.5, 0.0, 0.0, 1.0, 0.3, 1.0, 0.2, 0.9)
    add("bce_logits_large_none", {"input": big, "target": big_y},
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"), grads=("input", "target"))
    add("bce_logits_large_posweight_none", {"input": big, "target": big_y, "pos_weight": uniform(0.5, 3, 12)},
        lambda x, y, p: F.binary_cross_entropy_with_logits(x, y, pos_weight=p, reduction="none"), grads=("input", "target"))
    add("bce_logits_posweight_weight_mean",
        {"input": torch.cat([z34[:2], t(50.0, -50.0, 0.0, 7.0).reshape(1, 4)]), "target": q34,
         "weight": uniform(0.1, 2, 3, 1), "pos_weight": uniform(0.5, 3, 4)},
        lambda x, y, w, p: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=p), grads=("input", "target"))

    seed("losses/regression")
    a34, b34 = randn(3, 4), randn(3, 4)
    b34[0, 0] = a34[0, 0]  # d = 0: the l1 / smooth-L1 kink
    for red in ("mean", "sum", "none"):
        add(f"l1_{red}", {"input": a34, "target": b34}, lambda x, y, red=red: F.l1_loss(x, y, reduction=red),
            grads=("input", "target"))
    # d = x - y at and either side of the threshold (exact in float32 too), at 0, and far out
    def around(th):
        d = [0.0, th, -th, th + 2 ** -10, th - 2 ** -10, -th - 2 ** -10, -th + 2 ** -10, 3 * th + 1, -5.0, 0.125]
        return {"input": t(*d) + 1.0, "target": t(*[1.0] * len(d))}
    for beta in (1.0, 0.5, 0.0):
        add(f"smooth_l1_beta{beta}_none", around(beta or 0.25),
            lambda x, y, beta=beta: F.smooth_l1_loss(x, y, beta=beta, reduction="none"), grads=("input", "target"))
    add("smooth_l1_mean", {"input": a34, "target": b34}, lambda x, y: F.smooth_l1_loss(x, y), grads=("input", "target"))
    for delta in (1.0, 0.75):
        add(f"huber_delta{delta}_none", around(delta),
            lambda x, y, delta=delta: F.huber_loss(x, y, delta=delta, reduction="none"), grads=("input", "target"))
    add("huber_sum", {"input": 2 * a34, "target": b34}, lambda x, y: F.huber_loss(x, y, delta=0.5, reduction="sum"),
        grads=("input", "target"))

    seed("losses/kl")
    logp = torch.log_softmax(randn(3, 5), 1)
    probs = torch.softmax(randn(3, 5), 1)
    probs_zeros = probs.clone()
    probs_zeros[0, 1] = probs_zeros[2, 0] = probs_zeros[2, 4] = 0.0
    for red in ("mean", "batchmean", "sum", "none"):
        add(f"kl_{red}", {"input": logp, "target": probs}, lambda x, y, red=red: F.kl_div(x, y, reduction=red),
            grads=("input", "target"))
        # a zero target: PyTorch's target gradient there is NaN (0/0), so only the input's
        add(f"kl_zeros_{red}", {"input": logp, "target": probs_zeros}, lambda x, y, red=red: F.kl_div(x, y, reduction=red))
        add(f"kl_log_target_{red}", {"input": logp, "target": torch.log(probs)},
            lambda x, y, red=red: F.kl_div(x, y, reduction=red, log_target=True), grads=("input", "target"))
    add("kl_broadcast_batchmean", {"input": logp, "target": probs[:1]},
        lambda x, y: F.kl_div(x, y, reduction="batchmean"), grads=("input", "target"))
    add("kl_broadcast_input_none", {"input": logp[1:2], "target": probs},
        lambda x, y: F.kl_div(x, y, reduction="none"), grads=("input", "target"))
    return cases


def indexing_cases():
    """Issue 15 indexing in float64 and float32: negative dims, starts and indices where PyTorch
    accepts them (narrow, select; gather's dim, not its index values), strided slices (clipped
    bounds, an empty result), and a chain."""
    cases = []
    add = lambda name, inputs, fn: both_dtypes(cases, name, inputs, fn, ["input"])
    seed("indexing")
    x = randn(3, 5, 4)
    add("narrow_neg_dim_start", {"input": x}, lambda x: x.narrow(-1, -3, 2))
    add("narrow_neg_start_full", {"input": x}, lambda x: x.narrow(1, -5, 5))
    add("narrow_empty_at_end", {"input": x}, lambda x: x.narrow(0, 3, 0))
    add("select_neg_index", {"input": x}, lambda x: x.select(1, -1))
    add("select_neg_dim", {"input": x}, lambda x: x.select(-1, -4))
    add("select_first", {"input": x}, lambda x: x.select(0, 0))
    add("select_1d", {"input": x[0, 0]}, lambda x: x.select(0, -2))
    add("slice_step2", {"input": x}, lambda x: x[:, 1::2])
    add("slice_neg_start_step3", {"input": x}, lambda x: x[:, -4:5:3])
    add("slice_clipped_step4", {"input": x}, lambda x: x[-10:10:4])
    add("slice_neg_end_step2", {"input": x}, lambda x: x[:, :, :-1:2])
    add("slice_empty_step2", {"input": x}, lambda x: x[:, 4:1:2])
    add("slice_step_past_end", {"input": x}, lambda x: x[:, 2::7])
    add("gather_neg_dim", {"input": x, "index": torch.randint(0, 4, (2, 3, 6))}, lambda x, i: x.gather(-1, i))
    add("chain", {"input": x}, lambda x: x.select(0, -1)[::2].narrow(-1, -2, 2) * x[1:, -3::2, 1:].sum())
    return cases


def st_encode(tensors, metadata=None):
    """{name: tensor} (+ {str: str} metadata) -> safetensors file bytes."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name, t in tensors.items():
        dtype = ST_NAMES[t.dtype]
        flat = t.detach().contiguous().reshape(-1).tolist()
        raw = struct.pack(f"<{len(flat)}{ST_DTYPES[dtype][1]}", *flat)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def st_parse(buf):
    """Validate safetensors bytes -> (entries {name: header entry}, metadata, data).

    Strict: the header must be padded to a multiple of 8 and the tensors must
    cover the data section exactly, with no gaps or overlaps.
    """
    if len(buf) < 8:
        raise ValueError(f"{len(buf)} bytes: too short for a safetensors file")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if 8 + n > len(buf):
        raise ValueError(f"header length {n} runs past the end ({len(buf)} bytes)")
    if n % 8:
        raise ValueError(f"header length {n} is not a multiple of 8")
    entries = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    metadata = entries.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError(f"metadata values must be strings: {metadata!r}")
    data = buf[8 + n:]
    for name, e in entries.items():
        if set(e) != {"dtype", "shape", "data_offsets"} or e["dtype"] not in ST_DTYPES:
            raise ValueError(f"{name}: bad header entry {e!r}")
        b, end = e["data_offsets"]
        if any(not isinstance(d, int) or d < 0 for d in e["shape"]):
            raise ValueError(f"{name}: bad shape {e['shape']!r}")
        if end - b != math.prod(e["shape"]) * ST_DTYPES[e["dtype"]][2]:
            raise ValueError(f"{name}: data_offsets {e['data_offsets']} don't fit "
                             f"{e['dtype']} {e['shape']}")
    end = 0
    for name, e in sorted(entries.items(), key=lambda kv: kv[1]["data_offsets"]):
        if e["data_offsets"][0] != end:
            raise ValueError(f"{name}: starts at {e['data_offsets'][0]}, expected {end}")
        end = e["data_offsets"][1]
    if end != len(data):
        raise ValueError(f"tensors cover {end} data bytes, file has {len(data)}")
    return entries, metadata, data


def st_values(data, entry):
    """One tensor's values as a flat list of Python numbers, decoded by struct."""
    _, fmt, size = ST_DTYPES[entry["dtype"]]
    b, end = entry["data_offsets"]
    return list(struct.unpack_from(f"<{(end - b) // size}{fmt}", data, b))


def st_load(path):
    """Read a safetensors file -> ({name: tensor}, metadata), via torch.frombuffer."""
    assert sys.byteorder == "little", "torch.frombuffer reads native byte order"
    with open(path, "rb") as f:
        buf = f.read()
    entries, metadata, data = st_parse(buf)
    tensors = {}
    for name, e in entries.items():
        dtype = ST_DTYPES[e["dtype"]][0]
        b, end = e["data_offsets"]
        raw = bytearray(data[b:end])  # a writable, aligned copy
        flat = (torch.frombuffer(raw, dtype=dtype).clone() if raw
                else torch.empty(0, dtype=dtype))
        tensors[name] = flat.reshape(e["shape"])
    return tensors, metadata


def st_check(path, expected, metadata):
    """Re-read a written file both ways (frombuffer and struct); must match exactly."""
    tensors, meta = st_load(path)
    assert meta == {k: str(v) for k, v in metadata.items()}, (path, meta)
    assert list(tensors) == list(expected), (path, list(tensors))
    with open(path, "rb") as f:
        entries, _, data = st_parse(f.read())
    for name, want in expected.items():
        got = tensors[name]
        assert got.dtype == want.dtype and got.shape == want.shape, (path, name)
        assert torch.equal(got, want.detach()), (path, name)
        assert st_values(data, entries[name]) == want.reshape(-1).tolist(), (path, name)


def write_bytes(relpath, data, what):
    path = os.path.join(FIXTURE_DIR, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {os.path.relpath(path, ROOT)}: {what}, {len(data)} bytes")
    return path


def write_json(relpath, obj, what):
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n"
    return write_bytes(relpath, text.encode("utf-8"), what)


def write_safetensors(relpath, tensors, metadata):
    path = write_bytes(relpath, st_encode(tensors, metadata),
                       f"{len(tensors)} tensors")
    st_check(path, tensors, metadata)
    return path


# ---------------------------------------------------------------- nn

NN_DIR = "nn"
SQUEEZENET_VERSIONS = {  # version -> input shape for the forward/backward file
    "1_0": (2, 3, 224, 224),  # 224 -> 109 -> 54 -> 27 -> 13: every pool is ceil-mode
    "1_1": (2, 3, 96, 96),    # 96 -> 47 -> 23 -> 11 -> 5
}
SQUEEZENET_CLASSES = 10
SQUEEZENET_PARAM_COUNTS = {("1_0", 1000): 1248424, ("1_1", 1000): 1235496,
                           ("1_0", 10): 740554, ("1_1", 10): 727626}
SQUEEZENET_GRADS = [  # parameters whose gradients are recorded
    "features.0.weight", "features.0.bias", "features.3.squeeze.weight",
    "features.3.expand3x3.weight", "features.12.expand1x1.bias",
    "classifier.1.weight", "classifier.1.bias",
]


@contextlib.contextmanager
def default_dtype(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def squeezenet(version, num_classes):
    """torchvision's SqueezeNet 1.0/1.1 with its own init, in float32."""
    import torchvision
    build = getattr(torchvision.models, "squeezenet" + version)
    with default_dtype(torch.float32):
        try:
            return build(weights=None, num_classes=num_classes)
        except TypeError:  # torchvision < 0.13 has no `weights` argument
            return build(pretrained=False, num_classes=num_classes)


def record_inputs(model):
    """Pre-hooks saving a copy of every ReLU / MaxPool2d input (ReLUs are in-place).

    Returns (list of (kind, tensor) in call order, hook handles).
    """
    seen = []

    def hook(kind):
        return lambda module, inputs: seen.append((kind, inputs[0].detach().clone()))

    handles = [m.register_forward_pre_hook(hook(
        "relu" if isinstance(m, torch.nn.ReLU) else "pool"))
        for m in model.modules()
        if isinstance(m, (torch.nn.ReLU, torch.nn.MaxPool2d))]
    return seen, handles


def pool_windows(x, k=3, s=2):
    """[N, C, H, W] -> [N, C, oh, ow, k*k] ceil-mode pool windows (-inf past the edge)."""
    h, w = x.shape[-2:]
    oh, ow = -(-(h - k) // s) + 1, -(-(w - k) // s) + 1
    x = F.pad(x, (0, (ow - 1) * s + k - w, 0, (oh - 1) * s + k - h), value=-math.inf)
    return x.unfold(2, k, s).unfold(3, k, s).reshape(*x.shape[:2], oh, ow, k * k)


def kink_report(seen32, seen64):
    """How close the float64 forward comes to a ReLU / max-pool kink, and how
    often float32 rounding lands on the other side of one.

    reluMargin: smallest |ReLU input|; poolGap: smallest (max - runner-up) / max
    over pool windows with a positive max (windows of zeros don't matter: their
    gradient is masked by the ReLU before them anyway).
    """
    margin, gap, relu_flips, pool_flips = math.inf, math.inf, 0, 0
    for (kind, a32), (_, a64) in zip(seen32, seen64):
        if kind == "relu":
            margin = min(margin, a64.abs().min().item())
            relu_flips += ((a32 > 0) != (a64 > 0)).sum().item()
        else:
            w64, w32 = pool_windows(a64), pool_windows(a32)
            assert torch.equal(w64.amax(-1), F.max_pool2d(a64, 3, 2, ceil_mode=True))
            top = w64.topk(2, dim=-1).values
            live = top[..., 0] > 0
            gap = min(gap, ((top[..., 0] - top[..., 1]) / top[..., 0])[live].min().item())
            pool_flips += (w32.argmax(-1) != w64.argmax(-1))[live].sum().item()
    return {"reluMargin": margin, "poolGap": gap,
            "reluFlips32": relu_flips, "poolFlips32": pool_flips}


def squeezenet_fixture(version, shape):
    name = f"squeezenet{version}_{SQUEEZENET_CLASSES}"
    seed(name + "/model")
    model = squeezenet(version, SQUEEZENET_CLASSES)
    with torch.no_grad():  # torchvision zeroes every bias; make them matter
        for pname, p in model.named_parameters():
            if pname.endswith(".bias"):
                p.add_(0.01 * torch.randn(p.shape, dtype=p.dtype))
    model.eval()  # dropout off
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    assert all(v.dtype == torch.float32 for v in state.values())
    assert all(k in state for k in SQUEEZENET_GRADS), name

    seed(name + "/input")
    x = torch.randn(shape, dtype=torch.float32)
    labels = torch.randint(0, SQUEEZENET_CLASSES, (shape[0],))

    runs = {}
    for bits, dtype in ((32, torch.float32), (64, torch.float64)):
        m = copy.deepcopy(model).to(dtype)  # float64: the same float32 values
        seen, handles = record_inputs(m)
        logits = m(x.to(dtype))
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        for h in handles:
            h.remove()
        params = dict(m.named_parameters())
        runs[bits] = (logits.detach(), loss.detach(),
                      {k: params[k].grad.detach().clone() for k in SQUEEZENET_GRADS},
                      seen)
    kinks = kink_report(runs[32][3], runs[64][3])

    io = {"input": x, "labels": labels.to(torch.int32)}
    for bits in (32, 64):
        io[f"logits{bits}"] = runs[bits][0]
    for bits in (32, 64):
        io[f"loss{bits}"] = runs[bits][1]
    for bits in (32, 64):
        for k in SQUEEZENET_GRADS:
            io[f"grad{bits}.{k}"] = runs[bits][2][k]

    model_file = os.path.join(NN_DIR, name + ".safetensors")
    write_safetensors(model_file, state, {
        "format": "pt", "model": f"torchvision squeezenet{version}",
        "numClasses": SQUEEZENET_CLASSES})
    write_safetensors(os.path.join(NN_DIR, name + "_io.safetensors"), io, {
        "format": "pt", "model": f"torchvision squeezenet{version}",
        "numClasses": SQUEEZENET_CLASSES,
        "weights": os.path.basename(model_file),
        "mode": "eval (dropout off)",
        "loss": "F.cross_entropy(logits, labels), mean over the batch",
        "loss32": repr(runs[32][1].item()),
        "loss64": repr(runs[64][1].item()),
        "minReluMargin64": repr(kinks["reluMargin"]),
        "minPoolGap64": repr(kinks["poolGap"]),
    })
    print(f"  {name}: loss32 {runs[32][1].item()!r}, loss64 {runs[64][1].item()!r}, "
          f"kinks {kinks}")

    # The saved state dict must load into a fresh model and reproduce logits32.
    tensors, _ = st_load(os.path.join(FIXTURE_DIR, model_file))
    fresh = squeezenet(version, SQUEEZENET_CLASSES)
    fresh.load_state_dict(tensors, strict=True)
    fresh.eval()
    with torch.no_grad():
        assert torch.equal(fresh(x), runs[32][0]), name


def squeezenet_layout():
    counts, keys = {}, {}
    for version in SQUEEZENET_VERSIONS:
        name = "squeezenet" + version
        counts[name] = {}
        for num_classes in (1000, 10):
            model = squeezenet(version, num_classes)
            n = sum(p.numel() for p in model.parameters())
            assert n == SQUEEZENET_PARAM_COUNTS[version, num_classes], (name, n)
            counts[name][str(num_classes)] = n
            if num_classes == 1000:
                keys[name] = [{"name": k, "shape": list(v.shape)}
                              for k, v in model.state_dict().items()]
    write_json(os.path.join(NN_DIR, "squeezenet.json"),
               {"paramCounts": counts, "stateDict": keys}, "param counts and keys")


# Gradient i is a random normal times OPTIM_GRAD_SCALES[i]. The tiny 4th step
# makes Adam's second moment shrink (g**2 < v), so amsgrad's running max really
# differs from plain Adam; with unit-scale gradients they agree for ~50 steps.
OPTIM_GRAD_SCALES = [1.0, 1.0, 1.0, 0.01, 1.0]
OPTIM_CONFIGS = [
    # name, torch.optim class, its kwargs, (lr_scheduler class, its kwargs) or None
    ("sgd_plain", "SGD", {"lr": 0.1}, None),
    ("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9}, None),
    ("sgd_nesterov_wd", "SGD",
     {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, None),
    ("sgd_momentum_dampening", "SGD",
     {"lr": 0.1, "momentum": 0.5, "dampening": 0.1}, None),
    ("adam", "Adam", {"lr": 0.01}, None),
    ("adam_wd_betas", "Adam",
     {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}, None),
    ("adam_amsgrad", "Adam", {"lr": 0.01, "amsgrad": True}, None),
    ("adamw", "AdamW", {"lr": 0.01}, None),  # PyTorch's default weight_decay 0.01
    ("adamw_wd", "AdamW",
     {"lr": 0.02, "betas": (0.85, 0.995), "weight_decay": 0.1}, None),
    ("steplr_sgd", "SGD", {"lr": 0.1, "momentum": 0.9},
     ("StepLR", {"step_size": 2, "gamma": 0.5})),
    ("cosine_adam", "Adam", {"lr": 0.01},
     ("CosineAnnealingLR", {"T_max": 4, "eta_min": 0.001})),
]
CAMEL = {"weight_decay": "weightDecay", "step_size": "stepSize",
         "T_max": "tMax", "eta_min": "etaMin"}


def camel(kwargs):
    return {CAMEL.get(k, k): list(v) if isinstance(v, tuple) else v
            for k, v in kwargs.items()}


def optim_fixture():
    """Optimizer trajectories for fixed, explicitly given gradients (no loss).

    Each step: p.grad = grads[i][name]; opt.step(); scheduler.step() if any;
    then record the parameters and param_groups[0]["lr"] (so with a scheduler,
    "lr" is the rate the *next* step will use).
    """
    seed("optim")
    with default_dtype(torch.float64):
        params0 = {"p0": torch.randn(3, 4), "p1": torch.randn(5)}
        grads = [{k: torch.randn(v.shape) * scale for k, v in params0.items()}
                 for scale in OPTIM_GRAD_SCALES]
    configs = []
    for name, opt_name, kwargs, sched in OPTIM_CONFIGS:
        params = {k: v.clone().requires_grad_(True) for k, v in params0.items()}
        opt = getattr(torch.optim, opt_name)(list(params.values()), **kwargs)
        scheduler = (getattr(torch.optim.lr_scheduler, sched[0])(opt, **sched[1])
                     if sched else None)
        steps = []
        for g in grads:
            for k, p in params.items():
                p.grad = g[k].clone()
            opt.step()
            if scheduler is not None:
                scheduler.step()
            step = {k: ser(p) for k, p in params.items()}
            step["lr"] = opt.param_groups[0]["lr"]
            steps.append(step)
        configs.append({
            "name": name, "optimizer": opt_name, "options": camel(kwargs),
            "scheduler": None if sched is None else {"type": sched[0], **camel(sched[1])},
            "steps": steps})
    write_json(os.path.join(NN_DIR, "optim.json"), {
        "params0": {k: ser(v) for k, v in params0.items()},
        "grads": [{k: ser(v) for k, v in g.items()} for g in grads],
        "configs": configs}, f"{len(configs)} optimizer configs")


def fire_fixture():
    """torchvision's Fire(6, 3, 4, 5) in float64: output and the VJP of a random
    gradOutput w.r.t. x and every parameter."""
    from torchvision.models.squeezenet import Fire
    seed("fire")
    with default_dtype(torch.float64):
        fire = Fire(6, 3, 4, 5)  # nn.Conv2d's default init: biases are non-zero
        x = torch.randn(2, 6, 5, 5, requires_grad=True)
        seen, handles = record_inputs(fire)
        out = fire(x)
        for h in handles:
            h.remove()
        grad_out = torch.randn(out.shape)
    state = dict(fire.named_parameters())
    assert all((v != 0).all() for k, v in state.items() if k.endswith(".bias"))
    assert list(state) == list(fire.state_dict())
    margin = min(t.abs().min().item() for _, t in seen)
    assert margin > 1e-4, margin  # no ReLU input near its kink
    gs = torch.autograd.grad(out, [x, *state.values()], grad_out)
    write_json(os.path.join(NN_DIR, "fire.json"), {
        "module": "Fire",
        "params": {"inplanes": 6, "squeezePlanes": 3,
                   "expand1x1Planes": 4, "expand3x3Planes": 5},
        "stateDict": {k: ser(v) for k, v in state.items()},
        "inputs": {"x": ser(x)},
        "gradOutput": ser(grad_out),
        "output": ser(out),
        "grads": dict(zip(["x", *state], map(ser, gs))),
    }, f"Fire module, min ReLU margin {margin:.3g}")


def nn_fixtures():
    for version, shape in SQUEEZENET_VERSIONS.items():
        squeezenet_fixture(version, shape)
    squeezenet_layout()
    optim_fixture()
    fire_fixture()


def gemm_accuracy_fixture():
    """features.0's float64 gradient of SqueezeNet 1.0 at 227 (a 12,321-term reduction per
    element of dW), and how far PyTorch's float32 is from it."""
    name = f"squeezenet1_0_{SQUEEZENET_CLASSES}"
    state, _ = st_load(os.path.join(FIXTURE_DIR, NN_DIR, name + ".safetensors"))
    model = squeezenet("1_0", SQUEEZENET_CLASSES)
    model.load_state_dict(state, strict=True)
    model.eval()
    seed(name + "_227/input")
    x = torch.randn((1, 3, 227, 227), dtype=torch.float32)
    labels = torch.randint(0, SQUEEZENET_CLASSES, (1,))

    grads, dys, seen = {}, {}, {}
    for bits, dtype in ((32, torch.float32), (64, torch.float64)):
        m = copy.deepcopy(model).to(dtype)
        m.features[1].inplace = False  # so that features.0's output keeps its own gradient

        def keep_dy(_module, _inputs, out, bits=bits):
            out.register_hook(lambda g: dys.__setitem__(bits, g.detach()))

        m.features[0].register_forward_hook(keep_dy)
        seen[bits], handles = record_inputs(m)
        F.cross_entropy(m(x.to(dtype)), labels).backward()
        for h in handles:
            h.remove()
        grads[bits] = m.features[0].weight.grad.detach().clone()
    kinks = kink_report(seen[32], seen[64])

    def rel_err(g32, g64):
        return ((g32.double() - g64).abs().max() / g64.abs().max()).item()

    # The whole network's float32 error includes ReLU / max-pool decisions that float32 rounding
    # flips (kinks, not summation). features.0's dW alone, from the float64 dY rounded to float32,
    # is the long reduction with no kink in it.
    shape, dy32 = model.features[0].weight.shape, dys[64].float()
    conv_dw32 = torch.nn.grad.conv2d_weight(x, shape, dy32, stride=2)
    conv_dw64 = torch.nn.grad.conv2d_weight(x.double(), shape, dy32.double(), stride=2)
    assert rel_err(conv_dw64, grads[64]) < 1e-6
    errs = {"torchRelErr32": rel_err(grads[32], grads[64]),
            "torchConvDwRelErr32": rel_err(conv_dw32, grads[64])}
    # How often that happens to PyTorch: whole-network float32 error on 20 more seeded inputs.
    others = []
    for i in range(20):
        seed(f"{name}_227/input{i}")
        xi = torch.randn((1, 3, 227, 227), dtype=torch.float32)
        g = {}
        for bits, dtype in ((32, torch.float32), (64, torch.float64)):
            m = copy.deepcopy(model).to(dtype)
            F.cross_entropy(m(xi.to(dtype)), labels).backward()
            g[bits] = m.features[0].weight.grad
        others.append(rel_err(g[32], g[64]))
    errs["torchRelErr32Over1e-5"] = f"{sum(e > 1e-5 for e in others)} of {len(others)} inputs"
    io = {"input": x, "labels": labels.to(torch.int32), "grad64.features.0.weight": grads[64]}
    write_safetensors(os.path.join(NN_DIR, name + "_227_grads.safetensors"), io, {
        "format": "pt", "model": "torchvision squeezenet1_0",
        "weights": name + ".safetensors", "mode": "eval (dropout off)",
        "loss": "F.cross_entropy(logits, labels)",
        **{k: v if isinstance(v, str) else repr(v) for k, v in errs.items()},
        **{k + "64" if k in ("reluMargin", "poolGap") else k: repr(v) for k, v in kinks.items()}})
    print(f"  PyTorch float32 max|g32 - g64| / max|g64| of features.0.weight: {errs}, kinks {kinks}")

# ---------------------------------------------------------------- roundtrip

ROUNDTRIP_FILE = os.path.join(NN_DIR, "firegrad-saved.safetensors")
ROUNDTRIP_TENSORS = {  # name -> (dtype, shape, flat values), as firegrad saves them
    "a": ("F32", [2, 3], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
    "b": ("F64", [4], [0.5, -1.25, 3e-8, 1e300]),
    "c": ("I32", [2, 2], [1, -2, 3, -4]),
    "empty": ("F32", [0, 3], []),
}
ROUNDTRIP_METADATA = {"format": "pt", "note": "firegrad round trip"}


def check_roundtrip(path):
    """Check a safetensors file written by firegrad; raise on any mismatch."""
    with open(path, "rb") as f:
        entries, metadata, data = st_parse(f.read())
    tensors, _ = st_load(path)
    problems = []
    if metadata != ROUNDTRIP_METADATA:
        problems.append(f"metadata {metadata!r} != {ROUNDTRIP_METADATA!r}")
    if sorted(entries) != sorted(ROUNDTRIP_TENSORS):
        problems.append(f"tensors {sorted(entries)} != {sorted(ROUNDTRIP_TENSORS)}")
    for name, (dtype, shape, values) in ROUNDTRIP_TENSORS.items():
        if name not in entries:
            continue
        e, t = entries[name], tensors[name]
        if e["dtype"] != dtype or e["shape"] != shape:
            problems.append(f"{name}: {e['dtype']} {e['shape']}, expected {dtype} {shape}")
            continue
        by_struct = st_values(data, e)
        by_torch = t.reshape(-1).tolist()
        if by_struct != values or by_torch != values:
            problems.append(f"{name}: struct {by_struct}, torch.frombuffer "
                            f"{by_torch}, expected {values}")
    if problems:
        raise AssertionError(f"{os.path.relpath(path, ROOT)}:\n  " + "\n  ".join(problems))
    print(f"{os.path.relpath(path, ROOT)}: OK ({len(entries)} tensors, metadata matches)")


def roundtrip_check():
    path = os.path.join(FIXTURE_DIR, ROUNDTRIP_FILE)
    if not os.path.exists(path):
        print(f"{os.path.relpath(path, ROOT)} not found; skipping the round-trip "
              "check (firegrad's safetensors test writes it)")
        return
    check_roundtrip(path)


# ---------------------------------------------------------------- main

# -> test/fixtures/<group>.json
GROUPS = {"core": core_cases, "ops": ops_cases, "elementwise": elementwise_cases,
          "reductions": reduction_cases, "mini-bn": mini_bn_cases, "resize": resize_cases,
          "conv-geometry": conv_geometry_cases, "losses": loss_cases, "indexing": indexing_cases}
OTHER_GROUPS = {"nn": nn_fixtures,               # write their own files
                "gemm-accuracy": gemm_accuracy_fixture,
                "activations": activation_cases,
                "roundtrip": roundtrip_check,    # writes nothing
                "norm": norm_fixtures}


def main(argv):
    known = list(GROUPS) + list(OTHER_GROUPS)
    names = argv or known
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown fixture group(s) {unknown}; choose from {known}")
    torch.set_default_dtype(DTYPE)
    for n in names:
        if n in GROUPS:
            write(n, GROUPS[n]())
        else:
            OTHER_GROUPS[n]()


if __name__ == "__main__":
    main(sys.argv[1:])
