# PyTorch side of bench/all.ts: times one workload's rows and prints JSON on stdout
# ({"torch": version, "threads": n, "rows": {row: [ms, ...] | {"error": msg}}}); with "onnx" set,
# also exports the workload's inference model there for ONNX Runtime (opset 13, dynamic batch).
# Run by bench/all.ts as: /usr/bin/python3 bench/torch_peer.py '{"workload": "W1", ...}'
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)


def measure(fn):
    """Same policy as bench/all.ts: one timed warm-up sets how many runs fit the budget, then more
    warm-up runs (up to WARMUP_RUNS, while under WARMUP_MS in all) before the timed ones."""
    t0 = time.perf_counter()
    fn()
    first = (time.perf_counter() - t0) * 1e3
    runs = max(cfg["minRuns"], min(cfg["runs"], int(cfg["budgetMs"] // max(first, 1e-3))))
    warm_start = time.perf_counter()
    for _ in range(cfg["warmupRuns"]):
        if first + (time.perf_counter() - warm_start) * 1e3 >= cfg["warmupMs"]:
            break
        fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return ms


class Fire(nn.Module):
    def __init__(self, cin, s, e):
        super().__init__()
        self.squeeze, self.e1, self.e3 = nn.Conv2d(cin, s, 1), nn.Conv2d(s, e, 1), nn.Conv2d(s, e, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.e1(x)), F.relu(self.e3(x))], 1)


def mini():
    """firegrad's SqueezeNetMini (145,418 parameters)."""
    m = nn.Sequential(
        nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), Fire(64, 32, 64), Fire(128, 32, 64), nn.MaxPool2d(2),
        Fire(128, 32, 128), Fire(256, 32, 128), nn.Dropout(0.5), nn.Conv2d(256, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    assert sum(p.numel() for p in m.parameters()) == 145418
    return m


def train_step(model, batch, shape):
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def inference(model, batch):
    model.eval()
    x = torch.randn(batch, 3, 224, 224)
    if cfg.get("onnx"):
        torch.onnx.export(model, x, cfg["onnx"], opset_version=13, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})

    def run():
        with torch.no_grad():
            model(x)
    return run


def conv_rows():
    x, w, dy = torch.randn(8, 16, 55, 55), torch.randn(64, 16, 3, 3), torch.randn(8, 64, 55, 55)
    if cfg.get("onnx"):
        conv = nn.Conv2d(16, 64, 3, padding=1, bias=False)
        torch.onnx.export(conv, x, cfg["onnx"], opset_version=13, input_names=["x"], output_names=["y"])

    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, padding=1)

    xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()

    def fwd_bwd():
        xg.grad = wg.grad = None
        F.conv2d(xg, wg, padding=1).backward(dy)
    return {"W6 fwd": fwd, "W6 fwd+bwd": fwd_bwd}


work = cfg["workload"]
if work == "W1":
    rows = {"W1": inference(torchvision.models.squeezenet1_1(), 1)}
elif work == "W2":
    rows = {"W2": inference(torchvision.models.squeezenet1_0(), 1)}
elif work == "W3":
    rows = {"W3": inference(torchvision.models.squeezenet1_1(), 16)}
elif work == "W4":
    rows = {"W4": train_step(mini(), 64, (1, 28, 28))}
elif work == "W5":
    rows = {"W5": train_step(torchvision.models.squeezenet1_1(num_classes=10), 8, (3, 224, 224))}
else:
    rows = conv_rows()

out = {}
for name, fn in rows.items():
    try:
        out[name] = measure(fn)
    except Exception as e:  # reported in the table rather than ending the whole run
        out[name] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": out}))
