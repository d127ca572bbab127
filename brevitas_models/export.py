"""Export a binary hourglass to QONNX (Brevitas export_qonnx), cleaned with qonnx.

    python -m brevitas_models.export hg-hpm-tiny -o build/hg-hpm-tiny.onnx [--checkpoint F]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import CheckpointError
from .checkpoint import load_checkpoint
from .config import ConfigError
from .config import HGConfig
from .config import PRESETS
from .config import get_preset
from .hourglass import build_model


class ExportError(RuntimeError):
    pass


# torch.onnx warns about torchvision ops it cannot register; torchvision is not used here.
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


def export_qonnx(model: nn.Module, cfg: HGConfig, path: str | os.PathLike) -> Path:
    """Write the cleaned QONNX graph of `model` to `path` atomically and return the path.

    The graph input is the image as float in [0, 1] of shape (1, C, H, W); its first node is
    x * 255/256 and the 8-bit input quantizer (scale 2**-8): the hardware input is the uint8 image.
    """
    from brevitas.export import export_qonnx as brevitas_export_qonnx
    from qonnx.util.cleanup import cleanup_model
    from qonnx.core.modelwrapper import ModelWrapper

    if cfg.res_bits is None:
        raise ExportError(f"config '{cfg.name}': res_bits=None (float residual stream) "
                          "has no integer hardware semantics and cannot be exported")
    if not cfg.binary:
        raise ExportError(f"config '{cfg.name}': weights={cfg.weights!r}, acts={cfg.acts!r}: "
                          "only binary weights and activations build to hardware (real ones "
                          "are training stages and ablation baselines)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    x = torch.rand(1, cfg.in_channels, cfg.input_size, cfg.input_size)
    # The dynamo exporter may write external-data files beside its output: keep them in a
    # private folder, and move only the finished, cleaned graph into place.
    try:
        with tempfile.TemporaryDirectory(prefix=".tmp-export-", dir=path.parent) as tmpdir:
            raw = os.path.join(tmpdir, "raw.onnx")
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                # torch.onnx narrates every phase on stdout; keep the CLI readable.
                warnings.simplefilter("ignore")
                brevitas_export_qonnx(model, input_t=x, export_path=raw)
            clean = os.path.join(tmpdir, "clean.onnx")
            cleanup_model(ModelWrapper(raw)).save(clean)
            os.replace(clean, path)
    finally:
        model.train(was_training)
    return path


def execute_qonnx(path: str | os.PathLike, x: np.ndarray) -> np.ndarray:
    """Run the QONNX graph with qonnx's executor (onnxruntime per standard node)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    model = ModelWrapper(str(path))
    iname = model.graph.input[0].name
    oname = model.graph.output[0].name
    return execute_onnx(model, {iname: x.astype(np.float32)})[oname]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m brevitas_models.export",
                                description="Export a preset (optionally trained) to QONNX.")
    p.add_argument("preset", help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("-o", "--output", help="output .onnx (default build/<preset>.qonnx.onnx)")
    p.add_argument("--checkpoint", help="trained weights (.pt) written by this project")
    args = p.parse_args(argv)
    try:
        if args.checkpoint:
            model, cfg = load_checkpoint(args.checkpoint)
            if args.preset != cfg.name:
                raise ConfigError(f"checkpoint '{args.checkpoint}' holds model '{cfg.name}', "
                                  f"not the requested preset '{args.preset}'")
        else:
            cfg = get_preset(args.preset)
            torch.manual_seed(0)
            model = build_model(cfg)
        out = export_qonnx(model, cfg, args.output or f"build/{cfg.name}.qonnx.onnx")
    except (ConfigError, CheckpointError, ExportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
