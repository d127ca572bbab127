"""QONNX -> FINN-ONNX: FINN's own ConvertQONNXtoFINN, the entry of the front end."""
from __future__ import annotations

import warnings

# ConvertQONNXtoFINN turns activation quantizers of at most this many bits into
# MultiThreshold nodes (its default filter) and leaves wider ones unconverted, which nothing
# after it can build: the widest activation (the residual stream) the flow builds.
MAX_ACTIVATION_BITS = 8
MIN_ACTIVATION_BITS = 2


class ConversionError(ValueError):
    """A QONNX graph FINN's conversion cannot take; the message names the node."""


def convert_to_finn(model):
    """QONNX Quant/BipolarQuant nodes -> FINN MultiThreshold + scale Mul/Add (FINN's
    ConvertQONNXtoFINN), shapes and datatypes inferred, every node uniquely named. A Relu
    before a signed quantizer is taken as the PRelu of slope 0 it equals (relu.py)."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from qonnx.transformation.general import GiveUniqueNodeNames
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes

    from .relu import ReluToPRelu

    check_activation_bits(model)
    with warnings.catch_warnings():
        # qonnx's layout inference notes that it takes 4D tensors as NCHW, which ours are.
        warnings.filterwarnings("ignore", message="Assuming 4D input is NCHW")
        model = model.transform(ReluToPRelu())
        model = model.transform(ConvertQONNXtoFINN())
        model = model.transform(InferShapes()).transform(InferDataTypes())
        # unique node names, so that every later message can name the node at fault
        return model.transform(GiveUniqueNodeNames())


def check_activation_bits(model) -> None:
    """Refuse, naming the node, an activation quantizer wider than FINN converts."""
    for node in model.graph.node:
        if node.op_type != "Quant" or model.get_initializer(node.input[0]) is not None:
            continue           # a weight quantizer: FINN folds it into the weights
        bits = model.get_initializer(node.input[3])
        if bits is not None and float(bits) > MAX_ACTIVATION_BITS:
            raise ConversionError(
                f"node '{node.name}' (Quant): an activation quantizer of {float(bits):g} bits; "
                f"the flow builds activations of {MIN_ACTIVATION_BITS} to "
                f"{MAX_ACTIVATION_BITS} bits (FINN's ConvertQONNXtoFINN turns only those "
                "into thresholds)")
