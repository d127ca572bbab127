"""FINN graph -> hardware graph: the golden model equals FINN/qonnx execution of the FINN
graph (every stream, code for code) and the Brevitas model (the heatmap layer's integer
accumulators), for every preset; bad graphs are refused naming the node."""
from __future__ import annotations

import re

import numpy as np
import onnx
import pytest

from brevitas_models import PRESETS
from flow import golden
from flow.hwgraph import HwGraph
from flow.frontend.transforms import (AbsorbClipIntoAdd, AbsorbThresholdsIntoMVTU,
                               RemoveIdentityThresholds, streamline)
from flow.frontend.lower import LoweringError, lower_to_hw
from flow.frontend.verify import compare_with_finn
from modelutil import HeatmapIntegers, hardware_graph, uint8_batch

PAPER = [p for p in PRESETS if p.endswith("-paper")]
# FINN's ConvertQONNXtoFINN grows faster than quadratically with the graph (a per-node
# rewrite to a fixpoint, linear shape look-ups): hg-hpm-paper takes minutes, the two-stack
# paper network far longer. The default run keeps the paper's flagship network; the other
# paper-size presets run with `pytest -m slow`.
SLOW = [p for p in PAPER if p != "hg-hpm-paper"]


@pytest.mark.parametrize("name", [pytest.param(p, marks=pytest.mark.slow) if p in SLOW else p
                                  for p in PRESETS])
def test_golden_equals_finn_and_brevitas(name, preset_artifacts, finn_graph):
    art = preset_artifacts(name)
    finn = finn_graph(name)
    g = hardware_graph(finn)
    kinds = g.count_kinds()
    assert kinds["xnor_mvtu"] >= 10 and kinds["int_mvtu"] >= 2
    # every requantizer and BN/PReLU chain became integer thresholds: no float left
    assert set(kinds) <= {"threshold", "sliding_window", "xnor_mvtu", "int_mvtu", "maxpool",
                          "upsample", "concat", "add", "duplicate", "slice_channels"}

    images = uint8_batch(art.cfg, 1 if name in PAPER else 2, seed=1)
    res = compare_with_finn(g, finn, images)
    assert not res.mismatches, res.mismatches[:3]
    assert res.streams_checked >= kinds["xnor_mvtu"]

    assert_golden_is_brevitas(g, res.outputs, art.model, images)


def assert_golden_is_brevitas(g, outputs, model, images):
    """The golden model's heatmap accumulators are the Brevitas model's, integer for integer
    (from the codes of the residual stream its heatmap layer reads), and the PyTorch heatmaps
    are those up to float32 rounding."""
    (out,) = g.outputs
    hm = HeatmapIntegers(model, (images / 255.0).astype(np.float32))
    np.testing.assert_array_equal(hm.acc.transpose(0, 2, 3, 1), outputs[out])
    hm.assert_close(hm.out, "PyTorch")
    heat = golden.dequantize(g, out, outputs[out])
    np.testing.assert_allclose(heat, hm.exact(), rtol=1e-6, atol=1e-6 * np.abs(hm.exact()).max())


@pytest.fixture
def tiny(finn_graph):
    """A fresh copy of the tiny FINN graph (the tests below damage it)."""
    return finn_graph("hg-hpm-tiny")


def test_streamline_keeps_the_function_and_folds_thresholds(tiny):
    g = lower_to_hw(tiny)
    x = golden.images_to_stream(uint8_batch(PRESETS["hg-hpm-tiny"], 2, seed=3))
    before = golden.execute(g, {"input": x})
    n_thr = g.count_kinds()["threshold"]
    streamline(g)
    after = golden.execute(g, {"input": x})
    assert list(before) == list(after)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
    kinds = g.count_kinds()
    # input quantizer dropped; each conv's requantizer in its MVTU; each residual add saturates
    assert kinds["threshold"] < n_thr - kinds["xnor_mvtu"]
    for n in g.nodes:
        if n.kind in ("xnor_mvtu", "int_mvtu") and n.outputs[0] not in g.outputs:
            assert "thresholds" in n.arrays or "rq_mul" in n.arrays, n.name
    # the binary convs' 8-bit requantizers all took the compact two-piece form
    xnor = [n for n in g.nodes if n.kind == "xnor_mvtu"]
    assert all("rq_mul" in n.arrays for n in xnor), [n.name for n in xnor]
    assert not any(t.apply(g) for t in (RemoveIdentityThresholds(), AbsorbClipIntoAdd(),
                                        AbsorbThresholdsIntoMVTU()))


def test_hw_graph_survives_onnx_round_trip(tiny, tmp_path):
    g = hardware_graph(tiny)
    g.save(tmp_path / "hw.onnx")
    g2 = HwGraph.load(tmp_path / "hw.onnx")
    onnx.checker.check_model(onnx.load(tmp_path / "hw.onnx"))
    x = golden.images_to_stream(uint8_batch(PRESETS["hg-hpm-tiny"], 1, seed=4))
    a, b = golden.execute(g, {"input": x}), golden.execute(g2, {"input": x})
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert g2.count_kinds() == g.count_kinds()
    np.testing.assert_array_equal(g2.dequant[g2.outputs[0]]["scale"],
                                  g.dequant[g.outputs[0]]["scale"])


def _first(model, op_type, pred=lambda n: True):
    return next(n for n in model.graph.node if n.op_type == op_type and pred(n))


