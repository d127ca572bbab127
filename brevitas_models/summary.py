"""Model summary: layers, parameters, binary vs 8-bit weight bits, MACs.

    python -m brevitas_models.summary hg-hpm-paper [--layers]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import torch
from brevitas.nn import QuantConv2d
from torch import nn

from .config import ConfigError
from .config import HGConfig
from .config import PRESETS
from .config import get_preset
from .hourglass import build_model


@dataclass
class ConvInfo:
    name: str
    cin: int
    cout: int
    kernel: int
    out_hw: tuple[int, int]
    weight_bits: int  # 1 or 8
    macs: int

    @property
    def weights(self) -> int:
        return self.cin * self.cout * self.kernel * self.kernel


@dataclass
class ModelSummary:
    config: HGConfig
    params: int
    convs: list[ConvInfo]

    @property
    def binary_weight_bits(self) -> int:
        return sum(c.weights for c in self.convs if c.weight_bits == 1)

    @property
    def int8_weight_bits(self) -> int:
        return sum(8 * c.weights for c in self.convs if c.weight_bits == 8)

    @property
    def binary_macs(self) -> int:
        return sum(c.macs for c in self.convs if c.weight_bits == 1)

    @property
    def int8_macs(self) -> int:
        return sum(c.macs for c in self.convs if c.weight_bits == 8)


def is_binary_conv(m: nn.Module) -> bool:
    return isinstance(m, QuantConv2d) and int(m.quant_weight().bit_width) == 1


def summarize(model: nn.Module, cfg: HGConfig) -> ModelSummary:
    """Trace one frame through `model` and record every convolution's shape and cost."""
    convs: list[ConvInfo] = []
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, QuantConv2d):
            def hook(mod, inp, out, name=name):
                h, w = out.shape[-2:]
                k = mod.kernel_size[0]
                bits = 1 if is_binary_conv(mod) else 8
                convs.append(ConvInfo(name, mod.in_channels, mod.out_channels, k, (h, w), bits,
                                      mod.in_channels * mod.out_channels * k * k * h * w))
            hooks.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.rand(1, cfg.in_channels, cfg.input_size, cfg.input_size))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return ModelSummary(cfg, params, convs)


def format_summary(s: ModelSummary, layers: bool = False) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(record=True, width=110)
    cfg = s.config
    if layers:
        t = Table(title=f"{cfg.name}: convolutions in execution order")
        for col in ("layer", "in", "out", "k", "out HxW", "bits", "MMACs"):
            t.add_column(col, justify="right" if col != "layer" else "left")
        for c in s.convs:
            t.add_row(c.name, str(c.cin), str(c.cout), str(c.kernel),
                      f"{c.out_hw[0]}x{c.out_hw[1]}", str(c.weight_bits), f"{c.macs / 1e6:.2f}")
        console.print(t)
    t = Table(title=f"{cfg.name}", show_header=False)
    t.add_row("block / arch / stacks", f"{cfg.block} / {cfg.arch} / {cfg.stacks}")
    t.add_row("channels / depth", f"{cfg.channels} / {cfg.depth}")
    t.add_row("input / heatmaps", f"{cfg.input_size}x{cfg.input_size}x{cfg.in_channels} -> "
              f"{cfg.heatmap_size}x{cfg.heatmap_size}x{cfg.num_landmarks}")
    t.add_row("residual stream", f"{cfg.res_bits}-bit, shared scale" if cfg.res_bits
              else "float (ablation, not buildable)")
    t.add_row("parameters (all, incl. BN/PReLU)", f"{s.params:,} ({s.params / 1e6:.2f} M)")
    nb = sum(1 for c in s.convs if c.weight_bits == 1)
    t.add_row("binary convs / weight bits", f"{nb} / {s.binary_weight_bits:,} "
              f"({s.binary_weight_bits / 2**20:.3f} Mibit)")
    t.add_row("8-bit convs / weight bits", f"{len(s.convs) - nb} / {s.int8_weight_bits:,}")
    t.add_row("binary MACs / frame", f"{s.binary_macs / 1e6:,.1f} M")
    t.add_row("8-bit MACs / frame", f"{s.int8_macs / 1e6:,.1f} M")
    console.print(t)
    return console.export_text()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m brevitas_models.summary",
                                description="Print the summary of a model preset.")
    p.add_argument("preset", nargs="?", default="hg-hpm-z2",
                   help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--layers", action="store_true", help="also list every convolution")
    args = p.parse_args(argv)
    try:
        cfg = get_preset(args.preset)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    format_summary(summarize(build_model(cfg), cfg), layers=args.layers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
