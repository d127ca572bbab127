"""QONNX -> FINN-ONNX: FINN's own ConvertQONNXtoFINN, the entry of the front end.

Around it: the source graph cleaned with its names kept, the input encoding read from it
(flow/encoding.py), what FINN refuses checked first and said in the user's words, FINN's own
exceptions wrapped with what to change, the thresholds made to round as the source quantizers
do (rounding.py), and the map from FINN's renamed nodes back to the user's kept in the graph
(source_graph.py).
"""
from __future__ import annotations

import json
import warnings

from .source_graph import RULES
from .source_graph import ConversionError

# ConvertQONNXtoFINN turns activation quantizers of at most this many bits into
# MultiThreshold nodes (its default filter) and leaves wider ones unconverted, which nothing
# after it can build: the widest activation (the residual stream) the flow builds.
MAX_ACTIVATION_BITS = 8
MIN_ACTIVATION_BITS = 2
# metadata of the FINN graph: the input encoding read from the source
INPUT_ENCODING = "binhg_input_encoding"
# metadata of the FINN graph: the source's activation quantizer outputs, in its order
QUANT_OUTPUTS = "binhg_quant_outputs"

__all__ = ["ConversionError", "convert_to_finn", "check_source", "check_activation_bits",
           "read_encoding", "MAX_ACTIVATION_BITS", "MIN_ACTIVATION_BITS", "SOURCE_OPS"]


def convert_to_finn(model):
    """QONNX Quant/BipolarQuant nodes -> FINN MultiThreshold + scale Mul/Add (FINN's
    ConvertQONNXtoFINN), shapes and datatypes inferred, every node uniquely named, the
    source's node names, input encoding and rounding kept. A Relu before a signed quantizer
    is taken as the PRelu of slope 0 it equals (relu.py)."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from qonnx.transformation.general import GiveUniqueNodeNames
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes

    from .relu import ReluToPRelu
    from .rounding import MatchSourceRounding
    from .source_graph import name_finn_nodes
    from .source_graph import quantizer_records
    from .source_graph import save_names

    with warnings.catch_warnings():
        # qonnx's layout inference notes that it takes 4D tensors as NCHW, which ours are.
        warnings.filterwarnings("ignore", message="Assuming 4D input is NCHW")
        model, origins, encoding = check_source(model)
        records = quantizer_records(model)
        quant_outputs = [n.output[0] for n in model.graph.node
                         if n.op_type in ("Quant", "BipolarQuant")
                         and model.get_initializer(n.input[0]) is None]
        model = model.transform(ReluToPRelu())
        try:
            model = fold_weight_quantizers(model)
            model = model.transform(ConvertQONNXtoFINN())
        except (ValueError, AssertionError, RuntimeError, KeyError, TypeError) as e:
            raise ConversionError(f"FINN's ConvertQONNXtoFINN refused the graph: "
                                  f"{type(e).__name__}: {e}. The rules for a network the flow "
                                  f"compiles: {RULES}") from None
        model = model.transform(MatchSourceRounding(records))
        model = model.transform(InferShapes()).transform(InferDataTypes())
        # unique node names, so that every later message can name the node at fault; the
        # map back to the user's names goes with the graph
        model = model.transform(GiveUniqueNodeNames())
        save_names(model, name_finn_nodes(model, origins))
        model.set_metadata_prop(INPUT_ENCODING, json.dumps(encoding.to_dict()))
        model.set_metadata_prop(QUANT_OUTPUTS, json.dumps(quant_outputs))
        return model


class _ShapesLater:
    """Stands in for qonnx's InferShapes inside FINN's FoldQuantWeights: changes nothing."""

    def apply(self, model):
        return model, False


def fold_weight_quantizers(model):
    """The first half of FINN's ConvertQONNXtoFINN, its own transformations in its order
    (the Conv/Gemm fix-ups, FoldTransposeIntoQuantInit, InferDataTypes, FoldQuantWeights),
    with the shapes inferred once after all weight folds instead of after each.
    ConvertQONNXtoFINN then repeats the fix-ups (which change nothing the second time)
    and finds no weight quantizer left.

    Why: FoldQuantWeights folds one weight per pass and runs InferShapes after each; that
    wraps the model anew, which checks every tensor's shape by a scan of all value infos:
    passes x tensors^2. hg-hpm-paper's conversion took 110 s, its two-stack version more
    than 13 minutes (py-spy: 60 % of the time in that check). A fold needs no shape that
    an earlier fold removed: each rewires only its own weight's consumer, and reads only the
    shapes of its quantizer's input and its consumer's output. tests/test_lowering.py
    compares the result with FINN's unchanged conversion."""
    from finn.transformation.qonnx import convert_qonnx_to_finn as finn_convert
    from finn.transformation.qonnx import fold_quant_weights
    from qonnx.transformation.extract_conv_bias import ExtractBiasFromConv
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.quant_constant_folding import FoldTransposeIntoQuantInit

    for t in (finn_convert.InferMissingConvKernelShape(), ExtractBiasFromConv(),
              finn_convert.InferMissingGemmBias(), GemmToMatMul(),
              FoldTransposeIntoQuantInit(), InferDataTypes()):
        model = model.transform(t)
    fold_quant_weights.InferShapes = _ShapesLater
    try:
        model = model.transform(fold_quant_weights.FoldQuantWeights())
    finally:
        fold_quant_weights.InferShapes = InferShapes
    return model.transform(InferShapes())


