"""Landmark accuracy of a network on a data set: metrics.json, a picture, a table.

    python -m brevitas_models.evaluate --checkpoint build/ckpt.pt --data sticks --split test
    python -m brevitas_models.evaluate --preset hg-hpm-tiny --size 200   # untrained baseline
    python -m brevitas_models.evaluate --checkpoint mpii.pt --data mpii --data-root ~/mpii --split val

Writes DIR/metrics.json (PCK per landmark at each threshold, NME, AUC of the PCK curve up to
0.5, and the data set's own protocol: MPII's PCKh@0.5 table, 300-W's NME by the
inter-ocular distance and by the box diagonal with AUC@0.08 and the failure rate at 0.08;
see metrics.py) and DIR/landmarks.png (sample images with true and predicted landmarks; per-landmark
PCK bars and the PCK curve), DIR defaulting to build/eval/<model>-<data>-<split>. Errors in
the inputs print one `error: ...` line and exit with status 2, writing nothing.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data import Subset
from tqdm import tqdm

from .checkpoint import CheckpointError
from .cli import positive_int
from .checkpoint import load_checkpoint
from .config import ConfigError
from .config import get_preset
from .data import DataFormatError
from .datasets import DATASETS
from .datasets import DEFAULT_DATASET
from .datasets import make_dataset
from .files import OutputPathError
from .files import check_writable_dir
from .files import write_atomic
from .checkpoint import load_preset
from .landmarks import heatmap_to_image
from .metrics import FACE_AUC_LIMIT
from .metrics import PCKH_THR
from .metrics import box_diagonal
from .metrics import ced_auc
from .metrics import decode_heatmaps
from .metrics import nme
from .metrics import pck
from .metrics import pckh_table
from .metrics import per_sample_nme
from .photos import MPII_PARTS

DEFAULT_THRESHOLDS = (0.1, 0.2)
AUC_MAX_THRESHOLD = 0.5
CURVE_THRESHOLDS = np.linspace(0.0, AUC_MAX_THRESHOLD, 51)
DPI, PANEL_INCHES, PANELS_PER_ROW, STATS_ROW_INCHES = 100, 3.0, 4, 3.5


class EvaluationError(ValueError):
    """Inputs that cannot be evaluated together (data set unknown or not fitting the model)."""


def _clean(values) -> list:
    """Floats for JSON: nan (a landmark never visible) becomes null, not invalid JSON."""
    return [None if math.isnan(v) else round(float(v), 5) for v in values]


def landmark_metrics(pred, joints, norm, visible,
                     thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> dict:
    """PCK at each threshold, NME (both per landmark and mean over the visible (sample,
    landmark) pairs) and the normalised area under the PCK curve on [0, 0.5]: all
    JSON-able. pred, joints [B, N, 2] in heatmap px; norm [B]; visible [B, N]."""
    pck_at = {}
    for t in thresholds:
        per, mean = pck(pred, joints, norm, thr=t, visible=visible)
        pck_at[f"{t:g}"] = {"mean": round(mean, 5), "per_landmark": _clean(per)}
    n = joints.shape[1]
    nme_per = [nme(pred[:, j:j + 1], joints[:, j:j + 1], norm, visible[:, j:j + 1])
               for j in range(n)]
    curve = np.array([pck(pred, joints, norm, thr=t, visible=visible)[1]
                      for t in CURVE_THRESHOLDS])
    auc = float(((curve[1:] + curve[:-1]) / 2 * np.diff(CURVE_THRESHOLDS)).sum())
    return {"pck": pck_at,
            "nme": {"mean": round(nme(pred, joints, norm, visible=visible), 5),
                    "per_landmark": _clean(nme_per)},
            "auc": round(auc / AUC_MAX_THRESHOLD, 5),
            "pck_curve": {"thresholds": _clean(CURVE_THRESHOLDS), "pck": _clean(curve)},
            "num_visible": int(torch.as_tensor(visible).sum())}


def protocol_metrics(protocol: str | None, pred, joints, norm, visible, names) -> dict:
    """The data set's own protocol (photos.LandmarkFormat.protocol), JSON-able; {} if none.
    "pckh": MPII's PCKh@0.5 table (002_..., Table 5); "nme": 300-W's per-image NME by the
    inter-ocular distance (the items' norm) and by the landmarks' box diagonal, AUC@0.08
    and failure rate at 0.08 of the former; "pck": PCK@0.1 / 0.2 of the norm (COCO's
    person box) per landmark."""
    if protocol == "pckh":
        return {"name": f"MPII PCKh@{PCKH_THR:g}", "threshold": PCKH_THR,
                "parts": pckh_table(pred, joints, norm, visible, names, MPII_PARTS)}
    if protocol == "nme":
        iod = per_sample_nme(pred, joints, norm, visible)
        diag = per_sample_nme(pred, joints, box_diagonal(joints, visible), visible)
        c = ced_auc(iod, FACE_AUC_LIMIT)
        return {"name": "300-W NME", "nme_inter_ocular": round(float(np.nanmean(iod)), 5),
                "nme_box_diagonal": round(float(np.nanmean(diag)), 5),
                f"auc@{FACE_AUC_LIMIT:g}": round(c["auc"], 5),
                f"failure_rate@{FACE_AUC_LIMIT:g}": round(c["failure_rate"], 5),
                "ced": {"thresholds": _clean(c["thresholds"]), "fraction": _clean(c["ced"])},
                "per_image_nme": _clean(iod)}
    if protocol == "pck":
        return {"name": "PCK (COCO keypoints, normalised by the person box's larger side)",
                **{f"pck@{t:g}": dict(zip(("per_landmark", "mean"), (
                    _clean(pck(pred, joints, norm, t, visible)[0]),
                    round(pck(pred, joints, norm, t, visible)[1], 5)))) for t in (0.1, 0.2)}}
    return {}


@torch.no_grad()
def evaluate_model(model: nn.Module, data_name: str = DEFAULT_DATASET, split: str = "test",
                   size: int | None = None, thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                   *, batch: int = 64, progress: bool = False, keep_samples: int = 0,
                   root=None) -> dict:
    """Evaluate the last stack of `model` (which has a .cfg with name, input_size and
    num_landmarks) on the first `size` items of a registered data set's split (None: all
    of a file data set, 500 of a procedural one; all items if it has fewer). `root`: the
    folder of a file data set (photos.py).

    Returns landmark_metrics() plus "model", "data", "split", "num_samples", "norm_name",
    "landmark_names". With keep_samples=K also "samples": the first K items' tensors
    (image, joints, visible, norm) and their predictions "pred", for plot_landmarks(); pop
    it before writing the dict as JSON. Raises EvaluationError for an unknown data set or
    one whose landmarks do not match the model's.
    """
    cfg = model.cfg
    try:
        ds = make_dataset(data_name, cfg.input_size, cfg.num_landmarks, split,
                          length=size if size is not None or root is not None else 500,
                          root=root)
    except ValueError as e:
        raise EvaluationError(f"data set '{data_name}' for model '{cfg.name}' "
                              f"({cfg.num_landmarks} landmarks): {e}") from None
    names, norm_name = list(ds.joint_names), ds.norm_name
    if len(names) != cfg.num_landmarks:
        raise EvaluationError(f"data set '{data_name}' has {len(names)} landmarks but model "
                              f"'{cfg.name}' predicts {cfg.num_landmarks}")
    skipped, protocol = getattr(ds, "skipped", None), getattr(ds, "protocol", None)
    if size is not None and len(ds) > size:
        ds = Subset(ds, range(size))
    was_training = model.training
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("joints", "visible", "norm", "pred")}
    images = []
    try:
        for b in tqdm(DataLoader(ds, batch_size=batch), desc=f"{data_name} {split}",
                      disable=not progress, leave=False):
            parts["pred"].append(decode_heatmaps(model(b["image"])))
            for k in ("joints", "visible", "norm"):
                parts[k].append(b[k])
            if sum(len(x) for x in images) < keep_samples:
                images.append(b["image"])
    finally:
        model.train(was_training)
    d = {k: torch.cat(v) for k, v in parts.items()}
    result = {"model": cfg.name, "data": data_name, "split": split,
              "num_samples": len(d["pred"]), "norm_name": norm_name, "landmark_names": names,
              **landmark_metrics(d["pred"], d["joints"], d["norm"], d["visible"], thresholds),
              "protocol": protocol_metrics(protocol, d["pred"], d["joints"], d["norm"],
                                           d["visible"], names)}
    if skipped is not None:
        result["skipped_records"] = skipped
    if keep_samples > 0:
        k = min(keep_samples, len(d["pred"]))
        result["samples"] = {"image": torch.cat(images)[:k],
                             **{key: v[:k] for key, v in d.items()}}
    return result


def _landmark_colours(n: int) -> list:
    import matplotlib
    if n <= 10:
        return [matplotlib.colormaps["tab10"](j) for j in range(n)]
    if n <= 20:
        return [matplotlib.colormaps["tab20"](j) for j in range(n)]
    return [matplotlib.colormaps["gist_rainbow"](j / (n - 1)) for j in range(n)]


def figure_pixels(num_samples: int) -> tuple[int, int]:
    """(width, height) in pixels of the landmarks.png of plot_landmarks()."""
    rows = math.ceil(num_samples / PANELS_PER_ROW)
    return (round(PANELS_PER_ROW * PANEL_INCHES * DPI),
            round((rows * PANEL_INCHES + STATS_ROW_INCHES) * DPI))


def plot_landmarks(result: dict, path: str | os.PathLike, title: str = "") -> Path:
    """Draw evaluate_model()'s result (with "samples") to a PNG, written atomically: a grid
    of the sample images with the true landmarks (circles) and the predictions (crosses)
    joined by error lines, one colour per landmark; below it per-landmark PCK bars and the
    PCK curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = result.get("samples") or {"image": torch.zeros(0)}
    k, names = len(samples["image"]), result["landmark_names"]
    colours = _landmark_colours(len(names))
    marker = 30 if len(names) <= 20 else 10  # 68 face points need smaller marks
    rows = math.ceil(k / PANELS_PER_ROW)
    w_px, h_px = figure_pixels(k)
    fig = plt.figure(figsize=(w_px / DPI, h_px / DPI), dpi=DPI)
    grid = fig.add_gridspec(rows + 1, PANELS_PER_ROW,
                            height_ratios=[PANEL_INCHES] * rows + [STATS_ROW_INCHES])
    for i in range(k):
        ax = fig.add_subplot(grid[i // PANELS_PER_ROW, i % PANELS_PER_ROW])
        img = samples["image"][i].permute(1, 2, 0).numpy()
        ax.imshow(img, interpolation="nearest")  # pixel centres at integer coordinates
        vis = samples["visible"][i].numpy()
        size = img.shape[0]
        true = heatmap_to_image(samples["joints"][i].numpy(), size, size // 4)
        pred = heatmap_to_image(samples["pred"][i].numpy(), size, size // 4)
        for j in np.flatnonzero(vis):
            c = colours[j]
            ax.plot(*zip(true[j], pred[j]), color=c, lw=1)
            ax.scatter(*true[j], s=marker, facecolors="none", edgecolors=[c], lw=1.5)
            ax.scatter(*pred[j], s=marker, marker="x", color=c, lw=1.5)
        err = nme(samples["pred"][i:i + 1], samples["joints"][i:i + 1],
                  samples["norm"][i:i + 1], samples["visible"][i:i + 1])
        ax.set_title(f"#{i}  NME {err:.3f}", fontsize=9)
        ax.set_xlim(-0.5, img.shape[1] - 0.5)
        ax.set_ylim(img.shape[0] - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])

    bars = fig.add_subplot(grid[rows, :PANELS_PER_ROW // 2 + 1])
    thr_keys = list(result["pck"])
    width = 0.8 / max(len(thr_keys), 1)
    x = np.arange(len(names))
    for t, key in enumerate(thr_keys):
        per = [np.nan if v is None else v for v in result["pck"][key]["per_landmark"]]
        bars.bar(x + (t - (len(thr_keys) - 1) / 2) * width, per, width,
                 color=colours, alpha=0.5 + 0.5 * t / max(len(thr_keys) - 1, 1),
                 edgecolor="black", lw=0.3, label=f"PCK@{key}")
    bars.set_xticks(x, names if len(names) <= 20 else [str(j) for j in x],
                    rotation=60 if len(names) <= 20 else 90, fontsize=7 if len(names) <= 20 else 4)
    bars.set_ylim(0, 1)
    bars.set_ylabel("PCK")
    bars.set_title("per landmark (lighter: smaller threshold)", fontsize=9)

    curve = fig.add_subplot(grid[rows, PANELS_PER_ROW // 2 + 1:])
    proto = result.get("protocol") or {}
    if "ced" in proto:      # 300-W: the cumulative error distribution of the per-image NME
        c = proto["ced"]
        curve.plot(c["thresholds"], c["fraction"], color="black")
        curve.fill_between(c["thresholds"], c["fraction"], alpha=0.15, color="black")
        curve.set_xlim(0, FACE_AUC_LIMIT)
        curve.set_xlabel("per-image NME (x inter-ocular distance)", fontsize=7)
        curve.set_ylabel("fraction of images", fontsize=7)
    else:
        c = result["pck_curve"]
        curve.plot(c["thresholds"], c["pck"], color="black")
        curve.fill_between(c["thresholds"], c["pck"], alpha=0.15, color="black")
        curve.set_xlim(0, AUC_MAX_THRESHOLD)
        curve.set_xlabel(f"threshold (x {result['norm_name']})", fontsize=7)
    curve.set_ylim(0, 1)
    curve.set_title("; ".join(protocol_lines(proto)) or
                    f"PCK curve, AUC {result['auc']:.3f}, NME {result['nme']['mean']:.3f}",
                    fontsize=7 if proto else 9, wrap=True)
    curve.grid(alpha=0.3)

    fig.suptitle(title or f"{result['model']} on {result['data']} {result['split']} "
                 f"({result['num_samples']} samples)")
    fig.tight_layout()
    try:
        return write_atomic(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))
    finally:
        plt.close(fig)


def _check_writable(out: Path) -> None:
    """Refuse an --out that cannot become a directory, before spending time evaluating."""
    try:
        check_writable_dir(out, "--out", keep=False)
    except OutputPathError as e:
        raise EvaluationError(str(e)) from None


def write_outputs(result: dict, out: Path, title: str = "") -> None:
    """landmarks.png, then metrics.json (so a complete metrics.json means a complete run);
    a directory this call creates is removed again if writing fails."""
    first_new = next((p for p in [*reversed(out.parents), out] if not p.exists()), None)
    out.mkdir(parents=True, exist_ok=True)
    try:
        plot_landmarks(result, out / "landmarks.png", title)
        metrics = {k: v for k, v in result.items() if k != "samples"}
        write_atomic(out / "metrics.json",
                      lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=1) + "\n"))
    except BaseException:
        if first_new is not None:
            shutil.rmtree(first_new, ignore_errors=True)
        raise


def print_table(result: dict, untrained: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    keys = list(result["pck"])
    names = result["landmark_names"]
    table = Table(title=f"{result['model']} on {result['data']} {result['split']}"
                  + (" [bold red](UNTRAINED)[/]" if untrained else ""))
    table.add_column("landmark")
    for key in keys:
        table.add_column(f"PCK@{key}", justify="right")
    table.add_column("NME", justify="right")

    def fmt(v):
        return "-" if v is None else f"{v:.3f}"

    if len(names) <= 20:  # a face's 68 points would drown the summary: they are in the JSON
        for j, name in enumerate(names):
            table.add_row(name, *[fmt(result["pck"][k]["per_landmark"][j]) for k in keys],
                          fmt(result["nme"]["per_landmark"][j]))
    table.add_row("[bold]mean[/]", *[f"[bold]{result['pck'][k]['mean']:.3f}[/]" for k in keys],
                  f"[bold]{result['nme']['mean']:.3f}[/]")
    console = Console()
    console.print(table)
    console.print(f"AUC (PCK curve 0..{AUC_MAX_THRESHOLD:g}) {result['auc']:.3f}; "
                  f"{result['num_samples']} samples; normalizer: {result['norm_name']}",
                  highlight=False)
    for line in protocol_lines(result.get("protocol") or {}):
        console.print(line, highlight=False)
    if result.get("skipped_records"):
        console.print("skipped records: " + ", ".join(
            f"{k}: {v}" for k, v in sorted(result["skipped_records"].items())), highlight=False)


def protocol_lines(p: dict) -> list[str]:
    """The protocol's figures as the papers print them (percent)."""
    def pct(v):
        return "-" if v is None else f"{100 * v:.1f}"

    if "parts" in p:
        parts = p["parts"]
        return [f"{p['name']} (%):  " + "  ".join(f"{k} {pct(v)}" for k, v in parts.items())]
    if "nme_inter_ocular" in p:
        k = f"{FACE_AUC_LIMIT:g}"
        return [f"{p['name']} (%): inter-ocular {pct(p['nme_inter_ocular'])}, box diagonal "
                f"{pct(p['nme_box_diagonal'])}; AUC@{k} {pct(p[f'auc@{k}'])}, failure rate "
                f"@{k} {pct(p[f'failure_rate@{k}'])}"]
    if p:
        return [f"{p['name']}: " + ", ".join(f"{k} {pct(v['mean'])} %" for k, v in p.items()
                                            if isinstance(v, dict))]
    return []


def parse_thresholds(s: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {s!r}")
    if not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"thresholds must be in (0, 1], got {s!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m brevitas_models.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="trained network (brevitas_models.train --out)")
    src.add_argument("--preset", help="a preset as flow/build.py builds it: its shipped "
                                      "trained checkpoint, if the project has one")
    p.add_argument("--untrained", action="store_true",
                   help="with --preset: its untrained initialisation (a chance baseline)")
    p.add_argument("--data", default=DEFAULT_DATASET,
                   help=f"data set: {', '.join(DATASETS)} (default: %(default)s)")
    p.add_argument("--data-root", help="the folder of a data set of local files (mpii, coco, "
                                       "300w, pts: see brevitas_models/README.md)")
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--size", type=positive_int,
                   help="samples (default: all of a file data set, 500 of a procedural one)")
    p.add_argument("--thresholds", type=parse_thresholds, default=DEFAULT_THRESHOLDS,
                   help="PCK thresholds, comma-separated (default: 0.1,0.2)")
    p.add_argument("--out", help="output directory (default: build/eval/<model>-<data>-<split>)")
    p.add_argument("--samples", type=int, default=8, help="images in landmarks.png")
    p.add_argument("--batch", type=positive_int, default=64)
    p.add_argument("--threads", type=positive_int, default=2, help="torch intra-op threads")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        if a.checkpoint:
            if a.untrained:
                raise ConfigError("--untrained goes with --preset, not with --checkpoint")
            model, cfg = load_checkpoint(a.checkpoint)
            source = f"checkpoint {a.checkpoint}"
        else:
            model, cfg, source = load_preset(a.preset, trained=not a.untrained)
        untrained = source.startswith("untrained")
        # An untrained baseline gets its own directory: it must not overwrite a real result.
        out = Path(a.out or f"build/eval/{cfg.name}{'-untrained' if untrained else ''}"
                             f"-{a.data}-{a.split}")
        _check_writable(out)
        result = evaluate_model(model, a.data, a.split, a.size, a.thresholds, batch=a.batch,
                                progress=a.progress, keep_samples=max(a.samples, 0),
                                root=a.data_root)
        result.update(source=source, trained=not untrained)
        write_outputs(result, out, title=("UNTRAINED " if untrained else "")
                      + f"{cfg.name} on {a.data} {a.split} ({result['num_samples']} samples)")
    except (CheckpointError, ConfigError, EvaluationError, DataFormatError, OSError) as e:
        # One line: torch's unpickling errors, quoted by CheckpointError, run to paragraphs.
        print(f"error: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if untrained:
        print(f"*** {source}: these metrics are a chance-level baseline ***".upper())
    print_table(result, untrained)
    print(f"wrote {out / 'metrics.json'} and {out / 'landmarks.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
