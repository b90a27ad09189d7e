"""The small U-Net, its training loop and the blob images that the retraining tests' data
scripts share: model_tools/make_training_quality_data.py (blobs_unet),
model_tools/make_tiff_retraining_data.py (tiff_unet) and
tests/training/parity/make_parity_data.py (the trainer parity test's U-Net).

Import it after putting model_tools/ on sys.path. Run with Debian's /usr/bin/python3
(python3-torch). Nothing here seeds anything: the callers seed torch and numpy, and the
order in which they build, draw and train is what makes their output reproducible.
"""
import os
import struct
import zlib
from typing import Callable, List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def _level(cin: int, cout: int, convs: int, batch_norm: bool) -> nn.Sequential:
    """`convs` 3x3 convolutions (padding 1), each followed by a ReLU (with batch_norm, by a
    BatchNorm2d and then the ReLU)."""
    layers: List[nn.Module] = []
    for i in range(convs):
        layers.append(nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class TinyUNet(nn.Module):
    """[N,in_channels,H,W] -> [N,1,H,W] logits, H and W even: two levels (8 and 16
    channels, `convs_per_level` convolutions each), one 2x2 max-pool, a transposed
    convolution up, one skip connection, a 1x1 head.

    first_level_batch_norm puts a BatchNorm2d after each convolution of the first level
    (the parity test's U-Net has one, so that the C++ trainer's BatchNorm is checked).
    Its parameters are created in a fixed order (enc1, enc2, up, dec, head), so that a
    seeded torch gives the same initial weights every time.
    """

    def __init__(self, in_channels: int = 1, convs_per_level: int = 2,
                 first_level_batch_norm: bool = False):
        super().__init__()
        self.enc1 = _level(in_channels, 8, convs_per_level, first_level_batch_norm)
        self.enc2 = _level(8, 16, convs_per_level, False)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(8, 1, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        return self.head(self.dec(torch.cat([self.up(e2), e1], dim=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


class TinyUNetProbabilities(TinyUNet):
    """TinyUNet with the sigmoid inside: [N,1,H,W] probabilities (for a model.yaml that
    says output_is_probability)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


def train_adam(net: nn.Module, x: torch.Tensor, y: torch.Tensor,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               steps: int = 60, batch: int = 8, lr: float = 1e-2) -> float:
    """Trains `net` in place with Adam: `steps` steps, each on `batch` samples of (x, y)
    drawn with replacement by torch.randint (torch's global generator). Returns the last
    step's loss."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,))
        loss = loss_fn(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.item()


def save_model(folder: str, net: nn.Module, model_yaml: str) -> None:
    """Writes `net` in eval mode, scripted, as version 1 of the model at `folder`
    (folder/1/model.pt) and `model_yaml` as folder/model.yaml."""
    os.makedirs(os.path.join(folder, "1"), exist_ok=True)
    net.eval()
    torch.jit.script(net).save(os.path.join(folder, "1", "model.pt"))
    with open(os.path.join(folder, "model.yaml"), "w") as f:
        f.write(model_yaml)


def blobs(rng: np.random.RandomState, size: int = 64) -> np.ndarray:
    """A size x size 0/1 mask of 2-4 discs of radius 5-10."""
    yy, xx = np.mgrid[0:size, 0:size]
    mask = np.zeros((size, size), bool)
    for _ in range(rng.randint(2, 5)):
        r = rng.uniform(5, 10)
        cy, cx = rng.uniform(r, size - r, size=2)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return mask


def save_png(path: str, arr: np.ndarray) -> None:
    """An HxW uint8 array as an 8-bit grayscale PNG."""
    h, w = arr.shape
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def write_splits(out: str, rng: np.random.RandomState,
                 make: Callable[[np.random.RandomState], tuple],
                 write_image: Callable[[str, np.ndarray], None], stem: str,
                 image_ext: str) -> None:
    """Writes out/train/{images,masks}/ (what `infera train` gets) and
    out/heldout/{images,masks}/ (what a test scores on), 8 samples each, in that order:
    make(rng) -> (image, 0/1 mask); the image with write_image as
    {stem}{i:02d}{image_ext}, the mask as the 8-bit PNG {stem}{i:02d}.png (0 background,
    255 object)."""
    for split in ("train", "heldout"):
        for sub in ("images", "masks"):
            os.makedirs(os.path.join(out, split, sub), exist_ok=True)
        for i in range(8):
            img, mask = make(rng)
            write_image(os.path.join(out, split, "images", f"{stem}{i:02d}{image_ext}"), img)
            save_png(os.path.join(out, split, "masks", f"{stem}{i:02d}.png"),
                     (mask * 255).astype(np.uint8))