# The ops of a source graph the flow converts and lowers (after qonnx's cleanup): the
# quantizers, the layers the hardware has, and the float ops it folds into thresholds.
SOURCE_OPS = ("Quant", "BipolarQuant", "Conv", "MaxPool", "Resize", "Upsample", "Concat",
              "Slice", "Pad", "Identity", "Mul", "Div", "Add", "Sub", "BatchNormalization",
              "PRelu", "Relu", "LeakyRelu")


def check_source(model):
    """The source QONNX graph checked before any long step: cleaned with its names kept
    (source_graph.prepare_source), its input encoding read, and what the flow or FINN's
    conversion refuses said in the user's node names. Returns (prepared graph, {tensor:
    Origin}, InputEncoding); raises ConversionError."""
    from .source_graph import prepare_source
    from .source_graph import read_input_encoding
    from .source_graph import tensor_origins

    quant = [n for n in model.graph.node if n.op_type in ("Quant", "BipolarQuant")]
    if not quant:
        raise ConversionError("the graph has no Quant or BipolarQuant node: it is not a QONNX "
                              "graph (a plain ONNX float model has no integer hardware); export "
                              "the Brevitas model with brevitas.export.export_qonnx")
    try:
        model = prepare_source(model)
    except Exception as e:  # noqa: BLE001 - a graph qonnx cannot even clean
        raise ConversionError(f"qonnx cannot read the graph ({type(e).__name__}: {e}); "
                              "is it a QONNX export (Brevitas export_qonnx)?") from None
    origins = tensor_origins(model)
    for node in model.graph.node:
        if node.op_type not in SOURCE_OPS:
            raise ConversionError(
                f"node {origins[node.output[0]].describe()}: op {node.op_type} is not one the "
                f"flow builds; supported: {', '.join(SOURCE_OPS)} ({RULES})")
    encoding = read_input_encoding(model, origins)
    check_activation_bits(model, origins)
    check_finn_support(model, origins)
    return model, origins, encoding


def read_encoding(model):
    """The InputEncoding convert_to_finn stored in a FINN graph, or None."""
    from ..encoding import InputEncoding

    raw = model.get_metadata_prop(INPUT_ENCODING)
    return InputEncoding.from_dict(json.loads(raw)) if raw else None


def check_activation_bits(model, origins=None) -> None:
    """Refuse, naming the node, an activation quantizer wider than FINN converts."""
    origins = origins or {}
    for node in model.graph.node:
        if node.op_type != "Quant" or model.get_initializer(node.input[0]) is not None:
            continue           # a weight quantizer: FINN folds it into the weights
        bits = model.get_initializer(node.input[3])
        where = origins[node.output[0]].describe() if node.output[0] in origins else \
            f"'{node.name}' (Quant)"
        if bits is not None and float(bits) > MAX_ACTIVATION_BITS:
            raise ConversionError(
                f"node {where}: an activation quantizer of {float(bits):g} bits; "
                f"the flow builds activations of {MIN_ACTIVATION_BITS} to "
                f"{MAX_ACTIVATION_BITS} bits (FINN's ConvertQONNXtoFINN turns only those "
                "into thresholds)")
        if bits is not None and float(bits) < MIN_ACTIVATION_BITS:
            raise ConversionError(
                f"node {where}: a {float(bits):g}-bit Quant activation; a sign activation "
                "is a BipolarQuant (Brevitas' SignedBinaryActPerTensorConst), multi-bit ones "
                f"have {MIN_ACTIVATION_BITS} to {MAX_ACTIVATION_BITS} bits")


def check_finn_support(model, origins) -> None:
    """What FINN's conversion refuses with a bare exception, said first with the node and
    what to change."""
    for node in model.graph.node:
        where = origins[node.output[0]].describe()
        is_weight = model.get_initializer(node.input[0]) is not None
        if node.op_type == "Quant":
            zp = model.get_initializer(node.input[2])
            if zp is None or (zp != 0).any():
                raise ConversionError(
                    f"node {where}: a quantizer with zero point "
                    f"{'(not constant)' if zp is None else zp.ravel()[:4].tolist()}; FINN "
                    "converts zero-point-0 quantizers only: use a symmetric or unsigned one "
                    "(e.g. Int8ActPerTensorFloat, Uint8ActPerTensorFloat)")
        if node.op_type == "BipolarQuant" and not is_weight:
            s = model.get_initializer(node.input[1])
            if s is None or s.size != 1 or float(s.ravel()[0]) != 1.0:
                raise ConversionError(
                    f"node {where}: a sign activation of scale "
                    f"{'(not constant)' if s is None else s.ravel()[:4].tolist()}; FINN takes "
                    "sign activations of scale 1 (Brevitas' SignedBinaryActPerTensorConst): "
                    "move the scale into the BatchNorm before it or the layer after")
        if node.op_type in ("Quant", "BipolarQuant") and is_weight:
            readers = model.find_consumers(node.output[0]) or []
            if len(readers) != 1:
                raise ConversionError(f"node {where}: quantized weights read by "
                                      f"{len(readers)} nodes; give each layer its own weights")
            r = readers[0]
            if r.op_type not in ("Conv", "MatMul", "Mul", "Div", "Add", "Sub", "Gemm"):
                raise ConversionError(
                    f"node {where}: quantized weights of node "
                    f"{origins[r.output[0]].describe()}; the flow takes quantized weights of "
                    "convolutions only")
            if r.op_type == "Conv" and len(r.input) > 2 and r.input[2] == node.output[0]:
                raise ConversionError(
                    f"node {where}: a quantized conv bias; keep the bias in float "
                    "(QuantConv2d(..., bias=True) without bias_quant): the flow folds it into "
                    "the thresholds or the output's dequantization")
