#!/usr/bin/python3
"""Generates the TorchScript test/demo model repository, test images and reference outputs.

Usage:  /usr/bin/python3 model_tools/make_test_models.py OUT_DIR [--demo]

Run it with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14, numpy, PIL, yaml).
Needs no network and no pretrained weights. Deterministic and idempotent: OUT_DIR/repo and
OUT_DIR/images are deleted and rebuilt on every run; other files in OUT_DIR are overwritten.

Two repositories: the test repository (build/test-models, the default) holds every model
below; the demo repository (--demo, written to demo/ by `make demo`, which then adds the
real models of scripts/fetch-models.sh) holds only the models worth showing — one or two
per runner, plus unet_bench — and leaves out the FIXTURES (models that exist to exercise
the server: wrappers, a miscompiled graph, slow and versioned nets, export shapes) and the
reference files only the tests read (TEST_ONLY_FILES).

Writes:
  OUT_DIR/repo/NAME/model.yaml, NAME/<version>/model.pt, NAME/labels.txt
  (FIXTURES, test repository only: tuple_out, clamp_net, dict_out, gray_cls,
  slow_model, versioned, cellpose_traced, cellpose_traced_flows_second)
      mobilenet_v2  torchvision MobileNetV2, random init (seed 0), 1000 classes, 224x224
      mobilenet_v2_u8  mobilenet_v2's module (the same weights) wrapped to take uint8 NHWC
                    [N,224,224,3] (input.dtype: uint8, layout: NHWC): it converts to float,
                    permutes to NCHW and normalises as mobilenet_v2's model.yaml says
      resnet18      torchvision ResNet-18, random init (seed 1), 1000 classes, 224x224
                    (both with BatchNorm stats recalibrated on random images so their
                    logits are well spread; labels are the ImageNet class names)
      tiny_cls      tiny CNN trained on synthetic 64x64 images: disk / square / stripes
      tuple_out     tiny_cls returning (logits, features); the server uses the first output
      clamp_net     conv/relu6/hardswish net (random, seed 11) that torch 1.13's
                    optimize_for_inference miscomputes: the load-time check must catch it
      dict_out      tiny_cls returning {"features": ..., "logits": ...}; model.yaml says
                    outputs: [logits]
      gray_cls      random 1-channel 32x32 net, 4 classes (gray preprocessing); optimize: false
      slow_model    tiny_cls plus a 50 ms busy-wait per forward call (per batch);
                    max_batch_size 2, max_queue_size 4, max_queue_delay_ms 1
      versioned     two different random 2-class nets in versions 1/ and 3/; the server
                    must serve 3 (the highest)
      tiny_unet     runner binary_sigmoid: gray 64x64 -> [N,1,H,W] logits; a small
                    encoder-decoder with built weights (bright blobs are foreground)
      tiny_multiclass  runner multiclass_argmax: rgb 64x64 (ImageNet mean/std) ->
                    [N,3,H,W] logits for background / red / green, by construction
      unet_bench    (--demo only) runner binary_sigmoid: a standard 4-level U-Net at gray
                    512x512 with seeded random weights, for `infera bench job`
      cellpose_tiny runner cellpose: a tiny Cellpose-style U-Net trained on synthetic
                    2-channel cells by model_tools/train_cellpose.py (images/cells/*.tif with
                    *_masks.png ground truth, cellpose_expected.json)
      cellpose_traced, cellpose_traced_flows_second  cellpose_tiny's weights traced as the
                    README says to export a Cellpose CPnet: a tuple (flows, [feature maps],
                    style), no `outputs:`; and ([feature maps], flows, style) with
                    outputs: {flows: 1, style: 2} (train_cellpose.py export_traced)
      tiny_tiff     runner custom_tiff: 2-channel input at the source size (size: keep) ->
                    [N,1,H,W] probabilities (sigmoid inside: its model.yaml's params say
                    output_is_probability: true); warmup off (warm-up feeds 1 or 3
                    channels)
  OUT_DIR/images/{disk,square,stripes}.png  80x72 (W x H) RGB, one clean example per class
  OUT_DIR/images/photo.png                  300x200 (W x H) smooth RGB pattern
  OUT_DIR/images/gray.png                   50x40 (W x H) 8-bit grayscale
  OUT_DIR/images/heldout/*.png + labels.json  30 tiny_cls images (10 per class, 60..100 px)
  OUT_DIR/images/blobs.png                  80x60 8-bit gray, bright blobs (tiny_unet)
  OUT_DIR/images/rgb_regions.{png,tif}      96x72 RGB red disk / green and blue rectangles
                                            (tiny_multiclass); the .tif has the same pixels
  OUT_DIR/images/cells_2ch.tif              72x56 16-bit 2-channel fluorescence-like image
  OUT_DIR/images/cells_pages.tif            3 pages of 64x48 16-bit 2-channel images
  OUT_DIR/expected.json (TEST_ONLY_FILES: this one, expected_masks.json,
                          cellpose_expected.json and seed_config.yaml, not in the demo)
                          reference logits/probs/top5 computed by PyTorch with the server's
                          preprocessing (see preprocess() below); none for
                          mobilenet_v2_u8: resizing photo.png to its uint8 input rounds
                          values of which hundreds are halves (357 exact, 779 within
                          1e-3), which torch's and the server's float arithmetic can
                          round either way (its tests compare it with mobilenet_v2 at
                          224x224 instead)
  OUT_DIR/expected_masks.json  reference masks (and one probability map) of the three
                          segmentation models, computed as the runners should (see
                          make_segmentation() and the file's "format" field)
  OUT_DIR/config.yaml     server config pointing at repo/ (new repository form)
  OUT_DIR/seed_config.yaml  the seed's list form (one mobilenet_v2 entry)
"""

import os
import sys

# TorchScript serialises module constants in set-iteration order, which depends on Python's
# string-hash seed; pin it (re-executing before the heavy imports) so that model.pt files
# are byte-for-byte reproducible.
if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from typing import Dict, List, Tuple  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
SCALE = 1.0 / 255.0
TINY_CLASSES = ["disk", "square", "stripes"]
TINY_SIZE = 64
SLOW_DELAY_MS = 50  # slow_model: wall time added to every forward call (batch)
# Test fixtures: in the test repository only (see the top of this file).
FIXTURES = ("clamp_net", "tuple_out", "dict_out", "slow_model", "gray_cls", "versioned",
            "cellpose_traced", "cellpose_traced_flows_second")
TEST_ONLY_FILES = ("expected.json", "expected_masks.json", "cellpose_expected.json",
                   "seed_config.yaml")


# --------------------------------------------------------------------------------------
# Synthetic images for tiny_cls
# --------------------------------------------------------------------------------------

def _bright_color(rng: np.random.RandomState) -> np.ndarray:
    c = rng.uniform(150, 255, size=3)
    # Sometimes knock one channel down so colours vary in hue, keeping it bright overall.
    if rng.rand() < 0.5:
        c[rng.randint(3)] = rng.uniform(40, 150)
    return c


