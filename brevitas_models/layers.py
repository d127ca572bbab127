"""The layer units every block is made of."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv2d
from brevitas.nn import QuantIdentity
from dataclasses import dataclass
from torch import nn

from .quantizers import BinaryWeightMeanAbs
from .quantizers import BipolarSignAct
from .quantizers import ImageInputQuant
from .quantizers import Int8Weight
from .quantizers import residual_act_quant

# A +-1 activation has no zero, so binary convolutions pad with -1 (bit 0 in hardware).
# Training, the golden model and the hardware all use this value.
BINARY_PAD_VALUE = -1.0


def make_act(kind: str, channels: int) -> nn.Module:
    if kind == "prelu":
        return nn.PReLU(channels, init=0.25)
    if kind == "leakyrelu":
        return nn.LeakyReLU(0.1)
    if kind == "relu":
        return nn.ReLU()
    return nn.Identity()


def make_residual_quant(bits: int | None) -> nn.Module:
    """The requantizer of the residual stream; ONE instance is shared by a whole network."""
    if bits is None:
        return nn.Identity()
    return QuantIdentity(act_quant=residual_act_quant(bits))


class SharedRequant:
    """A reference to the network's one residual requantizer, held by blocks and heads.

    Deliberately not an nn.Module: registering the shared quantizer under every block would
    list it many times in the state dict and break Brevitas' lazy scale initialisation on
    load. The network registers it once, as `res_quant`.
    """

    def __init__(self, module: nn.Module):
        self.module = module

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


@dataclass(frozen=True)
class UnitKind:
    """What every inner conv unit of a network is: its non-linearity and the precision of
    its weights and input activations (HGConfig.act / weights / acts)."""
    act: str = "prelu"
    weights: str = "binary"
    acts: str = "binary"

    @classmethod
    def of(cls, cfg) -> "UnitKind":
        return cls(cfg.act, cfg.weights, cfg.acts)


class BinaryConvUnit(nn.Module):
    """Pre-activation binary conv: BN -> sign -> pad(-1) -> XNOR conv -> non-linearity.

    In hardware, BN + sign become one threshold per input channel, the convolution an
    XNOR-popcount, and the non-linearity (monotone) folds into the thresholds that follow.

    Training variants (never built to hardware): real weights and/or real activations
    (UnitKind), and `soft_beta`: while set, training replaces sign(x) by tanh(beta * x),
    the smooth progressive quantization of 003_..., Sec. 3.4 (eval always uses the sign).
    """

    def __init__(self, cin: int, cout: int, kernel: int, unit: UnitKind):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.sign = (QuantIdentity(act_quant=BipolarSignAct) if unit.acts == "binary"
                     else None)
        self.soft_beta: float | None = None
        self.pad = kernel // 2
        self.conv = QuantConv2d(cin, cout, kernel, padding=0, bias=False,
                                weight_quant=(BinaryWeightMeanAbs if unit.weights == "binary"
                                              else None))
        self.act = make_act(unit.act, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(x)
        if self.sign is None:
            pad_value = 0.0                     # a real-valued conv pads with zeros
        else:
            pad_value = BINARY_PAD_VALUE
            x = (torch.tanh(self.soft_beta * x) if self.soft_beta is not None and self.training
                 else self.sign(x))
        if self.pad:
            x = F.pad(x, [self.pad] * 4, value=pad_value)
        return self.act(self.conv(x))


class Stem(nn.Module):
    """First layer at 8 bits: image -> 7x7/2 conv (8-bit weights) -> requant.

    The network takes images x = p/255 in [0, 1] (as the papers do); the stem re-expresses
    them as p/256, the same uint8 pixels p with a power-of-two scale, which keeps the first
    conv exact in float32. No BN/non-linearity here: the next block starts with BN -> sign,
    and an exact stem keeps every backend bit-identical.
    """

    def __init__(self, cin: int, cout: int, res_quant: SharedRequant):
        super().__init__()
        self.input_quant = QuantIdentity(act_quant=ImageInputQuant)
        self.conv = QuantConv2d(cin, cout, 7, stride=2, padding=3, bias=False,
                                weight_quant=Int8Weight)
        self.res_quant = res_quant

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_quant(self.conv(self.input_quant(x * (255.0 / 256.0))))


class HeatmapHead(nn.Module):
    """Last layer at 8 bits: 1x1 conv (8-bit weights) from the residual stream to heatmaps.

    Its bias is kept in float: the hardware streams out integer accumulators and the host
    applies scale and bias when it dequantizes the heatmaps.
    """

    def __init__(self, cin: int, num_landmarks: int):
        super().__init__()
        self.conv = QuantConv2d(cin, num_landmarks, 1, bias=True, weight_quant=Int8Weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
