"""The golden model against FINN/qonnx execution of the graph it was lowered from.

Every hardware stream that holds a FINN tensor exactly (the lowering's probes: value =
(a*code + b)/div) is compared code for code; each output is compared through its
dequantization, as integers: round((finn - bias) / scale) must equal the golden code (the
8-bit layers accumulate exactly in hardware, while the FINN graph sums scaled floats).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from dataclasses import field

import numpy as np

from .. import golden
from ..hwgraph import HwGraph


@dataclass
class Comparison:
    streams_checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)      # hw output -> golden codes [N, H, W, C]


def finn_execute(model, images: np.ndarray, on_frame=None) -> list[dict]:
    """FINN/qonnx execution of each uint8 frame (fed as p/255), full contexts."""
    from qonnx.core.onnx_exec import execute_onnx

    iname = model.graph.input[0].name
    ctxs = []
    with warnings.catch_warnings():
        # qonnx notes that MultiThreshold outputs 0..255 under an INT8 annotation (FINN
        # writes the -128 as the next Add): expected, not an error.
        warnings.simplefilter("ignore")
        for img in images:
            x = (img[None].astype(np.float64) / 255.0).astype(np.float32)
            ctxs.append(execute_onnx(model, {iname: x}, return_full_exec_context=True))
            if on_frame:
                on_frame()
    return ctxs


def compare_with_finn(g: HwGraph, model, images: np.ndarray, on_frame=None) -> Comparison:
    res = Comparison()
    ctxs = finn_execute(model, images, on_frame)
    env = golden.execute(g, {g.inputs[0]: golden.images_to_stream(images)}, keep_all=True)
    for hw, (finn_name, a, b, div) in sorted(g.meta.get("probes", {}).items()):
        if hw not in env or finn_name not in ctxs[0]:
            continue     # a stream the transformations removed
        ref = np.concatenate([c[finn_name] for c in ctxs])
        val = ((a * env[hw].astype(np.float64) + b) / div).astype(np.float32)
        res.streams_checked += 1
        if not np.array_equal(val.transpose(0, 3, 1, 2), ref):
            bad = np.mean(val.transpose(0, 3, 1, 2) != ref)
            res.mismatches.append(f"stream '{hw}' (FINN tensor '{finn_name}'): "
                                  f"{bad:.2%} of values differ")
    for out in g.outputs:
        dq = g.dequant[out]
        ref = np.concatenate([c[dq["source"]] for c in ctxs]).transpose(0, 2, 3, 1)
        codes = np.rint((ref.astype(np.float64) - dq["bias"]) / dq["scale"])
        res.streams_checked += 1
        if not np.array_equal(codes, env[out]):
            res.mismatches.append(f"output '{out}': {np.mean(codes != env[out]):.2%} of "
                                  "integer outputs differ")
        res.outputs[out] = env[out]
    return res
