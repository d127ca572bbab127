"""Ablation: block type and the improved-training techniques, on the procedural figures.

Every run trains the same small network size with identical data, seed and schedule:

  blocks (equal parameters, PReLU, baseline recipe)
    binary HPM block  |  binary bottleneck widened to the HPM's parameter count  |
    real-valued HPM (real weights and activations, float residual: also the teacher)
  techniques on the binary HPM, added one by one as in 003_... Table 1
    ReLU  ->  LeakyReLU  ->  PReLU  ->  + reverse-order init  ->  + progressive
    quantization  ->  + distillation from the real-valued HPM

    python -m brevitas_models.experiments.ablation            # ~25 min on one core

It prints a markdown table and writes build/ablation/ablation.{json,png}. Runs with other
seeds (--seed, --out; one per core in parallel) are summarised by

    python -m brevitas_models.experiments.ablation --combine build/ablation*/ablation.json

which prints val PCK@0.2 per seed, their mean and range, per row.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from . import experiment_parser  # noqa: E402
from ..config import HGConfig  # noqa: E402
from ..config import get_preset  # noqa: E402
from ..datasets import make_dataset  # noqa: E402
from ..files import write_atomic  # noqa: E402
from ..hourglass import build_model  # noqa: E402
from ..metrics import DEFAULT_PCK_THR  # noqa: E402
from ..train import Progressive  # noqa: E402
from ..train import Recipe  # noqa: E402
from ..train import render_split  # noqa: E402
from ..train import train_recipe  # noqa: E402
from .residual_precision import prior_baseline  # noqa: E402


def n_params(cfg: HGConfig) -> int:
    return sum(p.numel() for p in build_model(cfg).parameters())


def matched_bottleneck(hpm: HGConfig) -> HGConfig:
    """The bottleneck network whose width (a multiple of 8) comes closest to the HPM
    network's parameter count (as the papers compare blocks, Fig. 1b)."""
    target = n_params(hpm)
    widths = range(8, 4 * hpm.channels + 1, 8)
    best = min(widths, key=lambda c: abs(n_params(hpm.replace(block="bottleneck",
                                                               channels=c)) - target))
    return hpm.replace(name=f"{hpm.name}-bottleneck", block="bottleneck", channels=best)


def runs(base: HGConfig):
    """(group, label, config, recipe or a function of the finished runs -> recipe)."""
    prog = Progressive()
    real = base.replace(weights="real", acts="real", res_bits=None)
    return [
        ("blocks", "binary HPM block", base, Recipe()),
        ("blocks", "binary bottleneck block", matched_bottleneck(base), Recipe()),
        ("blocks", "real-valued HPM block", real, Recipe()),
        ("techniques", "ReLU (baseline of [3])", base.replace(act="relu"), Recipe()),
        ("techniques", "LeakyReLU", base.replace(act="leakyrelu"), Recipe()),
        ("techniques", "PReLU", base, Recipe()),
        ("techniques", "PReLU + reverse-order init", base, Recipe(reverse_init=True)),
        ("techniques", "+ progressive quantization", base,
         Recipe(reverse_init=True, progressive=prog)),
        ("techniques", "+ distillation (real teacher)", base,
         lambda done: Recipe(reverse_init=True, progressive=prog,
                             teacher=done["real-valued HPM block"]["model"])),
    ]


