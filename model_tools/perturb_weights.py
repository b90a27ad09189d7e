#!/usr/bin/env python3
"""Writes a copy of a TorchScript module whose weights differ: a new "trained" version of a
test model with the same graph and different outputs (the model-versions tests serve both).

Every floating-point parameter p becomes p + scale * std(p) * N(0, 1), the noise drawn from
a torch.Generator seeded with --seed, so the same arguments write the same weights.

    perturb_weights.py IN.pt OUT.pt [--seed 1] [--scale 0.5]
"""
import argparse

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a TorchScript module (torch.jit.save)")
    parser.add_argument("dest", help="where the changed module goes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.5)
    args = parser.parse_args()
    module = torch.jit.load(args.source, map_location="cpu")
    generator = torch.Generator().manual_seed(args.seed)
    changed = 0
    with torch.no_grad():
        for _, p in module.named_parameters():
            if not p.is_floating_point():
                continue
            spread = float(p.std()) if p.numel() > 1 else 1.0
            noise = torch.randn(p.shape, generator=generator, dtype=p.dtype)
            p.add_(noise * args.scale * (spread if spread > 0 else 1.0))
            changed += 1
    if changed == 0:
        raise SystemExit(f"{args.source}: no floating-point parameters to change")
    torch.jit.save(module, args.dest)
    print(f"{args.dest}: {changed} parameters changed (seed {args.seed}, scale {args.scale})")


if __name__ == "__main__":
    main()
