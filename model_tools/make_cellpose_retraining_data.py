#!/usr/bin/python3
"""Cells of a new appearance for retraining cellpose_tiny (tests/integration/
training_quality_test.cc, CellposeTiny case).

cellpose_tiny (model_tools/train_cellpose.py) learned bright fluorescent cells with a
nucleus channel. The new appearance: the cytoplasm channel inverted (dark cells on a
bright, uneven background, as in phase contrast) and no nucleus channel. Writes
OUT/train/{images,masks}/ (8 images) and OUT/heldout/{images,masks}/ (8 others): 2-channel
uint16 TIFFs [cyto, zeros] of 160x160 and 16-bit instance PNGs, seeded.
Run with Debian's python3-torch: /usr/bin/python3 make_cellpose_retraining_data.py OUT
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_cellpose import synth_cells, write_png16, write_tiff  # noqa: E402

SIZE = 160


def new_appearance(rng):
    img, lab = synth_cells(rng, SIZE, SIZE)
    cyto = img[..., 0].astype(np.float64)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    ramp = 0.3 + 0.7 * (xx + yy) / (2 * SIZE)  # uneven illumination
    inverted = (cyto.max() - cyto) * ramp + rng.normal(0, 0.02 * cyto.max(), cyto.shape)
    out = np.zeros_like(img)
    out[..., 0] = np.clip(inverted, 0, 65535).astype(np.uint16)
    return out, lab


def main():
    out = sys.argv[1]
    rng = np.random.RandomState(4242)
    for split in ("train", "heldout"):
        for sub in ("images", "masks"):
            os.makedirs(os.path.join(out, split, sub), exist_ok=True)
        for i in range(8):
            img, lab = new_appearance(rng)
            write_tiff(os.path.join(out, split, "images", f"cells_{i:02d}.tif"), img)
            write_png16(os.path.join(out, split, "masks", f"cells_{i:02d}.png"), lab)
    print("cellpose retraining data: ok")


if __name__ == "__main__":
    main()
