"""Ablation: precision of the residual stream (float, shared-scale 8-bit, 4-bit).

Trains one preset with identical seeds, data and schedule for every residual precision,
then prints a markdown table and writes build/residual_precision.json:

    python -m brevitas_models.experiments.residual_precision
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from . import experiment_parser
from ..config import get_preset
from ..data import StickFigureDataset
from ..metrics import DEFAULT_PCK_THR
from ..metrics import pck
from ..train import render_split
from ..train import train

# (label, res_bits)
RUNS = [("float", None), ("8", 8), ("4", 4)]


@torch.no_grad()
def residual_saturation(model, images: torch.Tensor) -> dict | None:
    """Fraction of residual-stream values clipped by the shared requantizer, over all its
    call sites and at the first one (the stem); None for a float residual."""
    rq = model.res_quant
    if not hasattr(rq, "act_quant"):
        return None
    scale, bits = rq.act_quant.scale().item(), int(rq.act_quant.bit_width().item())
    qmin, qmax = -2 ** (bits - 1), 2 ** (bits - 1) - 1  # signed, not narrow (Int8Act...)
    counts = []  # (clipped, total) per call, in call order

    def hook(_module, inputs, _output):
        q = torch.round(inputs[0] / scale)
        counts.append((int(((q < qmin) | (q > qmax)).sum()), q.numel()))

    model.eval()
    handle = rq.register_forward_hook(hook)
    try:
        model(images)
    finally:
        handle.remove()
    clipped, total = map(sum, zip(*counts))
    return {"all": clipped / total, "stem": counts[0][0] / counts[0][1],
            "scale": scale, "bits": bits}


def prior_baseline(cfg, val: dict, n_train: int = 2000) -> float:
    """PCK of always predicting each joint's mean training position: the bar a network
    has to clear to show it localizes anything."""
    tr = render_split(StickFigureDataset(cfg.input_size, cfg.num_landmarks, "train", n_train,
                                         augment=True))
    vis = tr["visible"][..., None].float()
    mean = (tr["joints"] * vis).sum(0) / vis.sum(0)
    return pck(mean.expand_as(val["joints"]), val["joints"], val["norm"],
               DEFAULT_PCK_THR, val["visible"])[1]


def main(argv: list[str] | None = None) -> list[dict]:
    p = experiment_parser("residual_precision", __doc__)
    p.add_argument("--out", default="build/residual_precision.json")
    a = p.parse_args(argv)

    base = get_preset(a.preset).replace(input_size=a.input_size)
    val_ds = StickFigureDataset(base.input_size, base.num_landmarks, "val", a.val_size)
    val = render_split(val_ds)
    prior = prior_baseline(base, val)
    print(f"{base.name} @ {base.input_size}x{base.input_size}: {a.epochs} epochs x "
          f"{a.train_size} samples, val {a.val_size}; prior baseline PCK@{DEFAULT_PCK_THR} "
          f"{prior:.3f}", flush=True)
    rows, t0 = [], time.perf_counter()
    for label, bits in RUNS:
        print(f"--- res_bits {label}", flush=True)
        r = train(base.replace(res_bits=bits), a.epochs, a.train_size, a.val_size, a.batch,
                  a.lr, a.seed, progress=a.progress, threads=a.threads,
                  log=lambda s: print("   " + s, flush=True))
        rows.append({"res_bits": label, "bits": bits,
                     "val_pck": r["val_pck"], "val_pck@0.1": r["val_pck@0.1"],
                     "val_nme": r["val_nme"], "val_pck_per_landmark": r["val_pck_per_landmark"],
                     "train_loss": r["train_loss"], "wall_time": r["wall_time"],
                     "saturation": residual_saturation(r["model"], val["image"]),
                     "history": r["history"]})

    table = [f"| res_bits | val PCK@{DEFAULT_PCK_THR} | val PCK@0.1 | final train loss | "
             "clipped residuals (all / stem) | wall time |", "|---|---|---|---|---|---|"]
    for r in rows:
        sat = r["saturation"]
        sat_s = "-" if sat is None else f"{sat['all']:.2%} / {sat['stem']:.2%}"
        table.append(f"| {r['res_bits']} | {r['val_pck']:.3f} | {r['val_pck@0.1']:.3f} | "
                     f"{r['train_loss']:.4f} | {sat_s} | {r['wall_time']:.0f} s |")
    total = time.perf_counter() - t0
    print("\n" + "\n".join(table) + f"\n\nprior baseline PCK@{DEFAULT_PCK_THR} {prior:.3f}; "
          f"total {total:.0f} s")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"config": base.to_dict(), "args": vars(a),
                               "joint_names": list(val_ds.joint_names), "prior_pck": prior,
                               "total_time": total, "runs": rows, "table": table}, indent=1))
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
