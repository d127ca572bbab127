"""Residual blocks of the binary hourglass (002_..., Fig. 7)."""
from __future__ import annotations

import torch
from torch import nn

from .layers import BinaryConvUnit
from .layers import SharedRequant
from .layers import UnitKind


class Skip(nn.Module):
    """Identity path of a block whose input and output widths may differ.

    cin == cout: identity. cin == 2*cout (a block right after a U-Net concatenation, Fig. 11):
    the sum of the two halves, parameter-free, so the improved HG keeps Table 10's 5.8 M.
    Otherwise: a binary 1x1 projection.
    """

    def __init__(self, cin: int, cout: int, unit: UnitKind, res_quant: SharedRequant):
        super().__init__()
        self.cin, self.cout = cin, cout
        self.res_quant = res_quant
        self.proj = (BinaryConvUnit(cin, cout, 1, unit)
                     if cin not in (cout, 2 * cout) else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cin == self.cout:
            return x
        if self.cin == 2 * self.cout:
            return self.res_quant(x[:, :self.cout] + x[:, self.cout:])
        return self.res_quant(self.proj(x))


class HPMBlock(nn.Module):
    """Hierarchical, parallel & multi-scale block (Fig. 7e; Fig. 1b at 192 channels).

    Three 3x3 binary convs cin -> cout/2 -> cout/4 -> cout/4, each output requantized to the
    residual stream, concatenated (cout channels) and added to the identity path.
    """

    def __init__(self, cin: int, cout: int, unit: UnitKind, res_quant: SharedRequant):
        super().__init__()
        self.res_quant = res_quant
        self.conv1 = BinaryConvUnit(cin, cout // 2, 3, unit)
        self.conv2 = BinaryConvUnit(cout // 2, cout // 4, 3, unit)
        self.conv3 = BinaryConvUnit(cout // 4, cout // 4, 3, unit)
        self.skip = Skip(cin, cout, unit, res_quant)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rq = self.res_quant
        c1 = rq(self.conv1(x))
        c2 = rq(self.conv2(c1))
        c3 = rq(self.conv3(c2))
        return rq(torch.cat([c1, c2, c3], dim=1) + self.skip(x))


class BottleneckBlock(nn.Module):
    """Pre-activation bottleneck (Fig. 7a): 1x1 cin -> cout/2, 3x3, 1x1 -> cout, + identity.

    The two inner outputs only feed the next sign(), so they are not requantized: in hardware
    that is a single threshold on the popcount.
    """

    def __init__(self, cin: int, cout: int, unit: UnitKind, res_quant: SharedRequant):
        super().__init__()
        self.res_quant = res_quant
        self.conv1 = BinaryConvUnit(cin, cout // 2, 1, unit)
        self.conv2 = BinaryConvUnit(cout // 2, cout // 2, 3, unit)
        self.conv3 = BinaryConvUnit(cout // 2, cout, 1, unit)
        self.skip = Skip(cin, cout, unit, res_quant)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.res_quant(self.conv3(self.conv2(self.conv1(x))))
        return self.res_quant(y + self.skip(x))


BLOCK_TYPES = {"hpm": HPMBlock, "bottleneck": BottleneckBlock}
