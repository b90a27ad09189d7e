#!/usr/bin/python3
"""Trains `cellpose_tiny`, a small Cellpose-style network, on synthetic cells and exports it
as TorchScript for infera's `cellpose` runner, with held-out test images and the AP it reaches.

Usage:  /usr/bin/python3 model_tools/train_cellpose.py OUT_DIR
        (writes OUT_DIR/repo/cellpose_tiny and its traced exports, OUT_DIR/images/cells,
        OUT_DIR/cellpose_expected.json)
   or, from make_test_models.py:  make_cellpose_model(repo_dir, images_dir, out_dir) -> dict,
        then export_traced(repo_dir) (no training: reads cellpose_tiny's weights)

Run it with Debian's /usr/bin/python3 (torch 1.13, numpy, PIL, yaml); no network, no
pretrained weights, no scipy. Deterministic: fixed numpy/torch seeds, one torch thread,
PYTHONHASHSEED pinned (re-exec) when run standalone. About 70-90 s on one core
(training ~60 s of it).

What it does
  1. Synthetic fluorescence images (2 channels, uint16): random ellipses (radii 6..14 px),
     some touching, some isolated, with an instance label map. Channel 0 = cytoplasm (cell
     bodies, textured, dimmer towards the edge), channel 1 = nucleus (a smaller blob in each
     cell); background offset, shot and read noise, values up to ~4000. Every other
     training image is "realistic": uneven illumination (a smooth field up to the cells'
     brightness), background grain, stronger texture inside cells, some with bright rims
     — so that real gray images (coins.png, cell.png) segment plausibly. Every third
     training image is fed as Cellpose's channels [0, 0] on a gray image gives it:
     [the cyto channel, zeros].
  2. Targets as Cellpose (reference B5, v3 CPU semantics): heat diffusion from the pixel
     nearest each mask's mean, n = 2 * (box h + box w + 4) Jacobi steps per mask, 3x3
     neighbours in other masks/background count 0 with divisor 9, central differences,
     unit length; the network learns 5 x flows, plus cell probability = mask > 0.
  3. A small U-Net (2 poolings, 16-32-64 channels, BatchNorm), trained with Adam on random
     64x64 crops of 72 images with flips/transposes; loss MSE(flows)/2 +
     BCE-with-logits(cellprob).
  4. Evaluation as the runner does it: normalize99 per channel, zero padding and 128x128
     tiles blended with Cellpose's taper, then Cellpose's mask reconstruction (flow
     following, histogram clustering, flow QC 0.4, min_size 15) in numpy; AP at IoU 0.5 on
     held-out images. Asserted >= 0.85 (the C++ integration test requires >= 0.8).
  5. export_traced: cellpose_tiny's weights in a network shaped like Cellpose's CPnet
     (returning (flows, [feature maps], style)), exported by the recipe below:
     cellpose_traced (no `outputs:`) and cellpose_traced_flows_second (([feature maps],
     flows, style) with `outputs: {flows: 1, style: 2}`). Their flows equal cellpose_tiny's.
  6. Copies two real images from Debian's python3-skimage (images/real/coins.png: 24
     coins; cell.png: one cell) for the test that the model gives plausible counts on
     data no one synthesised.

Model contract (model.yaml: runner cellpose, input color gray = 2 model channels, 128x128)
  input  FP32 [N, C, H, W], C = 2 ([cyto, nucleus], each normalize99'd:
         (x - p1) / (p99 - p1), not clipped) or C = 3 (the pair and a zero channel: only the
         first two are used); H, W multiples of 4.
  output FP32 [N, 3, H, W] = (dY, dX, cellprob logit), flows = 5 x unit flows.
  Call the runner with channels [1, 2] on the 2-channel TIFFs (cyto = channel 1, nucleus =
  channel 2 in Cellpose's 1-based numbering); the default [0, 0] would average them.

Exporting your own Cellpose (v2/v3) model for infera
  The Cellpose network (cellpose.resnet_torch.CPnet) takes [N, 2, H, W] (v3 cyto/nuclei
  models; normalize99'd [cyto, nucleus]) and returns a tuple whose first element is the
  [N, 3, H, W] (dY, dX, cellprob) map, followed by the style vector and a list of feature
  maps. infera serves a tuple's tensor elements in order (the runner reads the first) and
  skips elements that are not tensors (the list), so model.yaml needs no `outputs:` line.
  (A network whose flows are not its first element says where they are, by position:
  `outputs: {flows: 1}`.) So:

      from cellpose import models
      net = models.CellposeModel(model_type="cyto3").net.eval().cpu()   # or your own
      example = torch.zeros(1, 2, 224, 224)
      traced = torch.jit.trace(net, example, check_trace=False)
      traced.save("repo/my_cyto/1/model.pt")

  and repo/my_cyto/model.yaml:

      backend: torchscript
      runner: cellpose
      input: {color: gray, size: [224, 224], layout: NCHW, dtype: float32}

  (color gray tells the runner the model takes 2 channels, and warm-up feeds it 2-channel
  tiles; size is the square tile the network is fed, 224 for Cellpose v3, 256 for v4.)
  Trace on the CPU with the torch version the server links (1.13 here). Then call the runner
  with channels [cyto, nucleus] as in Cellpose and diameter / diam_mean (30 for cyto, 17 for
  nuclei) as you would in Cellpose.
"""

