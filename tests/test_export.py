"""QONNX export of every preset, executed by qonnx/onnxruntime, equals the PyTorch model."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from brevitas_models import PRESETS, build_model, get_preset
from brevitas_models.export import ExportError, execute_qonnx, export_qonnx
from modelutil import HeatmapIntegers
from modelutil import uint8_images

REPO = Path(__file__).resolve().parents[1]


def initializer(graph, name):
    for init in graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    return None


@pytest.mark.parametrize("name", list(PRESETS))
def test_export_matches_pytorch(name, preset_artifacts):
    a = preset_artifacts(name)
    m, cfg, path = a.model, a.cfg, a.qonnx
    graph = onnx.load(path).graph
    ops = {n.op_type for n in graph.node}
    assert {"Quant", "BipolarQuant", "Conv"} <= ops

    # Every multi-bit activation quantizer of the residual stream shares one scale.
    res_scale = float(m.res_quant.act_quant.scale().detach())
    act_scales: set[float] = set()
    for node in graph.node:
        if node.op_type == "Quant" and initializer(graph, node.input[0]) is None:
            act_scales.add(float(initializer(graph, node.input[1])))
    np.testing.assert_allclose(sorted(act_scales), sorted([2.0**-8, res_scale]), rtol=1e-6)

    for seed in range(2):
        x = uint8_images(cfg, 1, seed)
        # Integer domain: the heatmap layer's accumulators, exactly, from the integer codes
        # of the residual stream it reads; PyTorch and the QONNX graph executed by
        # onnxruntime are both those accumulators up to float32 rounding (bounded for any
        # summation order: it was |acc - round(acc)| < 0.01, about 10 ulps at 11,700, and
        # failed under load on some CPUs' kernels).
        hm = HeatmapIntegers(m, x)
        hm.assert_close(hm.out, "PyTorch")
        out = execute_qonnx(path, x)
        assert out.shape == hm.out.shape
        hm.assert_close(out, "QONNX (onnxruntime)")


def test_float_residual_cannot_be_exported(tmp_path):
    cfg = get_preset("hg-hpm-tiny").replace(res_bits=None)
    with pytest.raises(ExportError, match="res_bits=None"):
        export_qonnx(build_model(cfg), cfg, tmp_path / "x.onnx")
    assert not list(tmp_path.iterdir())


def test_export_cli_refuses_corrupt_checkpoint_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    out = tmp_path / "out.onnx"
    r = subprocess.run([sys.executable, "-m", "brevitas_models.export", "hg-hpm-tiny",
                        "--checkpoint", str(bad), "-o", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert "bad.pt" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
