"""QONNX -> FINN-ONNX: FINN's own ConvertQONNXtoFINN, the entry of the front end."""
from __future__ import annotations

import warnings


def convert_to_finn(model):
    """QONNX Quant/BipolarQuant nodes -> FINN MultiThreshold + scale Mul/Add (FINN's
    ConvertQONNXtoFINN), shapes and datatypes inferred, every node uniquely named."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from qonnx.transformation.general import GiveUniqueNodeNames
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes

    with warnings.catch_warnings():
        # qonnx's layout inference notes that it takes 4D tensors as NCHW, which ours are.
        warnings.filterwarnings("ignore", message="Assuming 4D input is NCHW")
        model = model.transform(ConvertQONNXtoFINN())
        model = model.transform(InferShapes()).transform(InferDataTypes())
        # unique node names, so that every later message can name the node at fault
        return model.transform(GiveUniqueNodeNames())