import os
import sys

# TorchScript serialises module constants in set-iteration order, which depends on Python's
# string-hash seed; pin it (re-executing before the heavy imports) so model.pt is
# byte-for-byte reproducible.
if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import json  # noqa: E402
import math  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402
from typing import List, Tuple  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

MODEL_NAME = "cellpose_tiny"
TILE = 128                 # the model.yaml input size: the runner's tile
CROP = 64                  # training crop
TRAIN_ITERS = 360
BATCH = 8
AP_REQUIRED = 0.85
MODEL_SPEC = {"color": "gray", "size": [TILE, TILE], "interpolation": "bilinear",
              "layout": "NCHW", "dtype": "float32"}


# --------------------------------------------------------------------------------------
# Synthetic cells
# --------------------------------------------------------------------------------------

def _gauss_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (reflect padding) of an HxW float array, via torch."""
    r = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k = torch.from_numpy(k / k.sum())
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))[None, None]
    t = F.pad(t, (r, r, r, r), mode="reflect")
    t = F.conv2d(t, k.view(1, 1, 1, -1))
    t = F.conv2d(t, k.view(1, 1, -1, 1))
    return t[0, 0].numpy()


def _components_keep_largest(lab: np.ndarray) -> np.ndarray:
    """Keeps each label's largest 4-connected component (label-aware min propagation)."""
    h, w = lab.shape
    big = h * w + 1
    ids = np.where(lab > 0, np.arange(h * w).reshape(h, w), big)
    while True:
        p = np.pad(ids, 1, constant_values=big)
        lp = np.pad(lab, 1)
        new = ids.copy()
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            nb = p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
            same = lp[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] == lab
            new = np.where(same & (lab > 0), np.minimum(new, nb), new)
        if np.array_equal(new, ids):
            break
        ids = new
    out = lab.copy()
    fg = lab > 0
    comp, inv, counts = np.unique(ids[fg], return_inverse=True, return_counts=True)
    comp_lab = np.zeros(len(comp), np.int64)
    comp_lab[inv] = lab[fg]
    # For each label the component with the most pixels (first on ties).
    order = np.lexsort((-counts, comp_lab))
    first = np.ones(len(order), bool)
    first[1:] = comp_lab[order][1:] != comp_lab[order][:-1]
    keep = np.zeros(len(comp), bool)
    keep[order[first]] = True
    out[fg] = np.where(keep[inv], lab[fg], 0)
    return out


def _relabel(lab: np.ndarray) -> np.ndarray:
    """Labels 1..N in order of first appearance (row-major); 0 stays 0."""
    flat = lab.ravel()
    vals, first = np.unique(flat, return_index=True)
    order = np.argsort(first, kind="stable")
    new = np.zeros(int(vals.max()) + 1 if len(vals) else 1, np.int64)
    n = 0
    for v in vals[order]:
        if v != 0:
            n += 1
            new[v] = n
    return new[lab]