def plot(rows: list[dict], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, group in zip(axes, ("blocks", "techniques")):
        for r in (r for r in rows if r["group"] == group):
            pcks = [h["val_pck"] for h in r["history"]]   # both stages of reverse-order init
            ax.plot(range(1, len(pcks) + 1), pcks, marker="o", ms=3, label=r["label"])
        ax.set(title=group, xlabel="epoch (of both stages)", ylabel=f"val PCK@{DEFAULT_PCK_THR}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    finally:
        plt.close(fig)


def combine(paths: list[str]) -> list[str]:
    """The markdown table of several seeds' ablation.json: val PCK@0.2 per seed, mean, range."""
    results = [json.loads(Path(p).read_text()) for p in paths]
    seeds = [r["args"]["seed"] for r in results]
    labels = [(row["group"], row["label"], row["params"]) for row in results[0]["runs"]]
    by_seed = [{row["label"]: row["val_pck"] for row in r["runs"]} for r in results]
    table = [f"| group | network / recipe | parameters | "
             + " | ".join(f"seed {s}" for s in seeds) + " | mean | range |",
             "|---|---|---|" + "---|" * (len(seeds) + 2)]
    for group, label, params in labels:
        v = [b[label] for b in by_seed if label in b]
        if len(v) != len(seeds):
            raise ValueError(f"row '{label}' is missing from some of {', '.join(paths)}")
        table.append(f"| {group} | {label} | {params:,} | "
                     + " | ".join(f"{x:.3f}" for x in v)
                     + f" | **{sum(v) / len(v):.3f}** | {max(v) - min(v):.3f} |")
    return table


def main(argv: list[str] | None = None) -> list[dict]:
    p = experiment_parser("ablation", __doc__)
    p.add_argument("--only", help="comma-separated labels to run (default: all)")
    p.add_argument("--out", default="build/ablation")
    p.add_argument("--combine", nargs="+", metavar="JSON",
                   help="summarise finished runs (their ablation.json) instead of training")
    a = p.parse_args(argv)
    if a.combine:
        print("\n".join(combine(a.combine)))
        return []

    base = get_preset(a.preset).replace(input_size=a.input_size)
    val_ds = make_dataset("sticks", base.input_size, base.num_landmarks, "val", a.val_size)
    prior = prior_baseline(base, render_split(val_ds))
    print(f"{base.name} @ {base.input_size}x{base.input_size}: {a.epochs} epochs x "
          f"{a.train_size} samples, val {a.val_size}; predicting the mean joint position "
          f"scores PCK@{DEFAULT_PCK_THR} {prior:.3f}", flush=True)
    only = set(a.only.split(",")) if a.only else None
    done, trained, rows, t0 = {}, {}, [], time.perf_counter()
    for group, label, cfg, recipe in runs(base):
        if only and label not in only:
            continue
        if callable(recipe):
            recipe = recipe(done)
        print(f"--- {label}: {cfg.block}, C={cfg.channels}, {cfg.act}, weights {cfg.weights}, "
              f"acts {cfg.acts}, {n_params(cfg):,} parameters", flush=True)
        same = next((r for key, r in trained.items() if key == (cfg, recipe)), None)
        if same is not None:   # e.g. "PReLU" is the "binary HPM block" run: training is
            print("   the same network and recipe as an earlier row: its result", flush=True)
            r = same           # deterministic, so a second run would repeat it exactly
        else:
            r = train_recipe(cfg, recipe, a.epochs, train_size=a.train_size,
                             val_size=a.val_size, batch=a.batch, lr=a.lr, seed=a.seed,
                             progress=a.progress, threads=a.threads,
                             log=lambda s: print("   " + s, flush=True))
            trained[(cfg, recipe)] = r
        done[label] = r
        rows.append({"group": group, "label": label, "config": cfg.to_dict(),
                     "params": n_params(cfg), "val_pck": r["val_pck"],
                     "val_pck@0.1": r["val_pck@0.1"], "val_nme": r["val_nme"],
                     "train_loss": r["train_loss"], "wall_time": r["wall_time"],
                     "history": r["history"]})

    table = [f"| group | network / recipe | parameters | val PCK@{DEFAULT_PCK_THR} | "
             "val PCK@0.1 | val NME | time |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['group']} | {r['label']} | {r['params']:,} | {r['val_pck']:.3f} | "
                     f"{r['val_pck@0.1']:.3f} | {r['val_nme']:.3f} | {r['wall_time']:.0f} s |")
    total = time.perf_counter() - t0
    print("\n" + "\n".join(table) + f"\n\nmean-position baseline PCK@{DEFAULT_PCK_THR} "
          f"{prior:.3f}; total {total:.0f} s")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = json.dumps({"config": base.to_dict(), "args": vars(a), "prior_pck": prior,
                          "total_time": total, "runs": rows, "table": table}, indent=1)
    write_atomic(out / "ablation.json", lambda tmp: Path(tmp).write_text(summary))
    plot(rows, out / "ablation.png")
    print(f"wrote {out / 'ablation.json'} and {out / 'ablation.png'}")
    return rows


if __name__ == "__main__":
    main()
