#!/usr/bin/python3
"""Generates the TorchScript test/demo model repository, test images and reference outputs.

Usage:  /usr/bin/python3 models/make_test_models.py OUT_DIR [--demo]

Run it with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14, numpy, PIL, yaml).
Needs no network and no pretrained weights. Deterministic and idempotent: OUT_DIR/repo and
OUT_DIR/images are deleted and rebuilt on every run; other files in OUT_DIR are overwritten.

Writes:
  OUT_DIR/repo/NAME/model.yaml, NAME/<version>/model.pt, NAME/labels.txt
      mobilenet_v2  torchvision MobileNetV2, random init (seed 0), 1000 classes, 224x224
      resnet18      torchvision ResNet-18, random init (seed 1), 1000 classes, 224x224
                    (both with BatchNorm stats recalibrated on random images so their
                    logits are well spread; labels are the ImageNet class names)
      tiny_cls      tiny CNN trained on synthetic 64x64 images: disk / square / stripes
      tuple_out     tiny_cls returning (logits, features); the server uses the first output
      dict_out      tiny_cls returning {"features": ..., "logits": ...}; model.yaml says
                    outputs: [logits]
      gray_cls      random 1-channel 32x32 net, 4 classes (gray preprocessing)
      slow_model    tiny_cls plus a 50 ms busy-wait per forward call (per batch);
                    max_batch_size 2, max_queue_size 4, max_queue_delay_ms 1
      versioned     two different random 2-class nets in versions 1/ and 3/; the server
                    must serve 3 (the highest)
  OUT_DIR/images/{disk,square,stripes}.png  80x72 (W x H) RGB, one clean example per class
  OUT_DIR/images/photo.png                  300x200 (W x H) smooth RGB pattern
  OUT_DIR/images/gray.png                   50x40 (W x H) 8-bit grayscale
  OUT_DIR/images/heldout/*.png + labels.json  30 tiny_cls images (10 per class, 60..100 px)
  OUT_DIR/expected.json   reference logits/probs/top5 computed by PyTorch with the server's
                          preprocessing (see preprocess() below)
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
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from typing import Dict, Tuple  # noqa: E402

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
                     labels: str = "labels.txt", batching: dict = None):
    d = {
        "backend": "torchscript",
        "runner": "classify",
        "description": description,
        "input": input_spec,
    }
    if outputs is not None:
        d["outputs"] = list(outputs)
    if labels is not None:
        d["labels"] = labels
    d["batching"] = batching or {"max_batch_size": 8, "max_queue_delay_ms": 2,
                                 "max_queue_size": 256, "default_timeout_ms": 30000}
    d["instances"] = {"count": 1, "device": "cpu"}
    d["warmup"] = True
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.yaml"), "w") as f:
        f.write("# Generated by models/make_test_models.py\n")
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--demo", action="store_true",
                    help="build the demo repository (same content; also writes config.yaml)")
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
    write_model_yaml(d, "Random 1-channel 32x32 network, 4 classes (gray preprocessing)",
                     dict(GRAY_SPEC))

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
            "generator": "models/make_test_models.py",
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
    assert val_acc >= 0.95, "tiny_cls validation accuracy %.3f < 0.95" % val_acc
    assert heldout_acc >= 0.95, "tiny_cls held-out accuracy %.3f < 0.95" % heldout_acc

    # ---- configs -----------------------------------------------------------------------
    with open(os.path.join(out, "config.yaml"), "w") as f:
        f.write("# Generated by models/make_test_models.py\n"
                "server: {host: 127.0.0.1, port: 8080}\n"
                "model_repository: repo\n")
    with open(os.path.join(out, "seed_config.yaml"), "w") as f:
        f.write("# Generated by models/make_test_models.py (the seed's list form)\n"
                "server: {host: 127.0.0.1, port: 8080}\n"
                "models:\n"
                "  - {name: mobilenet_v2, path: repo/mobilenet_v2/1/model.pt, batch_size: 16, "
                "batch_timeout_ms: 5}\n")

    # ---- summary -----------------------------------------------------------------------
    print("make_test_models: wrote %s%s" % (out, " (demo)" if args.demo else ""))
    print("  tiny_cls: %d params, trained in %.1f s, val acc %.3f, held-out PNG acc %.3f"
          % (n_params, t_train, val_acc, heldout_acc))
    print("  slow_model: %d ms busy-wait per batch; measured %.0f ms for a batch of 2"
          % (SLOW_DELAY_MS, t_slow * 1000))
    print("  ImageNet labels from: %s" % labels_src)
    for name in sorted(os.listdir(repo)):
        versions = sorted(v for v in os.listdir(os.path.join(repo, name))
                          if os.path.isdir(os.path.join(repo, name, v)))
        print("  repo/%-13s versions %s" % (name, ",".join(versions)))
    print("  expected.json: %d cases; images: %d + %d held-out"
          % (len(cases), len([n for n in os.listdir(images) if n.endswith(".png")]),
             len(heldout_labels)))
    print("  total %.1f s" % (time.perf_counter() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
