#!/usr/bin/python3
"""PyTorch's side of the trainer parity test (tests/training/parity_test.cc).

Makes a small U-Net (model_tools/tiny_unet.py with one convolution per level and
BatchNorm in the first; binary_sigmoid: one logit per pixel) and a small
classifier (classify), saves each as a scripted module before training, writes 20 fixed
batches of each, then trains the scripted module with SGD (lr 0.05, momentum 0.9,
weight decay 1e-4; no augmentation, one thread) and records the loss at every step,
computed as training/losses.h says:
  binary_sigmoid  BCE-with-logits (mean) + 1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1)
  classify        cross-entropy
Run with Debian's python3-torch: /usr/bin/python3 make_parity_data.py OUT_DIR
Writes OUT_DIR/manifest.json and raw little-endian tensors (*.bin).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "model_tools"))
from tiny_unet import TinyUNet  # noqa: E402

STEPS = 20
LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 1e-4


class SmallClassifier(nn.Module):
    def __init__(self, classes: int = 4):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).mean(dim=(2, 3)))


def binary_loss(x, t):
    x = x.reshape(t.shape)
    p = torch.sigmoid(x)
    dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    return F.binary_cross_entropy_with_logits(x, t) + dice


def write(out, name, array):
    array = np.ascontiguousarray(array)
    array.tofile(os.path.join(out, name))
    return {"file": name, "shape": list(array.shape), "dtype": str(array.dtype)}


def run(out, key, net, runner, batches, loss_fn):
    module = torch.jit.script(net)
    module.save(os.path.join(out, key + ".pt"))
    module.train()
    opt = torch.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    losses, entries = [], []
    for i, (x, t) in enumerate(batches):
        entries.append({"input": write(out, f"{key}_x{i}.bin", x.numpy()),
                        "target": write(out, f"{key}_t{i}.bin", t.numpy())})
        opt.zero_grad()
        loss = loss_fn(module(x), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return {"module": key + ".pt", "runner": runner, "batches": entries, "losses": losses}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(20261207)
    g = torch.Generator().manual_seed(7)
    seg = []
    for _ in range(STEPS):
        x = torch.rand(2, 1, 16, 16, generator=g)
        blur = F.avg_pool2d(x, 3, stride=1, padding=1)
        seg.append((x, (blur > 0.5).float()))
    cls = []
    for _ in range(STEPS):
        cls.append((torch.randn(4, 3, 12, 12, generator=g),
                    torch.randint(0, 4, (4,), generator=g, dtype=torch.int64)))
    manifest = {
        "unet": run(out, "unet", TinyUNet(convs_per_level=1, first_level_batch_norm=True),
                    "binary_sigmoid", seg, binary_loss),
        "classifier": run(out, "classifier", SmallClassifier(), "classify", cls,
                          lambda x, t: F.cross_entropy(x, t)),
        "params": {"optimizer": "sgd", "lr": LR, "momentum": MOMENTUM,
                   "weight_decay": WEIGHT_DECAY, "threads": 1},
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("parity data: ok")


if __name__ == "__main__":
    main()