def synth_cells(rng: np.random.RandomState, h: int, w: int,
                realistic: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Returns (image HxWx2 uint16 [cyto, nucleus], labels HxW uint16 1..N)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    density = rng.uniform(0.35, 0.75)          # fraction of the area the cells aim to cover
    touch = rng.uniform(0.6, 0.9)              # centre distance factor: < 1 lets cells touch
    target = density * h * w
    cells = []
    area = 0.0
    for _ in range(400):
        if area >= target:
            break
        a = rng.uniform(7.0, 14.0)
        b = a * rng.uniform(0.6, 1.0)
        b = max(b, 6.0)
        cy, cx = rng.uniform(-4, h + 4), rng.uniform(-4, w + 4)
        r = 0.5 * (a + b)
        if any((cy - c[0]) ** 2 + (cx - c[1]) ** 2 < (touch * (r + c[4])) ** 2 for c in cells):
            continue
        cells.append((cy, cx, a, b, r, rng.uniform(0, math.pi)))
        area += math.pi * a * b
    best = np.full((h, w), np.inf)
    lab = np.zeros((h, w), np.int64)
    dist = []
    for k, (cy, cx, a, b, r, th) in enumerate(cells, 1):
        u = (xx - cx) * math.cos(th) + (yy - cy) * math.sin(th)
        v = -(xx - cx) * math.sin(th) + (yy - cy) * math.cos(th)
        d = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        dist.append(d)
        take = (d < 1.0) & (d < best)
        best[take] = d[take]
        lab[take] = k
    lab = _components_keep_largest(lab)
    counts = np.bincount(lab.ravel(), minlength=len(cells) + 1)
    lab[counts[lab] < 30] = 0              # slivers at the border or squeezed out

    # Cytoplasm: per-cell brightness, dimmer towards the edge, multiplicative texture.
    texture = _gauss_blur(rng.normal(0, 1, (h, w)), 1.5)
    texture /= texture.std() + 1e-9
    cyto = np.zeros((h, w))
    nuc = np.zeros((h, w))
    for k, (cy, cx, a, b, r, th) in enumerate(cells, 1):
        m = lab == k
        if not m.any():
            continue
        amp = rng.uniform(900, 2600)
        d = dist[k - 1]
        tex = rng.uniform(0.1, 0.6) if realistic else rng.uniform(0.1, 0.3)
        profile = 0.5 + 0.5 * np.sqrt(np.clip(1 - d[m] ** 2, 0, 1))
        if realistic and rng.uniform() < 0.3:
            profile = 0.6 + 0.4 * np.clip(d[m], 0, 1) ** 4   # bright rim
        cyto[m] = amp * profile * (1 + tex * texture[m])
        # Nucleus: a smaller ellipse near the centre, inside the cell.
        na, nb = a * rng.uniform(0.35, 0.55), b * rng.uniform(0.35, 0.55)
        ny = cy + rng.uniform(-0.2, 0.2) * b
        nx = cx + rng.uniform(-0.2, 0.2) * a
        nth = th + rng.uniform(-0.5, 0.5)
        u = (xx - nx) * math.cos(nth) + (yy - ny) * math.sin(nth)
        v = -(xx - nx) * math.sin(nth) + (yy - ny) * math.cos(nth)
        dn = (u / na) ** 2 + (v / nb) ** 2
        nm = m & (dn < 1)
        nuc[nm] = rng.uniform(800, 2400) * (0.7 + 0.3 * (1 - dn[nm]))
    cyto = _gauss_blur(cyto, 0.8) + 250 + rng.uniform(0, 150) * (xx / w) + \
        rng.uniform(0, 150) * (yy / h)
    if realistic:
        # Uneven illumination and textured background (what real images have and
        # clean synthetic ones lack): smooth fields up to about the cells' brightness.
        field = _gauss_blur(rng.normal(0, 1, (h, w)), rng.uniform(12, 40))
        field = (field - field.min()) / (np.ptp(field) + 1e-9)
        cyto += rng.uniform(0, 1400) * field
        grain = _gauss_blur(rng.normal(0, 1, (h, w)), rng.uniform(1.0, 3.0))
        cyto += rng.uniform(0, 250) * grain / (grain.std() + 1e-9)
    nuc = _gauss_blur(nuc, 0.8) + 150
    img = np.stack([cyto, nuc], 2)
    img = img + rng.normal(0, 1, img.shape) * np.sqrt(1.5 * img + 30 ** 2)
    img = np.clip(np.rint(img), 0, 65535).astype(np.uint16)
    return img, _relabel(lab).astype(np.uint16)


def percentile_normalize(raw: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """HxWxC -> float32 HxWxC as the runner's Normalize99: per channel np.percentile (linear)
    in float64, (x - p1) / (p99 - p1) in float32, not clipped; p99 - p1 <= 1e-3 -> 0; a
    constant channel is left as it is."""
    out = raw.astype(np.float32).copy()
    for c in range(raw.shape[2]):
        ch = raw[:, :, c].astype(np.float64)
        if ch.max() == ch.min():
            continue
        lo, hi = np.percentile(ch, [low, high])
        if hi - lo > 1e-3:
            out[:, :, c] = (raw[:, :, c].astype(np.float32) - np.float32(lo)) / np.float32(hi - lo)
        else:
            out[:, :, c] = 0
    return out


# --------------------------------------------------------------------------------------
# Masks -> flows (reference B5, v3 CPU semantics), all masks of an image at once
# --------------------------------------------------------------------------------------

_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def masks_to_flows(lab: np.ndarray) -> np.ndarray:
    """HxW labels -> float32 [2, H, W] unit flows (dY, dX), 0 outside masks."""
    lab = lab.astype(np.int64)
    h, w = lab.shape
    flows = np.zeros((2, h, w), np.float32)
    ys, xs = np.nonzero(lab)
    if len(ys) == 0:
        return flows
    vals, l = np.unique(lab[ys, xs], return_inverse=True)
    k = len(vals)
    cnt = np.bincount(l, minlength=k)
    my = np.bincount(l, ys, k) / cnt
    mx = np.bincount(l, xs, k) / cnt
    d2 = (ys - my[l]) ** 2 + (xs - mx[l]) ** 2
    order = np.lexsort((d2, l))          # stable: first pixel in row-major order on ties
    first = np.ones(len(order), bool)
    first[1:] = l[order][1:] != l[order][:-1]
    cen = order[first]                   # one index per label, in label order
    ymin = np.full(k, h)
    ymax = np.full(k, -1)
    xmin = np.full(k, w)
    xmax = np.full(k, -1)
    np.minimum.at(ymin, l, ys)
    np.maximum.at(ymax, l, ys)
    np.minimum.at(xmin, l, xs)
    np.maximum.at(xmax, l, xs)
    niter = 2 * ((ymax - ymin + 1) + (xmax - xmin + 1) + 4)

    idx = np.zeros((h, w), np.int64)      # 0 background, else label index + 1
    idx[ys, xs] = l + 1
    pl = np.pad(idx, 1)
    fg = idx > 0
    same = [(pl[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] == idx) & fg for dy, dx in _OFFSETS]
    n_of_pixel = np.where(fg, np.concatenate([[0], niter])[idx], 0)
    T = np.zeros((h + 2, w + 2))
    cy, cx = ys[cen] + 1, xs[cen] + 1
    for t in range(int(niter.max())):
        alive = niter > t
        T[cy[alive], cx[alive]] += 1.0
        acc = np.zeros((h, w))
        for (dy, dx), s in zip(_OFFSETS, same):
            acc += s * T[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        upd = n_of_pixel > t
        inner = T[1:h + 1, 1:w + 1]
        inner[upd] = acc[upd] / 9.0
    s_dn, s_up = same[7], same[1]        # (1, 0) and (-1, 0)
    s_rt, s_lt = same[5], same[3]        # (0, 1) and (0, -1)
    dy = s_dn * T[2:h + 2, 1:w + 1] - s_up * T[0:h, 1:w + 1]
    dx = s_rt * T[1:h + 1, 2:w + 2] - s_lt * T[1:h + 1, 0:w]
    norm = 1e-60 + np.sqrt(dy ** 2 + dx ** 2)
    flows[0] = np.where(fg, dy / norm, 0)
    flows[1] = np.where(fg, dx / norm, 0)
    return flows


# --------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------

def _block(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CellposeTiny(nn.Module):
    """U-Net with two poolings (16-32-64 channels): [N, C>=2, H, W] normalize99'd
    [cyto, nucleus] (channels past the second are ignored) -> [N, 3, H, W] = (dY, dX,
    cellprob logit), flows 5 x unit flows. H and W must be multiples of 4."""

    def __init__(self, c1: int = 16, c2: int = 32, c3: int = 64):
        super().__init__()
        self.enc1 = _block(2, c1)
        self.enc2 = _block(c1, c2)
        self.enc3 = _block(c2, c3)
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.dec2 = _block(2 * c2, c2)
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.dec1 = _block(2 * c1, c1)
        self.head = nn.Conv2d(c1, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, 0:2]
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(e3), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


class CPnetShaped(nn.Module):
    """CellposeTiny returning what Cellpose's CPnet returns: a tuple with the [N, 3, H, W]
    flows, a list of tensors (the encoder's feature maps) and a tensor (the style vector:
    the bottleneck's spatial mean, [N, 64]). flows_first=False puts the list first and the
    flows second (a network whose flows are not output #0: model.yaml must say where)."""

    def __init__(self, net: CellposeTiny, flows_first: bool = True):
        super().__init__()
        self.net = net
        self.flows_first = flows_first

    def forward(self, x: torch.Tensor):
        n = self.net
        x = x[:, 0:2]
        e1 = n.enc1(x)
        e2 = n.enc2(F.max_pool2d(e1, 2))
        e3 = n.enc3(F.max_pool2d(e2, 2))
        d2 = n.dec2(torch.cat([n.up2(e3), e2], 1))
        d1 = n.dec1(torch.cat([n.up1(d2), e1], 1))
        flows = n.head(d1)
        style = e3.mean((2, 3))
        if self.flows_first:
            return flows, [e1, e2, e3], style
        return [e1, e2, e3], flows, style


def _augment(x: torch.Tensor, y: torch.Tensor, g: torch.Generator):
    """Random dihedral transform of a batch: x [N,2,H,W] image, y [N,3,H,W] (dY, dX, prob)."""
    out_x, out_y = [], []
    ops = torch.randint(0, 8, (x.shape[0],), generator=g).tolist()
    for i, op in enumerate(ops):
        a, b = x[i], y[i].clone()
        if op & 1:   # flip X
            a, b = a.flip(2), b.flip(2)
            b[1] = -b[1]
        if op & 2:   # flip Y
            a, b = a.flip(1), b.flip(1)
            b[0] = -b[0]
        if op & 4:   # transpose
            a, b = a.transpose(1, 2), b.transpose(1, 2)
            b = b[[1, 0, 2]]
        out_x.append(a)
        out_y.append(b)
    return torch.stack(out_x).contiguous(), torch.stack(out_y).contiguous()


def train(n_images: int = 72, size: int = 128, iters: int = TRAIN_ITERS, log=print):
    rng = np.random.RandomState(1000)
    pad = 8  # the runner zero-pads by >= 8 px; let crops see that border
    xs, ys = [], []
    t0 = time.perf_counter()
    for k in range(n_images):
        realistic = k % 2 == 1
        img, lab = synth_cells(rng, size, size, realistic=realistic)
        if k % 3 == 2:
            # channels [0, 0] on a gray image: [the image, zeros].
            gray = img[:, :, :1].astype(np.float64)
            x = np.concatenate([percentile_normalize(gray), np.zeros_like(gray, np.float32)], 2)
            x = x.transpose(2, 0, 1)
        else:
            x = percentile_normalize(img).transpose(2, 0, 1)
        fl = masks_to_flows(lab) * 5.0
        y = np.concatenate([fl, (lab > 0)[None].astype(np.float32)], 0)
        xs.append(np.pad(x, ((0, 0), (pad, pad), (pad, pad))))
        ys.append(np.pad(y, ((0, 0), (pad, pad), (pad, pad))))
    X = torch.from_numpy(np.stack(xs))
    Y = torch.from_numpy(np.stack(ys))
    t_data = time.perf_counter() - t0

    torch.manual_seed(7)
    g = torch.Generator().manual_seed(8)
    net = CellposeTiny()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=6e-3, total_steps=iters,
                                                pct_start=0.15)
    full = X.shape[2]
    net.train()
    t0 = time.perf_counter()
    run = 0.0
    for it in range(iters):
        idx = torch.randint(0, X.shape[0], (BATCH,), generator=g)
        oy = torch.randint(0, full - CROP + 1, (BATCH,), generator=g)
        ox = torch.randint(0, full - CROP + 1, (BATCH,), generator=g)
        xb = torch.stack([X[i, :, a:a + CROP, b:b + CROP] for i, a, b in
                          zip(idx.tolist(), oy.tolist(), ox.tolist())])
        yb = torch.stack([Y[i, :, a:a + CROP, b:b + CROP] for i, a, b in
                          zip(idx.tolist(), oy.tolist(), ox.tolist())])
        xb, yb = _augment(xb, yb, g)
        # Mild intensity jitter (the percentile normalisation leaves some spread).
        xb = xb * (0.85 + 0.3 * torch.rand(BATCH, 2, 1, 1, generator=g))
        out = net(xb)
        loss = F.mse_loss(out[:, :2], yb[:, :2]) / 2.0 + \
            F.binary_cross_entropy_with_logits(out[:, 2], yb[:, 2])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run = loss.item() if it == 0 else 0.95 * run + 0.05 * loss.item()
        if (it + 1) % 60 == 0:
            log("  iter %d loss %.4f (%.1f s)" % (it + 1, run, time.perf_counter() - t0))
    net.eval()
    return net, {"data_s": t_data, "train_s": time.perf_counter() - t0, "final_loss": run}


# --------------------------------------------------------------------------------------
# Inference as the runner does it: zero padding, 128x128 tiles, tapered blending
# --------------------------------------------------------------------------------------

def _pad_amounts(length: int, tile: int) -> Tuple[int, int]:
    p = 16 * int(math.ceil(length / 16)) - length
    before, after = 8 + p // 2, 8 + p - p // 2
    if length + before + after < tile:
        more = tile - (length + before + after)
        before += more // 2
        after += more - more // 2
    return before, after


def _starts(length: int, tile: int, overlap: float = 0.1) -> List[int]:
    n = 1 if length <= tile else int(math.ceil((1 + 2 * overlap) * length / tile))
    return [int(v) for v in np.linspace(0, length - tile, n)]


def _taper(tile: int) -> np.ndarray:
    full = max(224, tile)
    c = (full - 1) / 2.0
    t = np.arange(tile) + (full // 2 - tile // 2)
    w = 1.0 / (1.0 + np.exp((np.abs(t - c) - (full / 2.0 - 20)) / 7.5))
    return w[:, None] * w[None, :]


def run_tiled(model, norm: np.ndarray, tile: int = TILE) -> np.ndarray:
    """norm: HxWx2 float32 (normalize99'd) -> float32 [3, H, W] blended network output."""
    h, w, _ = norm.shape
    (pt, pb), (pl, pr) = _pad_amounts(h, tile), _pad_amounts(w, tile)
    x = np.pad(norm.transpose(2, 0, 1), ((0, 0), (pt, pb), (pl, pr)))
    H, W = x.shape[1:]
    taper = _taper(tile)
    acc = np.zeros((3, H, W))
    wsum = np.zeros((H, W))
    tiles = [(a, b) for a in _starts(H, tile) for b in _starts(W, tile)]
    with torch.no_grad():
        for i in range(0, len(tiles), 8):
            chunk = tiles[i:i + 8]
            xb = torch.from_numpy(np.stack([x[:, a:a + tile, b:b + tile] for a, b in chunk]))
            out = model(xb).numpy()
            for (a, b), o in zip(chunk, out):
                acc[:, a:a + tile, b:b + tile] += o * taper
                wsum[a:a + tile, b:b + tile] += taper
    return (acc / wsum)[:, pt:pt + h, pl:pl + w].astype(np.float32)


# --------------------------------------------------------------------------------------
# Mask reconstruction (reference B4, v3 CPU path) and AP — for evaluation only
# --------------------------------------------------------------------------------------

def _renumber(lab: np.ndarray) -> np.ndarray:
    vals, inv = np.unique(lab, return_inverse=True)
    if vals[0] != 0:
        inv = inv + 1
    return inv.reshape(lab.shape).astype(np.int64)


def compute_masks(out: np.ndarray, niter: int = 200, cellprob_threshold: float = 0.0,
                  flow_threshold: float = 0.4, min_size: int = 15,
                  max_size_fraction: float = 0.4) -> np.ndarray:
    """out: [3, H, W] (dY, dX, cellprob logit) -> HxW int64 labels 0..N."""
    dP, cellprob = out[:2].astype(np.float64), out[2]
    h, w = cellprob.shape
    fg = cellprob > cellprob_threshold
    if not fg.any():
        return np.zeros((h, w), np.int64)
    Fl = dP * fg / 5.0
    ys, xs = np.nonzero(fg)
    py, px = ys.astype(np.float64), xs.astype(np.float64)
    for _ in range(niter):
        y0f, x0f = np.floor(py), np.floor(px)
        fy, fx = py - y0f, px - x0f
        y0 = np.clip(y0f.astype(np.int64), 0, h - 1)
        x0 = np.clip(x0f.astype(np.int64), 0, w - 1)
        y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
        w00, w01 = (1 - fy) * (1 - fx), (1 - fy) * fx
        w10, w11 = fy * (1 - fx), fy * fx
        vy = w00 * Fl[0, y0, x0] + w01 * Fl[0, y0, x1] + w10 * Fl[0, y1, x0] + w11 * Fl[0, y1, x1]
        vx = w00 * Fl[1, y0, x0] + w01 * Fl[1, y0, x1] + w10 * Fl[1, y1, x0] + w11 * Fl[1, y1, x1]
        py = np.clip(py + vy, 0, h - 1)
        px = np.clip(px + vx, 0, w - 1)

    # Histogram clustering (get_masks): seeds are 5x5 maxima with > 10 points, grown 5 times
    # within 11x11 where the histogram is > 2.
    rpad = 20
    iy = py.astype(np.int64) + rpad
    ix = px.astype(np.int64) + rpad
    gh, gw = h + 2 * rpad, w + 2 * rpad
    hist = np.bincount(iy * gw + ix, minlength=gh * gw).reshape(gh, gw).astype(np.float64)
    hmax = F.max_pool2d(torch.from_numpy(hist)[None, None], 5, stride=1, padding=2)[0, 0].numpy()
    sy, sx = np.nonzero((hist - hmax > -1e-6) & (hist > 10))
    order = np.argsort(hist[sy, sx], kind="stable")  # ascending: larger seeds win overlaps
    grid = np.zeros((gh, gw), np.int64)
    for k, i in enumerate(order, 1):
        cy, cx = sy[i], sx[i]
        ya, yb = max(cy - 5, 0), min(cy + 6, gh)
        xa, xb = max(cx - 5, 0), min(cx + 6, gw)
        hw = hist[ya:yb, xa:xb]
        reg = np.zeros(hw.shape, bool)
        reg[cy - ya, cx - xa] = True
        for _ in range(5):
            r = np.pad(reg, 1)
            dil = np.zeros_like(reg)
            for dy in range(3):
                for dx in range(3):
                    dil |= r[dy:dy + reg.shape[0], dx:dx + reg.shape[1]]
            reg = dil & (hw > 2)
        grid[ya:yb, xa:xb][reg] = k
    masks = np.zeros((h, w), np.int64)
    masks[ys, xs] = grid[iy, ix]
    counts = np.bincount(masks.ravel())
    big = np.nonzero(counts > max_size_fraction * h * w)[0]
    masks[np.isin(masks, big[big > 0])] = 0
    masks = _renumber(masks)

    if flow_threshold and flow_threshold > 0 and masks.max() > 0:
        mu = masks_to_flows(masks).astype(np.float64)
        m = masks > 0
        err = ((mu - dP / 5.0) ** 2).sum(0)
        n = masks.max() + 1
        e = np.bincount(masks[m], err[m], n) / np.maximum(np.bincount(masks[m], minlength=n), 1)
        bad = np.nonzero(e > flow_threshold)[0]
        masks[np.isin(masks, bad[bad > 0])] = 0
        masks = _renumber(masks)
    if min_size > 0 and masks.max() > 0:
        counts = np.bincount(masks.ravel())
        small = np.nonzero(counts < min_size)[0]
        masks[np.isin(masks, small[small > 0])] = 0
        masks = _renumber(masks)
    return masks


def ap_at(gt: np.ndarray, pred: np.ndarray, th: float = 0.5) -> Tuple[float, int, int, int]:
    """AP = TP / (TP + FP + FN) with one-to-one matches of IoU > th (th >= 0.5 makes the
    matching unique). Returns (ap, tp, fp, fn)."""
    gt = _renumber(gt)
    pred = _renumber(pred)
    ng, npd = int(gt.max()), int(pred.max())
    if ng == 0 and npd == 0:
        return 1.0, 0, 0, 0
    ov = np.bincount(gt.ravel() * (npd + 1) + pred.ravel(),
                     minlength=(ng + 1) * (npd + 1)).reshape(ng + 1, npd + 1)
    ag, ap_ = ov.sum(1), ov.sum(0)
    inter = ov[1:, 1:].astype(np.float64)
    iou = inter / (ag[1:, None] + ap_[None, 1:] - inter)
    tp = int((iou > th).sum())
    fp, fn = npd - tp, ng - tp
    return tp / float(tp + fp + fn), tp, fp, fn


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

def write_tiff(path: str, img: np.ndarray):
    """HxWxC uint16 -> uncompressed little-endian TIFF, one page, one strip, contiguous
    samples, MINISBLACK with C - 1 extra samples (PIL cannot write 2-channel 16-bit)."""
    img = np.ascontiguousarray(img)
    h, w, c = img.shape
    data = img.astype("<u2").tobytes()
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    data_off = len(out)
    out += data
    if len(out) % 2:
        out += b"\x00"
    entries = [(256, 4, [w]), (257, 4, [h]), (258, 3, [16] * c), (259, 3, [1]), (262, 3, [1]),
               (273, 4, [data_off]), (277, 3, [c]), (278, 4, [h]), (279, 4, [len(data)]),
               (284, 3, [1])]
    if c > 1:
        entries.append((338, 3, [0] * (c - 1)))
    entries.append((339, 3, [1] * c))
    ifd_off = len(out)
    struct.pack_into("<I", out, 4, ifd_off)
    ifd = bytearray(struct.pack("<H", len(entries)))
    blobs = bytearray()
    blob_base = ifd_off + 2 + 12 * len(entries) + 4
    for tag, typ, values in entries:
        payload = struct.pack("<%d%s" % (len(values), "H" if typ == 3 else "I"), *values)
        if len(payload) <= 4:
            ifd += struct.pack("<HHI", tag, typ, len(values)) + payload.ljust(4, b"\x00")
        else:
            ifd += struct.pack("<HHII", tag, typ, len(values), blob_base + len(blobs))
            blobs += payload
    ifd += b"\x00\x00\x00\x00"
    out += ifd + blobs
    with open(path, "wb") as f:
        f.write(bytes(out))


def write_png16(path: str, lab: np.ndarray):
    Image.fromarray(np.ascontiguousarray(lab.astype(np.uint16)), "I;16").save(path, format="PNG")


def write_model_yaml(folder: str, description: str, outputs: dict = None):
    d = {
        "backend": "torchscript",
        "runner": "cellpose",
        "description": description,
        "input": dict(MODEL_SPEC),
        "batching": {"max_batch_size": 8, "max_queue_delay_ms": 2, "max_queue_size": 256,
                     "default_timeout_ms": 30000},
        "instances": {"count": 1, "device": "cpu"},
        # Warm-up batches of 1 and 8 2-channel tiles (the runner's model channels).
        "warmup": {"batch_sizes": [1, 8]},
    }
    if outputs is not None:
        d["outputs"] = dict(outputs)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.yaml"), "w") as f:
        f.write("# Generated by model_tools/train_cellpose.py\n")
        yaml.safe_dump(d, f, sort_keys=False, default_flow_style=None, width=100)


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------

# Held-out images: (name, height, width, seed).
HELDOUT = [("cells_%02d" % i, 128, 128, 5000 + i) for i in range(8)] + \
    [("cells_256_%d" % i, 256, 256, 6000 + i) for i in range(2)] + \
    [("cells_large", 400, 400, 7000)]


def make_cellpose_model(repo_dir: str, images_dir: str, out_dir: str, log=print) -> dict:
    """Trains cellpose_tiny and writes
         repo_dir/cellpose_tiny/model.yaml, repo_dir/cellpose_tiny/1/model.pt,
         images_dir/cells/<name>.tif (uint16, 2 channels [cyto, nucleus]),
         images_dir/cells/<name>_masks.png (uint16 ground-truth labels),
         images_dir/real/{coins,cell}.png (python3-skimage's data),
         out_dir/cellpose_expected.json.
    Asserts mean AP@0.5 >= AP_REQUIRED on the held-out images. Returns a summary dict."""
    t_start = time.perf_counter()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)

    net, info = train(log=log)
    model_dir = os.path.join(repo_dir, MODEL_NAME)
    os.makedirs(os.path.join(model_dir, "1"), exist_ok=True)
    sm = torch.jit.script(net)
    sm.eval()
    pt_path = os.path.join(model_dir, "1", "model.pt")
    torch.jit.save(sm, pt_path)
    write_model_yaml(model_dir, "Tiny Cellpose-style U-Net trained on synthetic 2-channel "
                                "[cyto, nucleus] cells: [N,2,128,128] normalize99 -> [N,3,H,W] "
                                "(dY, dX x5, cellprob logit); call with channels [1, 2]")
    loaded = torch.jit.load(pt_path, map_location="cpu").eval()

    cells_dir = os.path.join(images_dir, "cells")
    os.makedirs(cells_dir, exist_ok=True)
    t0 = time.perf_counter()
    rows = []
    aps = []
    for name, h, w, seed in HELDOUT:
        img, lab = synth_cells(np.random.RandomState(seed), h, w)
        write_tiff(os.path.join(cells_dir, name + ".tif"), img)
        write_png16(os.path.join(cells_dir, name + "_masks.png"), lab)
        out = run_tiled(loaded, percentile_normalize(img))
        pred = compute_masks(out)
        ap, tp, fp, fn = ap_at(lab, pred)
        aps.append(ap)
        rows.append({"image": "images/cells/%s.tif" % name,
                     "masks": "images/cells/%s_masks.png" % name,
                     "width": w, "height": h, "n_cells": int(lab.max()),
                     "n_pred_python": int(pred.max()), "ap50_python": ap,
                     "tp": tp, "fp": fp, "fn": fn})
        log("  %-12s %dx%d cells %3d pred %3d AP50 %.3f" % (name, w, h, lab.max(), pred.max(), ap))
    t_eval = time.perf_counter() - t0
    mean_ap = float(np.mean(aps))

    # Check: TorchScript output equals the eager module's, and a 3-channel input works.
    x = torch.from_numpy(percentile_normalize(synth_cells(np.random.RandomState(1), 128, 128)[0])
                         .transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        a = loaded(x)
        b = net(x)
        c = loaded(torch.cat([x, torch.zeros(1, 1, 128, 128)], 1))
    assert a.shape == (1, 3, 128, 128)
    assert torch.allclose(a, b, atol=1e-5) and torch.equal(a, c)

    # Real images (python3-skimage's data folder) for the plausible-count test.
    import skimage.data  # noqa: E402 (only here: the rest runs without it)
    real_dir = os.path.join(images_dir, "real")
    os.makedirs(real_dir, exist_ok=True)
    for name in ("coins.png", "cell.png"):
        src = os.path.join(os.path.dirname(skimage.data.__file__), name)
        with open(src, "rb") as fin, open(os.path.join(real_dir, name), "wb") as fout:
            fout.write(fin.read())

    with open(os.path.join(out_dir, "cellpose_expected.json"), "w") as f:
        json.dump({
            "generator": "model_tools/train_cellpose.py",
            "model": MODEL_NAME,
            "params": {"channels": [1, 2], "diameter": 0, "flow_threshold": 0.4,
                       "cellprob_threshold": 0.0, "min_size": 15},
            "metric": "AP = TP / (TP + FP + FN), one-to-one matches with IoU > 0.5",
            "ap50_python": mean_ap,
            "ap50_required_cpp": 0.8,
            "images": rows,
        }, f, indent=1)
        f.write("\n")
    total = time.perf_counter() - t_start
    log("cellpose_tiny: data %.1f s, training %.1f s (loss %.4f), eval %.1f s, total %.1f s; "
        "mean AP50 %.3f" % (info["data_s"], info["train_s"], info["final_loss"], t_eval, total,
                            mean_ap))
    assert mean_ap >= AP_REQUIRED, "cellpose_tiny: mean AP50 %.3f < %.2f" % (mean_ap, AP_REQUIRED)
    return {"ap50": mean_ap, "images": len(rows), "train_s": info["train_s"], "total_s": total}


# Traced exports of cellpose_tiny with CPnet's output shape: (name, flows_first, outputs).
TRACED = [("cellpose_traced", True, None),
          ("cellpose_traced_flows_second", False, {"flows": 1, "style": 2})]


def export_traced(repo_dir: str, log=print) -> dict:
    """Writes repo_dir/<name>/{model.yaml,1/model.pt} for each of TRACED: cellpose_tiny's
    weights (read from repo_dir/cellpose_tiny/1/model.pt, so no training) in CPnetShaped,
    exported exactly as this file's header tells users to export a Cellpose network
    (torch.jit.trace, check_trace=False, a [1, 2, 224, 224] example; model.yaml as shown,
    plus `outputs:` only when the flows are not first). Asserts that each file's flows
    equal cellpose_tiny's. Returns {name: max abs difference}."""
    tiny = torch.jit.load(os.path.join(repo_dir, MODEL_NAME, "1", "model.pt"),
                          map_location="cpu").eval()
    net = CellposeTiny()
    net.load_state_dict(tiny.state_dict())
    net.eval()
    x = torch.from_numpy(percentile_normalize(synth_cells(np.random.RandomState(2), 128, 128)[0])
                         .transpose(2, 0, 1).copy())[None]
    diffs = {}
    for name, flows_first, outputs in TRACED:
        model = CPnetShaped(net, flows_first).eval()
        example = torch.zeros(1, 2, 224, 224)
        traced = torch.jit.trace(model, example, check_trace=False)
        model_dir = os.path.join(repo_dir, name)
        os.makedirs(os.path.join(model_dir, "1"), exist_ok=True)
        traced.save(os.path.join(model_dir, "1", "model.pt"))
        write_model_yaml(model_dir, "cellpose_tiny traced as a Cellpose CPnet is (README): "
                                    "returns (%s)" % ("flows, [features], style" if flows_first
                                                      else "[features], flows, style"),
                         outputs)
        loaded = torch.jit.load(os.path.join(model_dir, "1", "model.pt"), map_location="cpu")
        with torch.no_grad():
            out = loaded(x)
            ref = tiny(x)
        flows = out[0] if flows_first else out[1]
        assert isinstance(out, tuple) and len(out) == 3, name
        assert isinstance(out[1 if flows_first else 0], list), name
        diffs[name] = float((flows - ref).abs().max())
        assert diffs[name] < 1e-4, (name, diffs[name])
        log("  %s: traced, flows differ from cellpose_tiny's by %.2g" % (name, diffs[name]))
    return diffs


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print("usage: /usr/bin/python3 %s OUT_DIR" % sys.argv[0], file=sys.stderr)
        return 2
    out = os.path.abspath(sys.argv[1])
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    repo, images = os.path.join(out, "repo"), os.path.join(out, "images")
    os.makedirs(repo, exist_ok=True)
    os.makedirs(images, exist_ok=True)
    make_cellpose_model(repo, images, out)
    export_traced(repo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
