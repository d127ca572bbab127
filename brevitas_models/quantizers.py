"""Every quantizer of the binary hourglass networks, in one place.

Integer semantics the hardware relies on (see README, "Quantization scheme"):

* binary weights: sign(W) in {-1, +1} times one per-layer scale alpha = mean(|W|) (eq. (1) of
  Bulat & Tzimiropoulos, TPAMI); alpha is folded into the thresholds that follow, so the
  hardware sees only the sign bits.
* binary activations: sign(x) in {-1, +1}, scale 1 (exported as a QONNX BipolarQuant).
* the input image: the uint8 pixels p with the scale 2**-8, i.e. p/256 (close to the papers'
  [0, 1] input, so the stem's output range suits the residual quantizer).
* first and last layer weights: signed 8-bit, one power-of-two scale per layer. With
  power-of-two input and weight scales, every partial sum of the first layer is exactly
  representable in float32, so PyTorch, onnxruntime and the hardware round it identically.
* the residual / skip stream: signed 8-bit with ONE learned scale shared by the whole network,
  so that concatenation, addition, max-pooling and upsampling of that stream are plain integer
  operations (an addition is followed by a saturating clip, nothing else).
"""
from __future__ import annotations

from brevitas.core.quant import BinaryQuant
from brevitas.core.scaling import ScalingImplType
from brevitas.core.stats import StatsOp
from brevitas.core.function_wrapper import TensorClamp
from brevitas.inject.enum import ScalingPerOutputType
from brevitas.quant.base import SignedBinaryClampedConst
from brevitas.quant.scaled_int import Int8ActPerTensorFloat
from brevitas.quant.scaled_int import Uint8ActPerTensorFloat
from brevitas.quant.fixed_point import Int8WeightPerTensorFixedPoint
from brevitas.quant.solver import ActQuantSolver
from brevitas.quant.solver import WeightQuantSolver


class BinaryWeightMeanAbs(SignedBinaryClampedConst, WeightQuantSolver):
    """sign(W) * mean(|W|), one scale per layer (XNOR-Net / eq. (1)).

    Plain BinaryQuant (straight-through sign) instead of the clamped variant: clamping the
    latent weights to alpha = mean(|W|) would zero the gradient of most of them.
    """
    tensor_quant = BinaryQuant
    scaling_impl_type = ScalingImplType.STATS
    scaling_stats_op = StatsOp.AVE
    scaling_per_output_type = ScalingPerOutputType.TENSOR


class BipolarSignAct(SignedBinaryClampedConst, ActQuantSolver):
    """sign(x) in {-1, +1} with a straight-through gradient clipped to |x| <= 1."""
    tensor_clamp_impl = TensorClamp
    scaling_const = 1.0
    min_val = -1.0
    max_val = 1.0


class Int8Weight(Int8WeightPerTensorFixedPoint):
    """8-bit weights of the first and last layer (per-layer power-of-two scale)."""
    narrow_range = True


class ImageInputQuant(Uint8ActPerTensorFloat):
    """uint8 pixels p as p * 2**-8: the range 255/256 over 255 levels gives the scale 2**-8."""
    scaling_impl_type = ScalingImplType.CONST
    scaling_const = 255.0 / 256.0
    max_val = 255.0 / 256.0


def residual_act_quant(bits: int):
    """Signed `bits`-bit quantizer of the residual stream (scale learned, shared)."""
    return Int8ActPerTensorFloat.let(bit_width=bits)
