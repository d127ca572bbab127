"""ReLU before a signed quantizer, as FINN's ConvertQONNXtoFINN takes it.

The papers' baseline non-linearity is ReLU (HGConfig(act="relu")), and every binary conv's
output is requantized to the signed residual stream: Relu -> Quant(signed). FINN converts a
Relu -> Quant pair only when the Quant is unsigned and not narrow ("FINN only supports
unsigned and non-narrow Quant nodes for Relu activations"). But ReLU(x) = PRelu(x, slope 0),
and a PRelu before a Quant is an ordinary float node that FINN leaves in place, and our
lowering folds into the integer thresholds like any other per-channel chain (lower.py).
"""
from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.transformation.base import Transformation


class ReluToPRelu(Transformation):
    """Every Relu whose output feeds a signed or narrow Quant becomes PRelu with slope 0
    (same node name, same value: max(x, 0) = x for x >= 0, 0 * x for x < 0)."""

    def apply(self, model):
        for node in model.graph.node:
            if node.op_type != "Relu":
                continue
            readers = model.find_consumers(node.output[0]) or []
            if not any(r.op_type == "Quant" and _signed_or_narrow(r) for r in readers):
                continue
            slope = model.make_new_valueinfo_name()
            model.set_initializer(slope, np.zeros((1,), dtype=np.float32))
            node.op_type = "PRelu"
            node.input.append(slope)
        return model, False


def _signed_or_narrow(quant) -> bool:
    attrs = {a.name: helper.get_attribute_value(a) for a in quant.attribute}
    return bool(attrs.get("signed", 1)) or bool(attrs.get("narrow", 0))
