"""Training of the binary hourglass networks on the procedural stick figures.

    python -m brevitas_models.train --preset hg-hpm-tiny --epochs 5 --train-size 2000 \\
        --batch 32 --lr 2.5e-4 --res-bits 8 --seed 0 --out build/ckpt.pt

The recipe of Bulat & Tzimiropoulos: RMSprop, a step drop of the learning rate, sigmoid
cross-entropy on the heatmaps (eq. 2) with intermediate supervision (every stack's output
is supervised), augmentation by rotation, scale and flip (data.py).

Extension points for later techniques: `train(model=...)` starts from a given (e.g.
reverse-order initialised or partly quantized) network, `train(loss_fn=...)` replaces the
loss (it gets every stack's logits and the whole batch dict, e.g. for distillation).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from .checkpoint import save_checkpoint
from .config import ConfigError
from .config import HGConfig
from .config import get_preset
from .data import StickFigureDataset
from .hourglass import BinaryHourglassNet
from .hourglass import build_model
from .metrics import DEFAULT_PCK_THR
from .metrics import decode_heatmaps
from .metrics import nme
from .metrics import pck

LossFn = Callable[[list[torch.Tensor], dict[str, torch.Tensor]], torch.Tensor]


def heatmap_loss(outputs: list[torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Eq. 2: pixel-wise sigmoid cross-entropy against the Gaussian targets, averaged over
    pixels and landmarks, summed over the stacks (intermediate supervision)."""
    target = batch["heatmaps"]
    return sum(F.binary_cross_entropy_with_logits(o, target) for o in outputs)


def render_split(ds: StickFigureDataset, batch: int = 256) -> dict[str, torch.Tensor]:
    """The whole (small, unaugmented) split as stacked tensors: rendered once, reused."""
    parts = list(DataLoader(ds, batch_size=batch, shuffle=False))
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


@torch.no_grad()
def evaluate(model: BinaryHourglassNet, data: dict[str, torch.Tensor],
             batch: int = 128) -> dict:
    """PCK (bbox-normalized, at DEFAULT_PCK_THR and 0.1), NME and loss of the last stack."""
    was_training = model.training
    model.eval()
    heat = torch.cat([model(data["image"][i:i + batch])
                      for i in range(0, len(data["image"]), batch)])
    model.train(was_training)
    pred = decode_heatmaps(heat)
    args = (pred, data["joints"], data["bbox_size"])
    per, mean = pck(*args, thr=DEFAULT_PCK_THR, visible=data["visible"])
    return {"pck": mean,
            "pck_per_landmark": [round(float(p), 4) for p in per],
            "pck@0.1": pck(*args, thr=0.1, visible=data["visible"])[1],
            "nme": nme(*args, visible=data["visible"]),
            "loss": F.binary_cross_entropy_with_logits(heat, data["heatmaps"]).item()}


