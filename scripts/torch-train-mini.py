# PyTorch reference for the README's training numbers: firegrad's SqueezeNetMini (plain, or with batch
# norm: --model mini-bn) trained with the recipe of `pnpm train` (examples/train-fashion-mnist.ts):
# torchvision's SqueezeNet init (BN weight 1, bias 0), Adam lr 3e-3 with cosine decay to 0 per step,
# batch 64, dropout 0.5, the same split of the `fashion-mnist` npm package's files (of each class's
# 7,000 images in package order, the first 6,000 train, the last 1,000 test) and the same pixel
# normalization; --limit / --test-limit take class-balanced subsets as `pnpm train` does (its own seeded
# draw, so not the same images). Prints accuracy and img/s, training on 2 threads.
# Run: /usr/bin/python3 scripts/torch-train-mini.py --model mini-bn --limit 6000
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MEAN, STD = 0.286, 0.353  # examples/lib/batches.ts
PER_CLASS, TEST_PER_CLASS = 7000, 1000


def conv_bn_relu(bn, cin, cout, k, padding=0):
    """conv → ReLU, or conv (no bias) → BatchNorm2d → ReLU."""
    if not bn:
        return nn.Sequential(nn.Conv2d(cin, cout, k, padding=padding), nn.ReLU())
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Fire(nn.Module):
    def __init__(self, bn, cin, s, e1, e3):
        super().__init__()
        self.squeeze = conv_bn_relu(bn, cin, s, 1)
        self.expand1x1, self.expand3x3 = conv_bn_relu(bn, s, e1, 1), conv_bn_relu(bn, s, e3, 3, padding=1)

    def forward(self, x):
        x = self.squeeze(x)
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], 1)


def mini(bn):
    final = nn.Conv2d(256, 10, 1)
    m = nn.Sequential(
        *conv_bn_relu(bn, 1, 64, 3, padding=1), nn.MaxPool2d(2), Fire(bn, 64, 32, 64, 64), Fire(bn, 128, 32, 64, 64),
        nn.MaxPool2d(2), Fire(bn, 128, 32, 128, 128), Fire(bn, 256, 32, 128, 128),
        nn.Dropout(0.5), final, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    for mod in m.modules():  # torchvision's SqueezeNet init, as firegrad's squeezeNetInit
        if isinstance(mod, nn.Conv2d):
            if mod is final:
                nn.init.normal_(mod.weight, 0, 0.01)
            else:
                nn.init.kaiming_uniform_(mod.weight)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
    # plain: firegrad's 145,418; with BN: 960 conv biases fewer, 2 × 960 BN weights and biases more
    assert sum(p.numel() for p in m.parameters()) == (146378 if bn else 145418)
    return m


def load_split():
    """Images (uint8, N×784) and labels of the train and test splits, class by class in package order."""
    pkg = os.path.join(ROOT, "examples", "node_modules", "fashion-mnist", "src", "clothes")
    parts = {"train": ([], []), "test": ([], [])}
    for c in range(10):
        with open(os.path.join(pkg, f"{c}.json")) as f:
            rows = [r for r in json.load(f)["data"] if len(r) > 0]  # class 0's file holds two empty rows
        assert len(rows) == PER_CLASS, (c, len(rows))
        imgs = np.asarray(rows, dtype=np.uint8)
        cut = PER_CLASS - TEST_PER_CLASS
        for name, block in (("train", imgs[:cut]), ("test", imgs[cut:])):
            parts[name][0].append(block)
            parts[name][1].append(np.full(len(block), c, dtype=np.int64))
    return {k: (np.concatenate(v[0]), np.concatenate(v[1])) for k, v in parts.items()}


def subset(images, labels, n, seed):
    """n images, n/10 per class (class k % 10 for the k-th), drawn by a seeded shuffle; all when n is 0."""
    if n <= 0 or n >= len(labels):
        return images, labels
    rng = np.random.default_rng(seed)
    by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(10)]
    idx = np.sort([by_class[k % 10][k // 10] for k in range(n)])
    return images[idx], labels[idx]


def to_tensor(images):
    return ((torch.from_numpy(images).float() / 255 - MEAN) / STD).reshape(-1, 1, 28, 28)


def evaluate(model, x, y, batch=500):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for b in range(0, len(y), batch):
            logits = model(x[b:b + batch])
            loss += F.cross_entropy(logits, y[b:b + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[b:b + batch]).sum().item()
    return loss / len(y), correct / len(y)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", choices=["mini", "mini-bn"], default="mini")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--limit", type=int, default=0, help="class-balanced train subset; 0 = all 60,000")
    p.add_argument("--test-limit", type=int, default=0, help="class-balanced test subset; 0 = all 10,000")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    data = load_split()
    xtr, ytr = subset(*data["train"], a.limit, a.seed)
    xte, yte = subset(*data["test"], a.test_limit, a.seed + 1)
    xtr, xte, ytr, yte = to_tensor(xtr), to_tensor(xte), torch.from_numpy(ytr), torch.from_numpy(yte)
    model = mini(a.model == "mini-bn")
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps = (len(ytr) + a.batch_size - 1) // a.batch_size
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps)
    print(f"model: {a.model} ({sum(q.numel() for q in model.parameters()):,} parameters), adam lr {a.lr}, "
          f"batch {a.batch_size}, {a.epochs} epoch(s) on {len(ytr)} images, torch {torch.__version__}, {torch.get_num_threads()} threads")
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = torch.randperm(len(ytr))
        loss_sum, correct, t0 = 0.0, 0, time.perf_counter()
        for b in range(0, len(ytr), a.batch_size):
            i = order[b:b + a.batch_size]
            logits = model(xtr[i])
            loss = F.cross_entropy(logits, ytr[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(i)
            correct += (logits.argmax(1) == ytr[i]).sum().item()
        seconds = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, xte, yte)
        print(f"epoch {epoch}/{a.epochs}: train loss {loss_sum / len(ytr):.4f} acc {100 * correct / len(ytr):.2f}% | "
              f"test loss {test_loss:.4f} acc {100 * test_acc:.2f}% | {len(ytr) / seconds:.1f} img/s, {seconds:.0f} s")


if __name__ == "__main__":
    main()