def synth_image(rng: np.random.RandomState, cls: str, width: int, height: int,
                noise: float = None) -> np.ndarray:
    """Returns an HxWx3 uint8 image of class `cls` ("disk", "square" or "stripes")."""
    bg = rng.uniform(0, 90, size=3)
    if noise is None:
        noise = rng.uniform(4, 20)
    img = np.empty((height, width, 3), np.float64)
    img[:] = bg
    fg = _bright_color(rng)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    m = min(width, height)
    if cls == "disk":
        r = rng.uniform(0.17, 0.38) * m
        cx = rng.uniform(r, width - r)
        cy = rng.uniform(r, height - r)
        d = np.sqrt((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2)
        alpha = np.clip(r - d + 0.5, 0.0, 1.0)  # anti-aliased edge
    elif cls == "square":
        s = rng.uniform(0.3, 0.7) * m
        x0 = rng.uniform(0, width - s)
        y0 = rng.uniform(0, height - s)
        ax = np.clip(np.minimum(xx + 1 - x0, x0 + s - xx), 0.0, 1.0)
        ay = np.clip(np.minimum(yy + 1 - y0, y0 + s - yy), 0.0, 1.0)
        alpha = ax * ay
    elif cls == "stripes":
        period = rng.uniform(0.12, 0.3) * m
        phase = rng.uniform(0, period)
        duty = rng.uniform(0.35, 0.65)
        alpha = (((yy + phase) % period) < duty * period).astype(np.float64)
        # Stripes cover a large band of the image (sometimes all of it).
        if rng.rand() < 0.5:
            w = rng.uniform(0.5, 1.0) * width
            h = rng.uniform(0.5, 1.0) * height
            x0 = rng.uniform(0, width - w)
            y0 = rng.uniform(0, height - h)
            alpha *= ((xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h))
    else:
        raise ValueError(cls)
    img = img * (1 - alpha[..., None]) + fg * alpha[..., None]
    img += rng.normal(0, noise, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def photo_image() -> np.ndarray:
    """300x200 (W x H) smooth, random-looking RGB pattern."""
    rng = np.random.RandomState(1234)
    h, w = 200, 300
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    for c in range(3):
        acc = np.zeros((h, w))
        for _ in range(5):
            fx, fy = rng.uniform(-0.06, 0.06, size=2)
            ph = rng.uniform(0, 2 * math.pi)
            acc += rng.uniform(0.3, 1.0) * np.sin(fx * xx + fy * yy + ph)
        acc += rng.uniform(-1, 1) * (xx / w) + rng.uniform(-1, 1) * (yy / h)
        acc = (acc - acc.min()) / (acc.max() - acc.min())
        img[..., c] = acc * 235 + 10
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def gray_image() -> np.ndarray:
    """50x40 (W x H) 8-bit grayscale: a gradient with a bright blob."""
    h, w = 40, 50
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    g = 30 + 120 * xx / (w - 1) + 60 * np.exp(-((xx - 32) ** 2 + (yy - 14) ** 2) / 60.0)
    g += 25 * np.sin(yy / 3.0)
    return np.clip(np.rint(g), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# Preprocessing: the same steps the C++ server does (src/imaging/preprocess.h)
# --------------------------------------------------------------------------------------

def load_png(path: str) -> np.ndarray:
    """PNG -> float32 HxWxC raw sample values (0..255); C is 1 (gray) or 3 (rgb)."""
    with Image.open(path) as im:
        if im.mode in ("L", "LA", "I;16", "I"):
            a = np.asarray(im.convert("L") if im.mode == "LA" else im, dtype=np.float32)
        else:
            a = np.asarray(im.convert("RGB"), dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    return a


def preprocess(raw: np.ndarray, spec: dict) -> torch.Tensor:
    """raw float32 HxWxC (C=1 or 3) -> [1,C,H,W] float32 tensor as the server makes it."""
    color = spec["color"]
    if color == "gray":
        if raw.shape[2] == 3:
            r, g, b = raw[:, :, 0], raw[:, :, 1], raw[:, :, 2]
            raw = (r * np.float32(0.299) + g * np.float32(0.587) + b * np.float32(0.114))
            raw = raw.astype(np.float32)[:, :, None]
    else:
        if raw.shape[2] == 1:
            raw = np.repeat(raw, 3, axis=2)
        if color == "bgr":
            raw = raw[:, :, ::-1]
    x = torch.from_numpy(np.ascontiguousarray(raw)).permute(2, 0, 1).unsqueeze(0).contiguous()
    h, w = spec["size"]
    if (x.shape[2], x.shape[3]) != (h, w):
        if spec.get("interpolation", "bilinear") == "bilinear":
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False,
                              antialias=False)
        else:
            x = F.interpolate(x, size=(h, w), mode="nearest")
    x = x * spec["scale"]
    mean = torch.tensor(spec["mean"], dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(spec["std"], dtype=torch.float32).view(1, -1, 1, 1)
    return ((x - mean) / std).contiguous()


def rgb_spec(size: int) -> dict:
    return {
        "color": "rgb",
        "size": [size, size],
        "interpolation": "bilinear",
        "scale": SCALE,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "layout": "NCHW",
        "dtype": "float32",
    }


GRAY_SPEC = {
    "color": "gray",
    "size": [32, 32],
    "interpolation": "bilinear",
    "scale": SCALE,
    "mean": [0.5],
    "std": [0.5],
    "layout": "NCHW",
    "dtype": "float32",
}


def uint8_batch_to_input(imgs, spec: dict) -> torch.Tensor:
    return torch.cat([preprocess(im.astype(np.float32), spec) for im in imgs], 0)


# --------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------

class TinyCls(nn.Module):
    """~24k parameters: 4 small conv layers (two strided), global average + max pooling
    concatenated as the feature vector, linear head."""

    def __init__(self, in_ch: int = 3, num_classes: int = 3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, 12, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(12, 24, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(24, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 48, 3, padding=1), nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(96, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x)
        return torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ClampNet(nn.Module):
    """conv -> relu6 -> 1x1 conv -> hardswish -> pooling -> linear, random weights (seed 11):
    a graph torch 1.13's optimize_for_inference miscomputes (outputs off by ~1), which the
    server's load-time check must catch (it serves the frozen module instead)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(8, 8, 1)
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.hardswish(self.c2(F.relu6(self.c1(x))))
        return self.head(y.mean(dim=(2, 3)))


class TupleOut(nn.Module):
    def __init__(self, net: TinyCls):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        f = self.net.features(x)
        return self.net.head(f), f


class DictOut(nn.Module):
    def __init__(self, net: TinyCls):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        f = self.net.features(x)
        return {"features": f, "logits": self.net.head(f)}


class SlowModel(nn.Module):
    """tiny_cls plus a busy-wait of `delay_ms` per forward call (i.e. per batch).

    The wait spins on prim::TimePoint (a steady-clock reading in ns, part of libtorch's
    TorchScript prim ops), so it lasts ~delay_ms on any machine while the file stays
    byte-for-byte deterministic; it keeps one CPU core busy, like real compute would.
    """

    def __init__(self, net: TinyCls, delay_ms: int):
        super().__init__()
        self.net = net
        self.delay_ns = int(delay_ms) * 1000000

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net(x)
        start = torch.ops.prim.TimePoint()
        spins = 0
        while torch.ops.prim.TimePoint() - start < self.delay_ns:
            spins += 1
        # Depend on the loop so nothing can drop it; adds exactly 0.
        return logits + 0.0 * spins


class Uint8Input(nn.Module):
    """`net` behind the server's uint8 NHWC input: [N,H,W,C] uint8 samples -> float ->
    NCHW -> x * scale -> (x - mean) / std (the preprocessing a float32 model.yaml asks the
    server for, here in the graph) -> net."""

    def __init__(self, net: nn.Module, spec: dict):
        super().__init__()
        self.net = net
        self.scale = float(spec["scale"])
        self.register_buffer("mean", torch.tensor(spec["mean"], dtype=torch.float32)
                             .view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(spec["std"], dtype=torch.float32)
                             .view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.permute(0, 3, 1, 2).to(torch.float32).contiguous()
        return self.net((y * self.scale - self.mean) / self.std)


def uint8_spec(spec: dict) -> dict:
    """The uint8 NHWC input spec of a model that normalises itself (Uint8Input): the same
    colour, size and interpolation as `spec`; no scale/mean/std (the server ignores them
    for uint8)."""
    return {
        "color": spec["color"],
        "size": list(spec["size"]),
        "interpolation": spec["interpolation"],
        "layout": "NHWC",
        "dtype": "uint8",
    }


def preprocess_uint8(raw: np.ndarray, spec: dict) -> torch.Tensor:
    """raw float32 HxWxC -> [1,H,W,C] uint8 tensor as the server makes it for dtype uint8:
    colour conversion and resize as preprocess(), then round to nearest (ties to even) and
    clamp to [0, 255]."""
    x = preprocess(raw, dict(spec, scale=1.0, mean=[0.0], std=[1.0]))
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


class GrayNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


# --------------------------------------------------------------------------------------
# Training tiny_cls
# --------------------------------------------------------------------------------------

def make_dataset(rng: np.random.RandomState, n_per_class: int, lo: int, hi: int,
                 spec: dict):
    imgs, ys = [], []
    for i in range(n_per_class * len(TINY_CLASSES)):
        c = i % len(TINY_CLASSES)
        w = rng.randint(lo, hi + 1)
        h = rng.randint(lo, hi + 1)
        imgs.append(synth_image(rng, TINY_CLASSES[c], w, h))
        ys.append(c)
    return uint8_batch_to_input(imgs, spec), torch.tensor(ys, dtype=torch.long)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train_tiny(spec: dict) -> Tuple[TinyCls, float]:
    rng = np.random.RandomState(100)
    x_tr, y_tr = make_dataset(rng, 600, 48, 110, spec)
    x_va, y_va = make_dataset(np.random.RandomState(200), 100, 56, 104, spec)
    torch.manual_seed(2)
    model = TinyCls()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = x_tr.shape[0]
    epochs = 6
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2,
                                                total_steps=epochs * math.ceil(n / 64))
    g = torch.Generator().manual_seed(3)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            xb = x_tr[idx]
            if ep % 2 == 1:
                xb = xb.flip(3)  # horizontal flip keeps every class's identity
            loss = F.cross_entropy(model(xb), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model, accuracy(model, x_va, y_va)


# --------------------------------------------------------------------------------------
# Writing the repository
# --------------------------------------------------------------------------------------

def save_script(module: nn.Module, path: str, example: torch.Tensor) -> torch.jit.ScriptModule:
    module.eval()
    sm = torch.jit.script(module)
    sm.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.jit.save(sm, path)
    return sm


def write_model_yaml(folder: str, description: str, input_spec: dict, outputs=None,
                     labels: str = "labels.txt", batching: dict = None,
                     runner: str = "classify", warmup: bool = True, instances: int = 1,
                     optimize: bool = True, params: dict = None):
    d = {
        "backend": "torchscript",
        "runner": runner,
        "description": description,
        "input": input_spec,
    }
    if params is not None:  # the runner's default params (requests may override them)
        d["params"] = dict(params)
    if outputs is not None:
        d["outputs"] = list(outputs)
    if labels is not None:
        d["labels"] = labels
    d["batching"] = batching or {"max_batch_size": 8, "max_queue_delay_ms": 2,
                                 "max_queue_size": 256, "default_timeout_ms": 30000}
    d["instances"] = {"count": instances, "device": "cpu"}
    d["warmup"] = warmup
    if not optimize:
        d["optimize"] = False
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.yaml"), "w") as f:
        f.write("# Generated by model_tools/make_test_models.py\n")
        yaml.safe_dump(d, f, sort_keys=False, default_flow_style=None, width=100)


def write_labels(folder: str, names):
    with open(os.path.join(folder, "labels.txt"), "w") as f:
        for n in names:
            f.write(n + "\n")


def imagenet_labels():
    for p in ("/usr/share/opencv4/classification_classes_ILSVRC2012.txt",
              "/usr/share/doc/opencv-doc/examples/data/dnn/classification_classes_ILSVRC2012.txt"):
        if os.path.exists(p):
            with open(p) as f:
                names = [l.strip() for l in f if l.strip()]
            if len(names) == 1000:
                return names, p
    try:
        from torchvision.models._meta import _IMAGENET_CATEGORIES
        if len(_IMAGENET_CATEGORIES) == 1000:
            return list(_IMAGENET_CATEGORIES), "torchvision.models._meta"
    except Exception:  # pragma: no cover - depends on torchvision version
        pass
    return ["class_%d" % i for i in range(1000)], "generated"


def recalibrate_bn(model: nn.Module, seed: int) -> nn.Module:
    """Resets BatchNorm running stats from one train-mode pass over smooth random images.

    With fresh running stats (mean 0, var 1) a randomly initialised MobileNetV2 in eval mode
    lets activations vanish (logits ~1e-9, so top-5 is all ties); recalibrating gives
    well-spread, order-stable logits. Returns the model in eval mode.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(8, 3, 28, 28, generator=g)
    x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    x = (x - mean) / std
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: one pass sets the batch statistics
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


def save_png(arr: np.ndarray, path: str):
    mode = "L" if arr.ndim == 2 else "RGB"
    Image.fromarray(arr, mode).save(path, format="PNG")


# --------------------------------------------------------------------------------------
# Segmentation models (runners binary_sigmoid, multiclass_argmax, custom_tiff), their test
# images and the reference masks (expected_masks.json)
# --------------------------------------------------------------------------------------

SEG_SIZE = 64
UNET_SPEC = {
    "color": "gray",
    "size": [SEG_SIZE, SEG_SIZE],
    "interpolation": "bilinear",
    "scale": SCALE,
    "mean": [0.0],
    "std": [1.0],
    "layout": "NCHW",
    "dtype": "float32",
}
# custom_tiff keeps the source size and normalises by percentiles itself; color, scale,
# mean and std do not apply to it.
TIFF_SPEC = {"size": "keep", "interpolation": "bilinear", "layout": "NCHW", "dtype": "float32"}
MULTICLASS_LABELS = ["background", "red", "green"]


def _box3(channels_out: int, channels_in: int) -> torch.Tensor:
    return torch.zeros(channels_out, channels_in, 3, 3)


class TinyUNet(nn.Module):
    """Encoder-decoder with one skip connection, [N,1,H,W] gray -> [N,1,H,W] logits.

    enc1 (3x3, 4 ch) -> max-pool 2 -> enc2 (3x3, 8 ch) -> nearest upsample -> concat enc1 ->
    1x1 head. The weights are built, not trained: channel 0 of each stage is a 3x3 box blur
    of the brightness, the head thresholds the blurred brightness at ~0.45 (bright blobs are
    foreground), and the other channels carry small seeded random weights so that every
    layer takes part.
    """

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(1, 4, 3, padding=1)
        self.enc2 = nn.Conv2d(4, 8, 3, padding=1)
        self.head = nn.Conv2d(12, 1, 1)
        g = torch.Generator().manual_seed(31)
        with torch.no_grad():
            w1 = torch.randn(4, 1, 3, 3, generator=g) * 0.3
            w1[0] = 1.0 / 9.0
            self.enc1.weight.copy_(w1)
            self.enc1.bias.copy_(torch.tensor([0.0, 0.1, -0.1, 0.05]))
            w2 = torch.randn(8, 4, 3, 3, generator=g) * 0.1
            w2[0] = 0.0
            w2[0, 0] = 1.0 / 9.0
            self.enc2.weight.copy_(w2)
            self.enc2.bias.copy_(torch.randn(8, generator=g) * 0.05)
            self.enc2.bias[0] = 0.0
            wh = torch.randn(1, 12, 1, 1, generator=g) * 0.05
            wh[0, 0] = 7.2   # upsampled deep brightness
            wh[0, 8] = 4.8   # skip: enc1 brightness
            self.head.weight.copy_(wh)
            self.head.bias.fill_(-5.4)  # 12 * 0.45

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = F.relu(self.enc1(x))
        e2 = F.relu(self.enc2(F.max_pool2d(e1, 2)))
        up = F.interpolate(e2, size=[e1.shape[2], e1.shape[3]], mode="nearest")
        return self.head(torch.cat([up, e1], 1))


def _unet_block(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class _UNetUp(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(c * 2, c, 2, stride=2)
        self.block = _unet_block(c * 2, c)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(torch.cat([self.up(x), skip], 1))


class BenchUNet(nn.Module):
    """A standard 4-level U-Net (two 3x3 conv + BatchNorm + ReLU per level, 16-32-64-128
    channels, bottleneck 256, max-pool down, transposed-conv up, skip concatenations),
    gray in, [N,1,H,W] logits out. Seeded random weights, not trained: it exists so that
    `infera bench job` measures the cost of a real U-Net at 512x512 (~1.9 M parameters,
    about 10 GFLOP per image)."""

    def __init__(self, base: int = 16):
        super().__init__()
        ch = [base, base * 2, base * 4, base * 8]
        self.downs = nn.ModuleList([_unet_block(1, ch[0]), _unet_block(ch[0], ch[1]),
                                    _unet_block(ch[1], ch[2]), _unet_block(ch[2], ch[3])])
        self.bottom = _unet_block(ch[3], ch[3] * 2)
        self.ups = nn.ModuleList([_UNetUp(c) for c in reversed(ch)])
        self.head = nn.Conv2d(ch[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips: List[torch.Tensor] = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for i, up in enumerate(self.ups):
            x = up(x, skips[len(skips) - 1 - i])
        return self.head(x)


class TinyMulticlass(nn.Module):
    """[N,3,H,W] ImageNet-normalised RGB -> [N,3,H,W] logits: background, red, green.

    A 1x1 conv undoes the normalisation and scores "redness" 10 * (r - (g + b) / 2 - 0.25)
    and "greenness" 10 * (g - (r + b) / 2 - 0.25) against a background score of 0; a
    depthwise 3x3 box blur smooths the scores.
    """

    def __init__(self):
        super().__init__()
        self.color = nn.Conv2d(3, 3, 1)
        self.smooth = nn.Conv2d(3, 3, 3, padding=1, groups=3, bias=False)
        k = 10.0
        m = IMAGENET_MEAN
        sd = IMAGENET_STD
        with torch.no_grad():
            w = torch.zeros(3, 3, 1, 1)
            b = torch.zeros(3)
            for out_c, (main, o1, o2) in ((1, (0, 1, 2)), (2, (1, 0, 2))):
                w[out_c, main, 0, 0] = k * sd[main]
                w[out_c, o1, 0, 0] = -0.5 * k * sd[o1]
                w[out_c, o2, 0, 0] = -0.5 * k * sd[o2]
                b[out_c] = k * (m[main] - 0.5 * m[o1] - 0.5 * m[o2] - 0.25)
            self.color.weight.copy_(w)
            self.color.bias.copy_(b)
            self.smooth.weight.fill_(1.0 / 9.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.smooth(self.color(x))


class TinyTiff(nn.Module):
    """[N,2,H,W] percentile-normalised (nuclei, cytoplasm) -> [N,1,H,W] probabilities.

    Fully convolutional (any H, W). Channel 0 and 1 of the 3x3 layer are box blurs of the
    two inputs; the head scores 8 * (0.7 * nuclei + 0.3 * cytoplasm - 0.35) plus small
    seeded random contributions, and the model applies the sigmoid itself, so the runner
    is called with output_is_probability.
    """

    def __init__(self):
        super().__init__()
        self.mix = nn.Conv2d(2, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 1, 1)
        g = torch.Generator().manual_seed(37)
        with torch.no_grad():
            w = torch.randn(4, 2, 3, 3, generator=g) * 0.1
            w[0] = 0.0
            w[1] = 0.0
            w[0, 0] = 1.0 / 9.0
            w[1, 1] = 1.0 / 9.0
            self.mix.weight.copy_(w)
            self.mix.bias.copy_(torch.tensor([0.0, 0.0, 0.05, -0.05]))
            self.head.weight.copy_(torch.tensor([5.6, 2.4, 0.07, -0.04]).view(1, 4, 1, 1))
            self.head.bias.fill_(-2.8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.head(F.relu(self.mix(x))))


def _soft_disk(h: int, w: int, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.sqrt((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2)
    return np.clip(r - d + 0.5, 0.0, 1.0)


def blobs_image() -> np.ndarray:
    """80x60 (W x H) 8-bit gray: four bright soft blobs on a dark noisy background."""
    rng = np.random.RandomState(7)
    h, w = 60, 80
    img = np.full((h, w), 30.0)
    for cx, cy, r, v in ((18, 16, 9, 210), (55, 20, 12, 180), (30, 45, 7, 230),
                         (66, 47, 6, 170)):
        a = _soft_disk(h, w, cx, cy, r)
        img = img * (1 - a) + v * a
    img += rng.normal(0, 6, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def rgb_regions_image() -> np.ndarray:
    """96x72 (W x H) RGB: a red disk, a green rectangle and a blue square (background for
    tiny_multiclass) on a dark slate background."""
    rng = np.random.RandomState(8)
    h, w = 72, 96
    img = np.empty((h, w, 3))
    img[:] = (40, 45, 60)
    a = _soft_disk(h, w, 28, 32, 16)[..., None]
    img = img * (1 - a) + np.array([210, 40, 40]) * a
    img[10:40, 55:88] = (40, 190, 60)
    img[48:68, 60:82] = (50, 60, 200)
    img += rng.normal(0, 5, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def cells_image(seed: int, w: int, h: int, n_cells: int) -> np.ndarray:
    """HxWx2 uint16 fluorescence-like image: channel 0 nuclei (bright, compact), channel 1
    cytoplasm (dimmer, wider), camera offset and noise."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    nuc = np.full((h, w), 1200.0)
    cyto = np.full((h, w), 800.0)
    for _ in range(n_cells):
        cx, cy = rng.uniform(6, w - 6), rng.uniform(6, h - 6)
        d2 = (xx - cx) ** 2 + (yy - cy) ** 2
        nuc += rng.uniform(8000, 20000) * np.exp(-d2 / (2 * rng.uniform(2.0, 3.5) ** 2))
        cyto += rng.uniform(2000, 4000) * np.exp(-d2 / (2 * rng.uniform(5.0, 7.0) ** 2))
    nuc += rng.normal(0, 40, size=nuc.shape)
    cyto += rng.normal(0, 30, size=cyto.shape)
    return np.clip(np.rint(np.stack([nuc, cyto], 2)), 0, 65535).astype(np.uint16)


def write_tiff(path: str, pages):
    """Writes HxWxC uint8/uint16 arrays as an uncompressed little-endian TIFF, one page each
    (contiguous samples, one strip; RGB for 3 channels, else MINISBLACK with extra samples).
    PIL cannot write 2-channel 16-bit images; tifffile is not packaged for this Python."""
    import struct
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    prev_next = 4  # where the offset of the next IFD goes
    for page in pages:
        page = np.ascontiguousarray(page)
        h, w, c = page.shape
        bits = page.dtype.itemsize * 8
        data = page.astype(page.dtype.newbyteorder("<")).tobytes()
        data_off = len(out)
        out += data
        if len(out) % 2:
            out += b"\x00"
        rgb = c == 3
        entries = [  # (tag, type, values); type 3 SHORT, 4 LONG
            (256, 4, [w]), (257, 4, [h]), (258, 3, [bits] * c), (259, 3, [1]),
            (262, 3, [2 if rgb else 1]), (273, 4, [data_off]), (277, 3, [c]),
            (278, 4, [h]), (279, 4, [len(data)]), (284, 3, [1]),
        ]
        extra = c - (3 if rgb else 1)
        if extra > 0:
            entries.append((338, 3, [0] * extra))
        entries.append((339, 3, [1] * c))
        ifd_off = len(out)
        struct.pack_into("<I", out, prev_next, ifd_off)
        ifd = bytearray(struct.pack("<H", len(entries)))
        blobs = bytearray()
        blob_base = ifd_off + 2 + 12 * len(entries) + 4
        for tag, typ, values in entries:
            fmt = "<%d%s" % (len(values), "H" if typ == 3 else "I")
            payload = struct.pack(fmt, *values)
            if len(payload) <= 4:
                ifd += struct.pack("<HHI", tag, typ, len(values)) + payload.ljust(4, b"\x00")
            else:
                ifd += struct.pack("<HHII", tag, typ, len(values), blob_base + len(blobs))
                blobs += payload
        prev_next = ifd_off + len(ifd)
        ifd += b"\x00\x00\x00\x00"
        out += ifd + blobs
        if len(out) % 2:
            out += b"\x00"
    with open(path, "wb") as f:
        f.write(bytes(out))


def percentile_normalize(raw: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """HxWxC -> float32 HxWxC, as src/imaging/normalize.h: per channel
    (x - p_low) / (p_high - p_low) with np.percentile in float64, the subtraction and
    division in float32; a flat channel (p_high == p_low) becomes 0."""
    out = np.zeros(raw.shape, np.float32)
    for c in range(raw.shape[2]):
        lo, hi = np.percentile(raw[:, :, c].astype(np.float64), [low, high])
        span = np.float32(hi - lo)
        if hi > lo and span > 0:
            out[:, :, c] = (raw[:, :, c].astype(np.float32) - np.float32(lo)) / span
    return out


def nearest_to(mask: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """[H,W] -> [h,w] with F.interpolate(mode="nearest"), as the runners resize masks back."""
    return F.interpolate(mask[None, None].float(), size=(h, w), mode="nearest")[0, 0]


def make_segmentation(repo: str, images: str, out: str) -> dict:
    """Writes tiny_unet, tiny_multiclass, tiny_tiff, their images and expected_masks.json.
    Returns numbers for the summary line."""
    blobs = blobs_image()
    regions = rgb_regions_image()
    cells = cells_image(9, 72, 56, 7)
    pages = [cells_image(10 + i, 64, 48, 5) for i in range(3)]
    save_png(blobs, os.path.join(images, "blobs.png"))
    save_png(regions, os.path.join(images, "rgb_regions.png"))
    write_tiff(os.path.join(images, "rgb_regions.tif"), [regions])
    write_tiff(os.path.join(images, "cells_2ch.tif"), [cells])
    write_tiff(os.path.join(images, "cells_pages.tif"), pages)

    d = os.path.join(repo, "tiny_unet")
    save_script(TinyUNet(), os.path.join(d, "1", "model.pt"), None)
    write_model_yaml(d, "Tiny U-Net-shaped encoder-decoder with built weights: bright blobs "
                        "are foreground (logits [N,1,H,W]); two instances, so jobs and "
                        "requests on it run two forwards at once",
                     dict(UNET_SPEC), labels=None, runner="binary_sigmoid", instances=2)
    d = os.path.join(repo, "tiny_multiclass")
    save_script(TinyMulticlass(), os.path.join(d, "1", "model.pt"), None)
    write_labels(d, MULTICLASS_LABELS)
    write_model_yaml(d, "Per-pixel background / red / green scores by construction "
                        "(logits [N,3,H,W])", rgb_spec(SEG_SIZE), runner="multiclass_argmax")
    d = os.path.join(repo, "tiny_tiff")
    save_script(TinyTiff(), os.path.join(d, "1", "model.pt"), None)
    write_model_yaml(d, "2-channel (nuclei, cytoplasm) 16-bit TIFF -> [N,1,H,W] probability "
                        "at the source size (its own sigmoid: output_is_probability)",
                     dict(TIFF_SPEC), labels=None, runner="custom_tiff",
                     # Warm-up feeds spec.channels() (1 or 3) channels; this model takes 2.
                     warmup=False,
                     # TinyTiff ends in a sigmoid: serving and training read its output
                     # as probabilities by default (checked below on the test images).
                     params={"output_is_probability": True})

    def load(name):
        m = torch.jit.load(os.path.join(repo, name, "1", "model.pt"), map_location="cpu")
        return m.eval()

    def mask_case(model, runner, image, params, arr, extra):
        """arr: HxW uint8 or uint16 numpy label map at the source size."""
        h, w = arr.shape
        values, counts = np.unique(arr, return_counts=True)
        hist = {str(int(v)): int(n) for v, n in zip(values, counts)}
        if runner == "binary_sigmoid":  # the runner always lists both values
            hist = {"0": hist.get("0", 0), "255": hist.get("255", 0)}
        case = {
            "model": model, "version": 1, "runner": runner, "image": "images/" + image,
            "params": params, "artifact": "class_mask", "width": int(w), "height": int(h),
            "dtype": str(arr.dtype),
            "mask_sha256": hashlib.sha256(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
            .hexdigest(),
            "class_histogram": hist,
            "foreground_fraction": float((arr != 0).sum()) / arr.size,
            "mask": arr.astype(np.int64).tolist(),
        }
        case.update(extra)
        return case

    cases = []
    with torch.no_grad():
        # binary_sigmoid: preprocess -> logits -> sigmoid > 0.5 -> 0/255 -> nearest back.
        unet = load("tiny_unet")
        x = preprocess(load_png(os.path.join(images, "blobs.png")), UNET_SPEC)
        prob = torch.sigmoid(unet(x))[0, 0]
        margin = float((prob - 0.5).abs().min())
        assert margin > 1e-5, "tiny_unet: a probability is within %g of the threshold" % margin
        mask = nearest_to((prob > 0.5).float() * 255, 60, 80).numpy().astype(np.uint8)
        frac = float((mask > 0).mean())
        assert 0.1 < frac < 0.5, "tiny_unet: foreground fraction %.3f" % frac
        cases.append(mask_case("tiny_unet", "binary_sigmoid", "blobs.png", {}, mask,
                               {"model_size": [SEG_SIZE, SEG_SIZE], "min_margin": margin}))

        # multiclass_argmax on the PNG and on the same pixels as an 8-bit RGB TIFF.
        multi = load("tiny_multiclass")
        spec = rgb_spec(SEG_SIZE)
        x = preprocess(load_png(os.path.join(images, "rgb_regions.png")), spec)
        logits = multi(x)[0]
        top2 = logits.topk(2, dim=0).values
        margin = float((top2[0] - top2[1]).min())
        assert margin > 1e-4, "tiny_multiclass: an argmax is within %g of a tie" % margin
        mask = nearest_to(logits.argmax(0), 72, 96).numpy().astype(np.uint8)
        present = set(np.unique(mask).tolist())
        assert present == {0, 1, 2}, "tiny_multiclass finds classes %s" % sorted(present)
        for image in ("rgb_regions.png", "rgb_regions.tif"):
            cases.append(mask_case("tiny_multiclass", "multiclass_argmax", image, {}, mask,
                                   {"model_size": [SEG_SIZE, SEG_SIZE], "min_margin": margin,
                                    "labels": MULTICLASS_LABELS}))

        # custom_tiff: percentile normalisation at the source size, no resize.
        tiffm = load("tiny_tiff")
        for image, arr in (("cells_2ch.tif", cells), ("cells_pages.tif", pages[0])):
            x = torch.from_numpy(percentile_normalize(arr)).permute(2, 0, 1)[None].contiguous()
            prob = tiffm(x)[0, 0]
            assert 0.0 <= float(prob.min()) and float(prob.max()) <= 1.0, \
                "tiny_tiff's output is no probability (its model.yaml says it is)"
            margin = float((prob - 0.5).abs().min())
            assert margin > 1e-5, "tiny_tiff: a probability is within %g of 0.5" % margin
            labels = (prob > 0.5).to(torch.int32).numpy().astype(np.uint16)
            frac = float(labels.mean())
            assert 0.05 < frac < 0.6, "tiny_tiff: foreground fraction %.3f on %s" % (frac, image)
            extra = {"min_margin": margin, "pages": 3 if image == "cells_pages.tif" else 1}
            cases.append(mask_case("tiny_tiff", "custom_tiff", image,
                                   {"output": "labels", "output_is_probability": True},
                                   labels, extra))
            if image == "cells_2ch.tif":
                cases.append({
                    "model": "tiny_tiff", "version": 1, "runner": "custom_tiff",
                    "image": "images/" + image,
                    "params": {"output": "probability", "output_is_probability": True},
                    "artifact": "probability", "width": arr.shape[1], "height": arr.shape[0],
                    "dtype": "float32", "pages": 1,
                    "probability": [[float(v) for v in row] for row in prob.tolist()],
                })

    # Indented header, one compact line per case (the masks are large).
    with open(os.path.join(out, "expected_masks.json"), "w") as f:
        head = json.dumps({
            "generator": "model_tools/make_test_models.py",
            "format": "cases[]: model, version, runner, image, params (runner params), artifact "
                      "(class_mask | probability), width x height (the source size), dtype; "
                      "class_mask: mask (height rows of width labels), mask_sha256 (sha256 of "
                      "the raw row-major samples, uint16 little-endian), class_histogram, "
                      "foreground_fraction, min_margin (smallest |probability - threshold| or "
                      "argmax gap at the model size: how far from a tie the reference is); "
                      "probability: probability (height rows of width float32 values)",
            "preprocessing": {
                "binary_sigmoid/multiclass_argmax": "as expected.json (colour convert, "
                    "interpolate bilinear align_corners=False to the model size, *scale, "
                    "(x-mean)/std) -> model -> sigmoid > 0.5 (0/255) or argmax over classes "
                    "-> F.interpolate(mode='nearest') back to the source size",
                "custom_tiff": "first page; per channel np.percentile(x, [1, 99]) in float64, "
                    "(x - p1) / (p99 - p1) in float32, flat channel -> 0; no resize (size: "
                    "keep) -> model (outputs probabilities) -> > 0.5 for labels",
            },
        }, indent=1)
        f.write(head[:-2] + ',\n "cases": [\n')
        f.write(",\n".join("  " + json.dumps(c, separators=(",", ":")) for c in cases))
        f.write("\n ]\n}\n")
    return {"cases": len(cases)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--demo", action="store_true",
                    help="build the demo repository: no test fixtures, plus unet_bench")
    args = ap.parse_args()

    t_start = time.perf_counter()
    # One intra-op thread: results are then independent of the core count, and training
    # stays fast when the machine is busy (with 2 OpenMP threads on an oversubscribed
    # machine, e.g. next to a parallel C++ build, training ran ~10x slower).
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)

    out = os.path.abspath(args.out_dir)
    repo = os.path.join(out, "repo")
    images = os.path.join(out, "images")
    for d in (repo, images):
        if os.path.isdir(d):
            shutil.rmtree(d)
    os.makedirs(os.path.join(images, "heldout"))
    os.makedirs(repo)

    spec224 = rgb_spec(224)
    spec64 = rgb_spec(TINY_SIZE)

    # ---- images ------------------------------------------------------------------
    rng = np.random.RandomState(42)
    for cls in TINY_CLASSES:
        save_png(synth_image(rng, cls, 80, 72, noise=6.0), os.path.join(images, cls + ".png"))
    save_png(photo_image(), os.path.join(images, "photo.png"))
    save_png(gray_image(), os.path.join(images, "gray.png"))
    rng = np.random.RandomState(4242)
    heldout_labels = {}
    for c, cls in enumerate(TINY_CLASSES):
        for i in range(10):
            w = rng.randint(60, 101)
            h = rng.randint(60, 101)
            name = "%s_%02d.png" % (cls, i)
            save_png(synth_image(rng, cls, w, h), os.path.join(images, "heldout", name))
            heldout_labels[name] = cls
    with open(os.path.join(images, "heldout", "labels.json"), "w") as f:
        json.dump(heldout_labels, f, indent=1, sort_keys=True)
        f.write("\n")

    # ---- tiny_cls --------------------------------------------------------------------
    t0 = time.perf_counter()
    tiny, val_acc = train_tiny(spec64)
    t_train = time.perf_counter() - t0
    tiny.eval()
    n_params = sum(p.numel() for p in tiny.parameters())
    ex64 = torch.zeros(1, 3, TINY_SIZE, TINY_SIZE)

    d = os.path.join(repo, "tiny_cls")
    save_script(tiny, os.path.join(d, "1", "model.pt"), ex64)
    write_labels(d, TINY_CLASSES)
    write_model_yaml(d, "Tiny CNN trained on synthetic 64x64 images: disk, square, stripes",
                     spec64)

    d = os.path.join(repo, "clamp_net")
    torch.manual_seed(11)
    clamp_net = ClampNet().eval()
    with torch.no_grad():
        clamp_net.head.weight.mul_(8.0)  # spread the logits: a wrong graph shows in the top-5
    clamp_sm = save_script(clamp_net, os.path.join(d, "1", "model.pt"), ex64)
    write_labels(d, TINY_CLASSES)
    write_model_yaml(d, "conv/relu6/hardswish net that torch 1.13's optimize_for_inference "
                        "miscomputes: the load-time check must serve it unoptimized", spec64)
    with torch.no_grad():
        probe = torch.randn(2, 3, TINY_SIZE, TINY_SIZE)
        broken = torch.jit.optimize_for_inference(torch.jit.freeze(clamp_sm))
        print("  clamp_net: optimize_for_inference differs from the module by %.3g"
              % (broken(probe) - clamp_sm(probe)).abs().max().item())

    d = os.path.join(repo, "tuple_out")
    save_script(TupleOut(tiny), os.path.join(d, "1", "model.pt"), ex64)
    write_labels(d, TINY_CLASSES)
    write_model_yaml(d, "tiny_cls returning a tuple (logits, features); first output is used",
                     spec64)

    d = os.path.join(repo, "dict_out")
    save_script(DictOut(tiny), os.path.join(d, "1", "model.pt"), ex64)
    write_labels(d, TINY_CLASSES)
    write_model_yaml(d, "tiny_cls returning a dict {features, logits}; outputs picks logits",
                     spec64, outputs=["logits"])

    d = os.path.join(repo, "slow_model")
    slow = SlowModel(tiny, SLOW_DELAY_MS)
    save_script(slow, os.path.join(d, "1", "model.pt"), ex64)
    write_labels(d, TINY_CLASSES)
    write_model_yaml(d, "tiny_cls plus a deliberate 50 ms busy-wait per batch (queue/timeout tests)",
                     spec64, batching={"max_batch_size": 2, "max_queue_delay_ms": 1,
                                       "max_queue_size": 4, "default_timeout_ms": 30000})

    # ---- gray_cls ----------------------------------------------------------------------
    torch.manual_seed(5)
    gray = GrayNet().eval()
    d = os.path.join(repo, "gray_cls")
    save_script(gray, os.path.join(d, "1", "model.pt"), torch.zeros(1, 1, 32, 32))
    write_labels(d, ["gray_a", "gray_b", "gray_c", "gray_d"])
    write_model_yaml(d, "Random 1-channel 32x32 network, 4 classes (gray preprocessing); "
                        "optimize: false (served as written)", dict(GRAY_SPEC), optimize=False)

    # ---- versioned -----------------------------------------------------------------------
    d = os.path.join(repo, "versioned")
    torch.manual_seed(11)
    v1 = TinyCls(num_classes=2).eval()
    torch.manual_seed(13)
    v3 = TinyCls(num_classes=2).eval()
    save_script(v1, os.path.join(d, "1", "model.pt"), ex64)
    save_script(v3, os.path.join(d, "3", "model.pt"), ex64)
    write_labels(d, ["left", "right"])
    write_model_yaml(d, "Two random 2-class nets in versions 1 and 3; 3 must be served", spec64)

    # ---- torchvision models ------------------------------------------------------------
    labels1000, labels_src = imagenet_labels()
    ex224 = torch.zeros(1, 3, 224, 224)
    torch.manual_seed(0)
    mnet = recalibrate_bn(torchvision.models.mobilenet_v2(weights=None), seed=20)
    with torch.no_grad():  # spread the (tiny-std) random head so top-5 has clear gaps
        mnet.classifier[1].weight.mul_(8.0)
    d = os.path.join(repo, "mobilenet_v2")
    save_script(mnet, os.path.join(d, "1", "model.pt"), ex224)
    write_labels(d, labels1000)
    write_model_yaml(d, "torchvision MobileNetV2, random weights (seed 0), ImageNet labels",
                     spec224)
    # The same module (same weights) behind a uint8 NHWC input: the server sends the
    # resized 8-bit samples, the graph converts, permutes and normalises them.
    spec224_u8 = uint8_spec(spec224)
    d = os.path.join(repo, "mobilenet_v2_u8")
    save_script(Uint8Input(mnet, spec224), os.path.join(d, "1", "model.pt"), None)
    write_labels(d, labels1000)
    write_model_yaml(d, "mobilenet_v2's weights behind a uint8 NHWC input: the graph converts, "
                        "permutes and normalises (x/255, ImageNet mean/std) itself",
                     spec224_u8)

    torch.manual_seed(1)
    rnet = recalibrate_bn(torchvision.models.resnet18(weights=None), seed=21)
    d = os.path.join(repo, "resnet18")
    save_script(rnet, os.path.join(d, "1", "model.pt"), ex224)
    write_labels(d, labels1000)
    write_model_yaml(d, "torchvision ResNet-18, random weights (seed 1), ImageNet labels",
                     spec224)

    # ---- reference outputs from the saved (reloaded) TorchScript files --------------------
    def load(name, version="1"):
        m = torch.jit.load(os.path.join(repo, name, version, "model.pt"), map_location="cpu")
        m.eval()
        return m

    def read_labels(name):
        with open(os.path.join(repo, name, "labels.txt")) as f:
            return [l.rstrip("\n") for l in f]

    def first_logits(y, output_name=None):
        if isinstance(y, dict):
            return y[output_name] if output_name else next(iter(y.values()))
        if isinstance(y, (tuple, list)):
            return y[0]
        return y

    loaded = {}
    cases = []
    plan = [
        ("tiny_cls", "1", "disk.png", spec64, None),
        ("tiny_cls", "1", "square.png", spec64, None),
        ("tiny_cls", "1", "stripes.png", spec64, None),
        ("tiny_cls", "1", "photo.png", spec64, None),
        ("tuple_out", "1", "disk.png", spec64, None),
        ("clamp_net", "1", "photo.png", spec64, None),
        ("clamp_net", "1", "stripes.png", spec64, None),
        ("dict_out", "1", "square.png", spec64, "logits"),
        ("gray_cls", "1", "gray.png", GRAY_SPEC, None),
        ("gray_cls", "1", "photo.png", GRAY_SPEC, None),
        ("mobilenet_v2", "1", "photo.png", spec224, None),
        ("resnet18", "1", "photo.png", spec224, None),
        ("versioned", "3", "disk.png", spec64, None),
    ]
    with torch.no_grad():
        for name, version, image, spec, out_name in plan:
            key = (name, version)
            if key not in loaded:
                loaded[key] = load(name, version)
            x = preprocess(load_png(os.path.join(images, image)), spec)
            logits = first_logits(loaded[key](x), out_name)[0]
            probs = torch.softmax(logits, 0)
            labels = read_labels(name)
            k = min(5, probs.numel())
            top = torch.topk(probs, k)
            case = {
                "model": name,
                "version": int(version),
                "image": "images/" + image,
                "logits": [float(v) for v in logits.tolist()],
                "probs": [float(v) for v in probs.tolist()],
                "top5": [{"class_id": int(i), "label": labels[int(i)], "confidence": float(p)}
                         for p, i in zip(top.values.tolist(), top.indices.tolist())],
            }
            assert all(math.isfinite(v) for v in case["logits"]), (name, image)
            cases.append(case)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({
            "generator": "model_tools/make_test_models.py",
            "preprocessing": "PIL -> float32 HWC 0..255 -> color convert (gray->rgb replicate, "
                             "rgb->gray 0.299R+0.587G+0.114B) -> NCHW -> interpolate bilinear "
                             "align_corners=False antialias=False (skipped at target size) -> "
                             "*scale -> (x-mean)/std -> model -> first output / named dict "
                             "entry -> softmax",
            "cases": cases,
        }, f, indent=1)
        f.write("\n")

    # ---- checks ------------------------------------------------------------------------
    tiny_m = loaded[("tiny_cls", "1")]
    with torch.no_grad():
        # Clean examples must be classified correctly.
        for c, cls in enumerate(TINY_CLASSES):
            x = preprocess(load_png(os.path.join(images, cls + ".png")), spec64)
            pred = int(tiny_m(x).argmax(1))
            assert pred == c, "tiny_cls misclassifies %s.png as %s" % (cls, TINY_CLASSES[pred])
        # Held-out PNG set, through the exact server preprocessing.
        correct = 0
        for fname, cls in sorted(heldout_labels.items()):
            x = preprocess(load_png(os.path.join(images, "heldout", fname)), spec64)
            correct += int(int(tiny_m(x).argmax(1)) == TINY_CLASSES.index(cls))
        heldout_acc = correct / len(heldout_labels)
        # Wrappers agree with the plain network.
        x = preprocess(load_png(os.path.join(images, "disk.png")), spec64)
        ref = tiny_m(x)
        tup = load("tuple_out")(x)
        dct = load("dict_out")(x)
        slow_m = load("slow_model")
        slow_m(x)  # first call runs the JIT's profiling pass
        t0 = time.perf_counter()
        slw = slow_m(torch.cat([x, x], 0))
        t_slow = time.perf_counter() - t0
        assert isinstance(tup, tuple) and torch.allclose(tup[0], ref)
        assert isinstance(dct, dict) and torch.allclose(dct["logits"], ref)
        assert torch.allclose(slw[0:1], ref) and slw.shape == (2, 3)
        v1m = load("versioned", "1")
        assert not torch.allclose(v1m(x), loaded[("versioned", "3")](x))
        # mobilenet_v2_u8 is mobilenet_v2: on an image of the input size (no resize, so no
        # rounding of resampled values) its uint8 input gives the float model's outputs.
        u8 = preprocess_uint8(load_png(os.path.join(images, "photo.png")), spec224_u8)
        p_f = torch.softmax(loaded[("mobilenet_v2", "1")](
            preprocess(u8[0].numpy().astype(np.float32), spec224)), 1)
        p_u8 = torch.softmax(load("mobilenet_v2_u8")(u8), 1)
        u8_gap = (p_f - p_u8).abs().max().item()
        assert u8_gap < 1e-5, "mobilenet_v2_u8 differs from mobilenet_v2 by %g" % u8_gap
    assert val_acc >= 0.95, "tiny_cls validation accuracy %.3f < 0.95" % val_acc
    assert heldout_acc >= 0.95, "tiny_cls held-out accuracy %.3f < 0.95" % heldout_acc

    # ---- segmentation models, images, reference masks ------------------------------------
    t0 = time.perf_counter()
    seg = make_segmentation(repo, images, out)
    t_seg = time.perf_counter() - t0

    # ---- the Cellpose-style model (model_tools/train_cellpose.py: ~45 s of training) ----------
    from train_cellpose import export_traced, make_cellpose_model  # noqa: E402 (beside this script)
    cp = make_cellpose_model(repo, images, out)
    export_traced(repo)

    # ---- the benchmark U-Net (demo repository only: `make bench-job`) ------------------
    if args.demo:
        torch.manual_seed(5)
        bench_unet = BenchUNet().eval()
        d = os.path.join(repo, "unet_bench")
        save_script(bench_unet, os.path.join(d, "1", "model.pt"), None)
        write_model_yaml(d, "Standard 4-level U-Net (16-256 channels), seeded random weights: "
                            "for `infera bench job` at 512x512, not for real masks",
                         {"color": "gray", "size": [512, 512], "interpolation": "bilinear",
                          "scale": 1.0 / 255.0, "mean": [0.5], "std": [0.25], "layout": "NCHW",
                          "dtype": "float32"},
                         labels=None, runner="binary_sigmoid", instances=2,
                         batching={"max_batch_size": 4, "max_queue_delay_ms": 2,
                                   "max_queue_size": 256, "default_timeout_ms": 120000})

    # ---- configs -----------------------------------------------------------------------
    with open(os.path.join(out, "config.yaml"), "w") as f:
        f.write("# Generated by model_tools/make_test_models.py\n"
                "server: {host: 127.0.0.1, port: 8080}\n"
                "model_repository: repo\n")
    with open(os.path.join(out, "seed_config.yaml"), "w") as f:
        f.write("# Generated by model_tools/make_test_models.py (the seed's list form)\n"
                "server: {host: 127.0.0.1, port: 8080}\n"
                "models:\n"
                "  - {name: mobilenet_v2, path: repo/mobilenet_v2/1/model.pt, batch_size: 16, "
                "batch_timeout_ms: 5}\n")

    # ---- the demo repository: what is worth showing, not the test fixtures -------------
    # (They are made all the same: the checks and references above use them.)
    if args.demo:
        for name in FIXTURES:
            shutil.rmtree(os.path.join(repo, name))
        for name in TEST_ONLY_FILES:
            os.remove(os.path.join(out, name))

    # ---- summary -----------------------------------------------------------------------
    print("make_test_models: wrote %s%s" % (out, " (demo)" if args.demo else ""))
    print("  tiny_cls: %d params, trained in %.1f s, val acc %.3f, held-out PNG acc %.3f"
          % (n_params, t_train, val_acc, heldout_acc))
    print("  slow_model: %d ms busy-wait per batch; measured %.0f ms for a batch of 2"
          % (SLOW_DELAY_MS, t_slow * 1000))
    print("  ImageNet labels from: %s" % labels_src)
    print("  mobilenet_v2_u8 vs mobilenet_v2 at 224x224: max probability difference %.2g"
          % u8_gap)
    for name in sorted(os.listdir(repo)):
        versions = sorted(v for v in os.listdir(os.path.join(repo, name))
                          if os.path.isdir(os.path.join(repo, name, v)))
        print("  repo/%-13s versions %s" % (name, ",".join(versions)))
    if not args.demo:
        print("  expected.json: %d cases; expected_masks.json: %d segmentation cases (%.1f s)"
              % (len(cases), seg["cases"], t_seg))
    print("  images: %d + %d held-out"
          % (len([n for n in os.listdir(images) if n.endswith(".png")]), len(heldout_labels)))
    print("  cellpose_tiny: held-out AP@0.5 %.3f on %d images, trained in %.1f s"
          % (cp["ap50"], cp["images"], cp["train_s"]))
    print("  total %.1f s" % (time.perf_counter() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
