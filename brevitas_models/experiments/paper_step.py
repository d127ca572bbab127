"""Time and memory of one training step of the paper-scale network (hg-hpm-paper, 256x256,
batch 8) on augmented MPII-format photos, for brevitas_models/README.md:

    flock /tmp/binhg-heavy.lock python -m brevitas_models.experiments.paper_step [--steps 4]

The photos are procedural figures written as JPEGs with MPII's JSON to a temporary folder
(no MPII here); the step is the training's own (heatmap loss of every stack, RMSprop, the
PReLU clamp). Prints the seconds per step after the first and the peak resident memory.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from ..config import get_preset
from ..data import StickFigureDataset
from ..data import render
from ..datasets import make_dataset
from ..hourglass import build_model
from ..train import PAPER_BATCH
from ..train import heatmap_loss
from ..train import keep_slopes_nonnegative


def write_mpii_json_photos(folder: Path, n: int, size: int = 256) -> None:
    """n photos of (size + 64) x size with a procedural figure each, and annot/train.json
    in the MPII JSON form (1-based center, scale = height / 200, joints, joints_vis)."""
    (folder / "images").mkdir(parents=True)
    (folder / "annot").mkdir()
    ds = StickFigureDataset(size, 16, "val", n)
    entries = []
    for i in range(n):
        joints, half_width, rng = ds.sample_joints(i)
        photo = np.zeros((size, size + 64, 3), np.uint8)
        photo[:, 32:32 + size] = render(joints, size, half_width, rng)
        joints = joints + [32, 0]
        Image.fromarray(photo).save(folder / "images" / f"{i}.jpg")
        lo, hi = joints.min(0), joints.max(0)
        entries.append({"image": f"{i}.jpg", "center": ((lo + hi) / 2 + 1).tolist(),
                        "scale": float((hi - lo).max() / 200), "joints": (joints + 1).tolist(),
                        "joints_vis": [1] * 16})
    (folder / "annot" / "train.json").write_text(json.dumps(entries))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="hg-hpm-paper")
    p.add_argument("--batch", type=int, default=PAPER_BATCH)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    cfg = get_preset(a.preset)
    with tempfile.TemporaryDirectory() as d:
        write_mpii_json_photos(Path(d), 5 * a.batch)
        ds = make_dataset("mpii", cfg.input_size, cfg.num_landmarks, "train", None,
                          augment=True, root=d)
        t = time.perf_counter()
        batch = next(iter(DataLoader(ds, batch_size=a.batch)))
        t_data = time.perf_counter() - t
    torch.manual_seed(0)
    model = build_model(cfg).train()
    opt = torch.optim.RMSprop(model.parameters(), lr=2.5e-4)
    times = []
    for i in range(a.steps):
        t = time.perf_counter()
        loss = heatmap_loss(model.forward_all(batch["image"]), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        keep_slopes_nonnegative(model)
        times.append(time.perf_counter() - t)
        print(f"step {i}: {times[-1]:.2f} s, loss {loss.item():.4f}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{cfg.name} {cfg.input_size}x{cfg.input_size}, batch {a.batch}, {a.threads} threads: "
          f"{sum(times[1:]) / max(len(times) - 1, 1):.1f} s per step after the first "
          f"(min {min(times[1:] or times):.1f}); {t_data:.2f} s to read and augment "
          f"{a.batch} photos; peak RSS {peak:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
