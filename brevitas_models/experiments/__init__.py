"""Experiments on the procedural figures; they share one protocol (experiment_parser)."""
from __future__ import annotations

import argparse


def experiment_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """The options every experiment shares: which network, how long, which seed. The
    defaults are the protocol of the README's tables (hg-hpm-tiny at 64x64, 10 epochs of
    2,000 figures, 500 validation figures, lr 1e-3, seed 0, one thread)."""
    p = argparse.ArgumentParser(prog=f"python -m brevitas_models.experiments.{prog}",
                                description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="hg-hpm-tiny")
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--train-size", type=int, default=2000)
    p.add_argument("--val-size", type=int, default=500)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="(short schedule: 4x the paper's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--progress", action="store_true")
    return p
