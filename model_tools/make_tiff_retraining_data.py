#!/usr/bin/python3
"""Data for the custom_tiff retraining quality test (tests/integration/
training_quality_test.cc, CustomTiff case).

Trains a small U-Net with PyTorch for the custom_tiff runner: 2-channel 16-bit TIFF
input, percentile-normalised per channel as the runner does (src/imaging/normalize.h:
1st/99th percentiles, not clipped), at the source size (64x64) -> [N,1,64,64]
probabilities (the sigmoid is inside the model; model.yaml says output_is_probability).
Kind A, what it learns from: fluorescence — bright nuclei (channel 0) with a dim halo
(channel 1) on a dark camera offset. Writes it as version 1 of OUT/repo/tiff_unet
(model.yaml + 1/model.pt, scripted, as written). Then writes images of kind B, which the
model has never seen — transmitted light: the objects dark on a bright, striped, unevenly
lit background in channel 0 and only noise in channel 1 — as 2-channel 16-bit TIFFs
with their masks (8-bit PNG, 0 background, 255 object): OUT/train/{images,masks}/ (8
images, what `infera train` gets) and OUT/heldout/{images,masks}/ (8 others, what the
test scores on). Everything is seeded; it takes a few seconds. Run with Debian's
python3-torch:
  /usr/bin/python3 model_tools/make_tiff_retraining_data.py OUT
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_training_quality_data import blobs, save_png  # noqa: E402
from train_cellpose import write_tiff  # noqa: E402

SIZE = 64


class TiffUNet(nn.Module):
    """[N,2,H,W] normalised channels -> [N,1,H,W] probabilities (sigmoid inside)."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(8, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        return torch.sigmoid(self.head(self.dec(torch.cat([self.up(e2), e1], dim=1))))


def normalize(img: np.ndarray) -> np.ndarray:
    """HxWxC uint16 -> CxHxW float32 as src/imaging/normalize.h (1st and 99th percentiles in
    float64, the arithmetic in float32, a flat channel 0)."""
    out = np.zeros((img.shape[2],) + img.shape[:2], np.float32)
    for c in range(img.shape[2]):
        lo, hi = np.percentile(img[..., c].astype(np.float64), [1.0, 99.0])
        if hi > lo:
            out[c] = (img[..., c].astype(np.float32) - np.float32(lo)) / np.float32(hi - lo)
    return out


def halo(mask: np.ndarray) -> np.ndarray:
    """A soft ring around the objects: the mask blurred wide, minus itself."""
    m = torch.tensor(mask, dtype=torch.float32)[None, None]
    wide = F.avg_pool2d(F.pad(m, (4, 4, 4, 4), mode="replicate"), 9, stride=1)[0, 0].numpy()
    return np.clip(wide - mask, 0, 1)


def kind_a(rng):
    """Fluorescence: nuclei 6000-20000 on an offset of ~800 (channel 0), a dim halo around
    them (channel 1), camera noise."""
    mask = blobs(rng)
    nuc = np.where(mask, rng.uniform(6000, 20000), 800.0) + rng.normal(0, 60, (SIZE, SIZE))
    ring = 500.0 + rng.uniform(1500, 3000) * halo(mask) + rng.normal(0, 40, (SIZE, SIZE))
    img = np.stack([nuc, ring], 2)
    return np.clip(np.rint(img), 0, 65535).astype(np.uint16), mask


def kind_b(rng):
    """Transmitted light: dark objects (~9000) on a bright background (~30000) with stripes
    and a ramp of uneven illumination (channel 0); noise only in channel 1."""
    mask = blobs(rng)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    angle = rng.uniform(0, np.pi)
    stripes = 4000 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) / rng.uniform(2, 4))
    ramp = 0.75 + 0.5 * (xx + yy) / (2 * SIZE)
    background = (rng.uniform(26000, 34000) + stripes) * ramp
    ch0 = np.where(mask, rng.uniform(7000, 11000), background) + rng.normal(0, 1500, (SIZE, SIZE))
    ch1 = 1000 + rng.normal(0, 50, (SIZE, SIZE))
    img = np.stack([ch0, ch1], 2)
    return np.clip(np.rint(img), 0, 65535).astype(np.uint16), mask


def main():
    out = sys.argv[1]
    torch.set_num_threads(1)
    torch.manual_seed(5)
    rng = np.random.RandomState(13)
    data = [kind_a(rng) for _ in range(48)]
    x = torch.tensor(np.stack([normalize(d[0]) for d in data]))
    y = torch.tensor(np.stack([d[1] for d in data]), dtype=torch.float32)[:, None]
    net = TiffUNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for step in range(60):
        idx = torch.randint(0, len(data), (8,))
        loss = F.binary_cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    folder = os.path.join(out, "repo", "tiff_unet")
    os.makedirs(os.path.join(folder, "1"), exist_ok=True)
    net.eval()
    torch.jit.script(net).save(os.path.join(folder, "1", "model.pt"))
    with open(os.path.join(folder, "model.yaml"), "w") as f:
        f.write("# Generated by model_tools/make_tiff_retraining_data.py\n"
                "backend: torchscript\nrunner: custom_tiff\n"
                "description: small U-Net on 2-channel 16-bit fluorescence (bright nuclei), "
                "probabilities out\n"
                "input: {size: keep, interpolation: bilinear, layout: NCHW, dtype: float32}\n"
                "params: {output: labels, output_is_probability: true}\n"
                "batching: {max_batch_size: 4, max_queue_delay_ms: 1}\n"
                "instances: {count: 1, device: cpu}\n"
                "warmup: false\n")
    rng_b = np.random.RandomState(29)
    for split in ("train", "heldout"):
        for sub in ("images", "masks"):
            os.makedirs(os.path.join(out, split, sub), exist_ok=True)
        for i in range(8):
            img, mask = kind_b(rng_b)
            write_tiff(os.path.join(out, split, "images", f"t{i:02d}.tif"), img)
            save_png(os.path.join(out, split, "masks", f"t{i:02d}.png"),
                     (mask * 255).astype(np.uint8))
    print(f"tiff retraining data: ok (kind A training loss {loss.item():.4f})")


if __name__ == "__main__":
    main()