def train(cfg: HGConfig, epochs: int = 5, train_size: int = 2000, val_size: int = 500,
          batch: int = 32, lr: float = 2.5e-4, seed: int = 0, out=None, progress: bool = True,
          *, augment: bool = True, sigma: float = 1.0, lr_drop_at: float = 0.75,
          lr_gamma: float = 0.1, model: BinaryHourglassNet | None = None,
          loss_fn: LossFn = heatmap_loss, log: Callable[[str], None] | None = print,
          threads: int = 2) -> dict:
    """Train `cfg` (or the given `model`) and return its metrics.

    The learning rate drops by `lr_gamma` after round(lr_drop_at * epochs) epochs. After
    every epoch the model is evaluated on the val split and, if `out` is given, saved there
    (the file always holds the latest epoch).

    `threads` sets torch's (process-wide) intra-op thread count. On a 2-core machine shared
    with other jobs, 2 spinning OpenMP threads can run 20x slower than 1: the tiny presets
    hardly gain from a second thread, so tests and experiments pass threads=1.

    Returns a dict: final "val_pck" / "val_pck@0.1" / "val_nme" / "val_pck_per_landmark",
    "train_loss" (mean of the last epoch), "step_losses" (every optimizer step), "history"
    (one dict per epoch), "wall_time" (s), "joint_names", "config"; and "model" (the
    trained network itself).
    """
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    if model is None:
        model = build_model(cfg)
    cfg = model.cfg
    n = cfg.num_landmarks
    train_ds = StickFigureDataset(cfg.input_size, n, "train", train_size, augment, sigma)
    val = render_split(StickFigureDataset(cfg.input_size, n, "val", val_size, False, sigma))
    loader = DataLoader(train_ds, batch_size=batch, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    if len(loader) == 0:
        raise ValueError(f"train_size {train_size} is smaller than one batch ({batch})")
    opt = torch.optim.RMSprop(model.parameters(), lr=lr)
    drop = max(1, round(lr_drop_at * epochs))
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[drop], gamma=lr_gamma)

    history, step_losses = [], []
    for epoch in range(1, epochs + 1):
        train_ds.set_epoch(epoch)  # fresh rotations / scales / flips
        model.train()
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False)
        for b in bar:
            loss = loss_fn(model.forward_all(b["image"]), b)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss is {loss.item()} at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.4f}")
        g = opt.param_groups[0]
        lr_used = lr * g["lr"] / g["initial_lr"]  # the base rate of this epoch
        sched.step()
        metrics = evaluate(model, val)
        history.append({"epoch": epoch, "lr": lr_used, "train_loss": sum(losses) / len(losses),
                        **{f"val_{k}": v for k, v in metrics.items()},
                        "time": time.perf_counter() - t0})
        step_losses += losses
        if log:
            h = history[-1]
            log(f"epoch {epoch}/{epochs}  lr {lr_used:.2e}  train loss {h['train_loss']:.4f}  "
                f"val PCK@{DEFAULT_PCK_THR} {h['val_pck']:.3f}  PCK@0.1 {h['val_pck@0.1']:.3f}  "
                f"NME {h['val_nme']:.3f}  [{h['time']:.0f} s]")
        if out is not None:
            save_checkpoint(model, out, epoch=epoch, val_pck=metrics["pck"],
                            history=history, train_args=dict(
                                train_size=train_size, val_size=val_size, batch=batch, lr=lr,
                                seed=seed, augment=augment, sigma=sigma))
    last = history[-1]
    return {"val_pck": last["val_pck"], "val_pck@0.1": last["val_pck@0.1"],
            "val_nme": last["val_nme"], "val_pck_per_landmark": last["val_pck_per_landmark"],
            "train_loss": last["train_loss"], "step_losses": step_losses, "history": history,
            "wall_time": time.perf_counter() - t0, "joint_names": list(train_ds.joint_names),
            "config": cfg.to_dict(), "model": model}


def parse_res_bits(s: str) -> int | None:
    return None if s.lower() in ("none", "float") else int(s)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m brevitas_models.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="hg-hpm-tiny")
    p.add_argument("--input-size", type=int, help="override the preset's input size")
    p.add_argument("--res-bits", type=parse_res_bits, default="8",
                   help="bits of the residual stream, or 'none' for float (default: 8)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--train-size", type=int, default=2000)
    p.add_argument("--val-size", type=int, default=500)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2.5e-4)
    p.add_argument("--sigma", type=float, default=1.0, help="heatmap Gaussian (heatmap px)")
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="checkpoint path (rewritten after every epoch)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    a = p.parse_args(argv)
    try:
        cfg = get_preset(a.preset).replace(res_bits=a.res_bits)
        if a.input_size:
            cfg = cfg.replace(input_size=a.input_size)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    r = train(cfg, a.epochs, a.train_size, a.val_size, a.batch, a.lr, a.seed, a.out,
              a.progress, augment=a.augment, sigma=a.sigma, threads=a.threads)
    print(f"{cfg.name} res_bits={cfg.res_bits}: val PCK@{DEFAULT_PCK_THR} {r['val_pck']:.3f}, "
          f"train loss {r['train_loss']:.4f}, {r['wall_time']:.0f} s"
          + (f", saved {a.out}" if a.out else ""))
    print("per landmark: " + ", ".join(f"{n} {v:.2f}" for n, v in
                                       zip(r["joint_names"], r["val_pck_per_landmark"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
