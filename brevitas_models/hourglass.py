"""Binary hourglass networks: single HG (Fig. 2), U-Net-like HG (Fig. 11), stacks (Fig. 12)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import BLOCK_TYPES
from .config import HGConfig
from .layers import BinaryConvUnit
from .layers import HeatmapHead
from .layers import SharedRequant
from .layers import Stem
from .layers import UnitKind
from .layers import make_residual_quant


class Hourglass(nn.Module):
    """One recursive hourglass level.

    "hg"  : out = block(x) + up(block(hg(block(pool(x)))))                (Newell et al.)
    "unet": out = concat(x, up(block(hg(block(pool(x))))))  -> 2C channels; the residual
            blocks of the up-branch are removed and the block after each merge takes 2C.
    """

    def __init__(self, cfg: HGConfig, level: int, res_quant: SharedRequant):
        super().__init__()
        block, c, unit = BLOCK_TYPES[cfg.block], cfg.channels, UnitKind.of(cfg)
        self.unet = cfg.arch == "unet"
        self.res_quant = res_quant
        self.up1 = None if self.unet else block(c, c, unit, res_quant)
        self.low1 = block(c, c, unit, res_quant)
        if level > 1:
            self.low2 = Hourglass(cfg, level - 1, res_quant)
            merged = 2 * c if self.unet else c
        else:
            self.low2 = block(c, c, unit, res_quant)
            merged = c
        self.low3 = block(merged, c, unit, res_quant)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.low3(self.low2(self.low1(F.max_pool2d(x, 2))))
        up2 = F.interpolate(low, scale_factor=2, mode="nearest")
        if self.unet:
            return torch.cat([x, up2], dim=1)
        return self.res_quant(self.up1(x) + up2)


class StackHead(nn.Module):
    """After one hourglass: block -> binary 1x1 'lin' -> 8-bit heatmap layer."""

    def __init__(self, cfg: HGConfig, res_quant: SharedRequant):
        super().__init__()
        c = cfg.channels
        cin = 2 * c if cfg.arch == "unet" else c
        self.res_quant = res_quant
        self.block = BLOCK_TYPES[cfg.block](cin, c, UnitKind.of(cfg), res_quant)
        self.lin = BinaryConvUnit(c, c, 1, UnitKind.of(cfg))
        self.heatmap = HeatmapHead(c, cfg.num_landmarks)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.res_quant(self.lin(self.block(x)))
        return feat, self.heatmap(feat)


class StackMerge(nn.Module):
    """Input of the next stack: x + proj(features) + proj(heatmaps), all binary 1x1 convs."""

    def __init__(self, cfg: HGConfig, res_quant: SharedRequant):
        super().__init__()
        self.res_quant = res_quant
        self.proj_feat = BinaryConvUnit(cfg.channels, cfg.channels, 1, UnitKind.of(cfg))
        self.proj_heatmap = BinaryConvUnit(cfg.num_landmarks, cfg.channels, 1, UnitKind.of(cfg))

    def forward(self, x, feat, heatmap):
        rq = self.res_quant
        return rq(x + rq(self.proj_feat(feat)) + rq(self.proj_heatmap(heatmap)))


class BinaryHourglassNet(nn.Module):
    """Stem -> N x (hourglass -> head) with intermediate supervision.

    forward() returns the last stack's heatmaps (what the accelerator computes);
    forward_all() returns every stack's heatmaps for the training loss.
    """

    def __init__(self, cfg: HGConfig):
        super().__init__()
        self.cfg = cfg
        block, c, unit = BLOCK_TYPES[cfg.block], cfg.channels, UnitKind.of(cfg)
        self.res_quant = make_residual_quant(cfg.res_bits)
        rq = SharedRequant(self.res_quant)
        self.stem = Stem(cfg.in_channels, c // 4, rq)
        self.pre1 = block(c // 4, c // 2, unit, rq)
        self.pre2 = block(c // 2, c // 2, unit, rq)
        self.pre3 = block(c // 2, c, unit, rq)
        self.hourglasses = nn.ModuleList(Hourglass(cfg, cfg.depth, rq) for _ in range(cfg.stacks))
        self.heads = nn.ModuleList(StackHead(cfg, rq) for _ in range(cfg.stacks))
        self.merges = nn.ModuleList(StackMerge(cfg, rq) for _ in range(cfg.stacks - 1))

    def forward_all(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.pre1(self.stem(x))
        x = self.pre3(self.pre2(F.max_pool2d(x, 2)))
        outs = []
        for i, (hg, head) in enumerate(zip(self.hourglasses, self.heads)):
            feat, heat = head(hg(x))
            outs.append(heat)
            if i < len(self.merges):
                x = self.merges[i](x, feat, heat)
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[-1]


def build_model(cfg: HGConfig) -> BinaryHourglassNet:
    return BinaryHourglassNet(cfg)