def source_name(model, node) -> str:
    """How the lowering's messages name a FINN node: as the source graph's node."""
    from flow.frontend.source_graph import load_names

    return re.escape(f"node {load_names(model)[node.name].describe()}")


def test_unsupported_op_is_named(tiny):
    node = _first(tiny, "PRelu")
    node.op_type = "Tanh"
    del node.input[1:]
    with pytest.raises(LoweringError, match=source_name(tiny, node)
                       + " as FINN's Tanh: not supported"):
        lower_to_hw(tiny)


def test_non_binary_weights_on_binary_activations_are_named(tiny):
    conv = _first(tiny, "Conv", lambda n: tiny.get_tensor_datatype(n.input[0]).name == "BIPOLAR")
    w = tiny.get_initializer(conv.input[1])
    tiny.set_initializer(conv.input[1], w * 0.5)
    with pytest.raises(LoweringError, match=source_name(tiny, conv) + r": .*not \+-1"):
        lower_to_hw(tiny)


def test_zero_padding_of_binary_activations_is_refused(tiny):
    pad = _first(tiny, "Pad")
    tiny.set_initializer(pad.input[2], np.zeros((), dtype=np.float32))
    with pytest.raises(LoweringError, match=source_name(tiny, pad) + ".*has no zero"):
        lower_to_hw(tiny)


def test_negative_prelu_slope_is_refused_naming_the_node(tiny):
    mt_after = {}
    prelu = _first(tiny, "PRelu")
    slope = tiny.get_initializer(prelu.input[1])
    tiny.set_initializer(prelu.input[1], -np.ones_like(slope))
    for n in tiny.graph.node:
        if n.op_type == "MultiThreshold" and n.input[0] == prelu.output[0]:
            mt_after = n
    with pytest.raises(LoweringError, match=source_name(tiny, mt_after) + ".*not monotone"):
        lower_to_hw(tiny)


def test_two_graph_inputs_are_refused(tiny):
    extra = onnx.helper.make_tensor_value_info("extra", onnx.TensorProto.FLOAT, [1, 3, 4, 4])
    tiny.graph.input.append(extra)
    with pytest.raises(LoweringError, match="2 inputs"):
        lower_to_hw(tiny)




def test_relu_the_papers_baseline_lowers_bit_exact(tmp_path):
    """HGConfig(act="relu"): FINN's ConvertQONNXtoFINN refuses a Relu before the signed
    residual quantizer; the front end takes it as the PRelu of slope 0 it equals
    (flow/frontend/relu.py), which the lowering folds into thresholds. Golden == FINN ==
    Brevitas."""
    from qonnx.core.modelwrapper import ModelWrapper

    from brevitas_models.export import export_qonnx
    from flow.frontend.convert import convert_to_finn
    from modelutil import calibrated_model

    m, cfg = calibrated_model("hg-hpm-tiny", act="relu")
    qonnx = ModelWrapper(str(export_qonnx(m, cfg, tmp_path / "relu.onnx")))
    assert "Relu" in {n.op_type for n in qonnx.graph.node}
    finn = convert_to_finn(qonnx)
    ops = {n.op_type for n in finn.graph.node}
    assert "Relu" not in ops and "PRelu" in ops
    g = hardware_graph(finn)
    images = uint8_batch(cfg, 2, seed=1)
    res = compare_with_finn(g, finn, images)
    assert not res.mismatches, res.mismatches[:3]
    assert_golden_is_brevitas(g, res.outputs, m, images)


def _canonical(model) -> tuple:
    """A graph up to the names FINN makes up at random (make_new_valueinfo_name): every
    tensor named by the order it first appears in, each node with its op, attributes, and
    inputs and outputs so renamed, each tensor's initializer, shape and datatype."""
    names: dict[str, str] = {}

    def name(t: str) -> str:
        return names.setdefault(t, f"t{len(names)}") if t else ""

    nodes = []
    for n in model.graph.node:
        nodes.append((n.op_type, n.domain, n.name, [a.SerializeToString() for a in n.attribute],
                      [name(t) for t in n.input], [name(t) for t in n.output]))
    tensors = {}
    for t, c in names.items():
        init = model.get_initializer(t)
        tensors[c] = (model.get_tensor_shape(t), str(model.get_tensor_datatype(t)),
                      None if init is None else (init.dtype.str, init.shape, init.tobytes()))
    return nodes, tensors, [name(t.name) for t in model.graph.output]


def test_weight_folds_with_shapes_inferred_once_give_finns_graph(preset_artifacts, finn_graph,
                                                                 monkeypatch):
    """convert_to_finn folds the weight quantizers with one shape inference after all
    folds (flow/frontend/convert.py, fold_weight_quantizers): the FINN graph is the one
    FINN's ConvertQONNXtoFINN makes on its own, node for node, up to the tensor names FINN
    draws at random: the same initializers, shapes and datatypes."""
    from qonnx.core.modelwrapper import ModelWrapper

    from flow.frontend import convert

    ours = _canonical(finn_graph("hg-hpm-tiny"))
    monkeypatch.setattr(convert, "fold_weight_quantizers", lambda model: model)
    finns = _canonical(convert.convert_to_finn(
        ModelWrapper(str(preset_artifacts("hg-hpm-tiny").qonnx))))
    assert ours[0] == finns[0]
    assert ours[2] == finns[2]
    assert ours[1].keys() == finns[1].keys()
    for t in ours[1]:
        assert ours[1][t] == finns[1][t], t
