"""Network configuration: one frozen dataclass, validated, and the named presets."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A configuration that cannot be built; the message names the offending field."""


BLOCKS = ("hpm", "bottleneck")
ARCHS = ("hg", "unet")
ACTS = ("prelu", "leakyrelu", "relu", "none")
PRECISIONS = ("binary", "real")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}")


@dataclass(frozen=True)
class HGConfig:
    """A binary hourglass network.

    channels      width C of the hourglass (the paper: 256); stem widths are C/4 and C/2
    depth         number of 2x down-sampling levels inside one hourglass (the paper: 4)
    input_size    square input resolution; the stem divides it by 4, the hourglass by 2**depth
    num_landmarks heatmaps produced (16 MPII joints, 68 face points, ...)
    block         "hpm": hierarchical, parallel & multi-scale block (Fig. 7e / Fig. 1b);
                  "bottleneck": pre-activation bottleneck (Fig. 7a)
    arch          "hg": hourglass of Fig. 2; "unet": improved U-Net-like HG of Fig. 11
    stacks        number of stacked hourglasses with intermediate supervision (Fig. 12)
    act           non-linearity after every binary conv (PReLU per 003_..., Sec. 3.2)
    res_bits      bits of the residual/skip stream (shared scale); None = float (ablation only,
                  not buildable to hardware)
    weights       "binary" (sign(W) * mean|W|) or "real" weights of the inner convs: real
                  weights with binary activations are stage 1 of reverse-order initialization
                  (003_..., Sec. 3.3); only "binary" builds to hardware
    acts          "binary" (sign) or "real" activations into the inner convs; weights and acts
                  both "real" (with res_bits None) is the real-valued network of the ablation
    """

    name: str = "custom"
    channels: int = 256
    depth: int = 4
    input_size: int = 256
    num_landmarks: int = 16
    block: str = "hpm"
    arch: str = "hg"
    stacks: int = 1
    act: str = "prelu"
    res_bits: int | None = 8
    in_channels: int = 3
    weights: str = "binary"
    acts: str = "binary"

    def __post_init__(self) -> None:
        def need(ok: bool, field: str, msg: str) -> None:
            if not ok:
                raise ConfigError(f"config '{self.name}': field '{field}' = "
                                  f"{getattr(self, field)!r}: {msg}")

        # The name ends up in file and folder names (build/<name>-<board>, <name>.qonnx.onnx,
        # simulation caches): from a checkpoint, it must not be able to name a path.
        need(isinstance(self.name, str) and NAME_PATTERN.fullmatch(self.name) is not None,
             "name", "must be a plain name of at most 64 letters, digits, '.', '_', '+' or "
                     "'-', not starting with '.' or '-' (it names the build's files)")
        for f in ("channels", "depth", "input_size", "num_landmarks", "stacks", "in_channels"):
            v = getattr(self, f)
            need(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f,
                 "must be a positive integer")
        need(self.block in BLOCKS, "block", f"must be one of {', '.join(BLOCKS)}")
        need(self.arch in ARCHS, "arch", f"must be one of {', '.join(ARCHS)}")
        need(self.act in ACTS, "act", f"must be one of {', '.join(ACTS)}")
        for f in ("weights", "acts"):
            need(getattr(self, f) in PRECISIONS, f, f"must be one of {', '.join(PRECISIONS)}")
        # The stem's first block outputs C/2 and an HPM block splits its output into
        # halves and quarters, so C/8 must be whole.
        need(self.channels % 8 == 0, "channels",
             f"must be divisible by 8 (the {self.block} block of the stem splits C/2 into "
             "quarters)")
        factor = 4 * 2 ** self.depth
        need(self.input_size % factor == 0, "input_size",
             f"must be divisible by 4 * 2**depth = {factor} (stem /4, hourglass depth "
             f"{self.depth})")
        need(self.res_bits is None or (isinstance(self.res_bits, int) and 2 <= self.res_bits <= 16),
             "res_bits", "must be an integer in 2..16, or None for a float residual")

    @property
    def binary(self) -> bool:
        """Binary weights and activations: what the hardware computes."""
        return self.weights == "binary" and self.acts == "binary"

    @property
    def hg_size(self) -> int:
        """Resolution at the hourglass input (after the stem)."""
        return self.input_size // 4

    @property
    def heatmap_size(self) -> int:
        return self.hg_size

    def replace(self, **changes: Any) -> "HGConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "HGConfig":
        if not isinstance(d, dict):
            raise ConfigError(f"config must be a mapping, got {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        return cls(**d)


PRESETS: dict[str, HGConfig] = {
    # The paper's single binary HG with the proposed block: 256 channels, 256x256, 16 joints
    # (002_..., Table 2, Fig. 7e: 6.2 M parameters).
    "hg-hpm-paper": HGConfig(name="hg-hpm-paper"),
    # The binarized original bottleneck HG (Fig. 7a; Table 1/2: 3.5 M parameters).
    "hg-bottleneck-paper": HGConfig(name="hg-bottleneck-paper", block="bottleneck"),
    # Fig. 1b: the proposed block narrowed to 192 channels to match the bottleneck's size.
    "hg-hpm-matched-paper": HGConfig(name="hg-hpm-matched-paper", channels=192),
    # Improved U-Net-like HG (Fig. 11, Table 10: 5.8 M).
    "hg-unet-paper": HGConfig(name="hg-unet-paper", arch="unet"),
    # Two stacked binary HGs with intermediate supervision (Fig. 12, Table 11).
    "hg-hpm-2stack-paper": HGConfig(name="hg-hpm-2stack-paper", stacks=2),
    # Sized for a PYNQ-Z2 (xc7z020): < 1.5 Mbit of binary weights, 128x128 input.
    "hg-hpm-z2": HGConfig(name="hg-hpm-z2", channels=96, depth=4, input_size=128),
    # Small and fast, for tests and simulation.
    "hg-hpm-tiny": HGConfig(name="hg-hpm-tiny", channels=32, depth=2, input_size=32,
                            num_landmarks=5),
    "hg-unet-tiny": HGConfig(name="hg-unet-tiny", channels=32, depth=2, input_size=32,
                             num_landmarks=5, arch="unet"),
    "hg-bottleneck-tiny": HGConfig(name="hg-bottleneck-tiny", channels=32, depth=2,
                                   input_size=32, num_landmarks=5, block="bottleneck"),
    "hg-hpm-2stack-tiny": HGConfig(name="hg-hpm-2stack-tiny", channels=32, depth=2,
                                   input_size=32, num_landmarks=5, stacks=2),
    # Faces, 68 iBUG landmarks (faces.py): 64x64 input -> 16x16 heatmaps, on which the
    # outer eye corners of a 1.4x face crop are ~5-7 heatmap pixels apart (the NME norm).
    "hg-hpm-face-tiny": HGConfig(name="hg-hpm-face-tiny", channels=32, depth=2,
                                 input_size=64, num_landmarks=68),
}

DEFAULT_PRESET = "hg-hpm-z2"


def get_preset(name: str) -> HGConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset '{name}'; known presets: "
                          f"{', '.join(PRESETS)}") from None
