"""HLS backend: every hls/ kernel compiled with g++ and C-simulated bit-exact against the golden
model (the same random layer graphs as the RTL tests), width converters and words wider than
64 bits, and the generator's refusals. Whole networks: sim/test_networks.py checks the build's
csim_hls step."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from flow import golden
from flow.measure.hls_csim import CsimError
from flow.measure.hls_csim import compile_csim
from flow.measure.hls_csim import csim_missing
from flow.measure.hls_csim import run_csim
from flow.backends.hlsgen import HlsError
from flow.backends.hlsgen import write_hls
from flow.hwgraph import HwGraph
from flow.hwgraph import HwNode
from flow.hwgraph import HwTensor
from sim.graphs import KINDS
from sim.graphs import random_graph

pytestmark = pytest.mark.skipif(csim_missing() is not None, reason=str(csim_missing()))


def _cache() -> Path:
    return Path(os.environ["BINHG_SIM_CACHE"]) / "csim"


def _csim(g, feeds, tmp_path):
    m = write_hls(g, tmp_path / "hls")
    return run_csim(compile_csim(tmp_path / "hls", _cache()), m, feeds).outputs


def _assert_equal(got, want):
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=f"output '{k}'")


@pytest.mark.parametrize("kind", KINDS)
def test_kernel_csim_bit_exact(kind, tmp_path):
    g, feeds = random_graph(kind, seed=0)
    _assert_equal(_csim(g, feeds, tmp_path), golden.execute(g, feeds))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_kernel_csim_bit_exact_more_seeds(kind, seed, tmp_path):
    g, feeds = random_graph(kind, seed=seed)
    _assert_equal(_csim(g, feeds, tmp_path), golden.execute(g, feeds))


def _chain(rng, c=12, pe_a=4, pe_b=6, simd=72, k=144, cout=4):
    """threshold (pe_a) -> maxpool (pe_b): a width converter 4 -> 6 elements; and a binary
    conv whose SIMD words (72 bits) and weights are wider than 64 bits."""
    g = HwGraph()
    g.add_tensor(HwTensor("x", (4, 4, c), "INT8"))
    g.add_tensor(HwTensor("t", (4, 4, c), "UINT2"))
    g.add_tensor(HwTensor("p", (2, 2, c), "UINT2"))
    g.add_tensor(HwTensor("v", (3, 3, k), "BINARY"))
    g.add_tensor(HwTensor("pc", (3, 3, cout), f"UINT{k.bit_length()}"))
    g.inputs += ["x", "v"]
    g.outputs += ["p", "pc"]
    T = np.sort(rng.integers(-130, 130, size=(c, 3)), axis=1)
    g.add_node(HwNode("thr", "threshold", ["x"], ["t"], {"base": 0, "pe": pe_a},
                      {"thresholds": T, "flip": rng.integers(0, 2, c)}))
    g.add_node(HwNode("pool", "maxpool", ["t"], ["p"], {"kernel": 2, "pe": pe_b}))
    g.add_node(HwNode("conv", "xnor_mvtu", ["v"], ["pc"], {"pe": 2, "simd": simd},
                      {"weights": rng.integers(0, 2, size=(cout, k))}))
    g.topo_sort()
    feeds = {"x": rng.integers(-128, 128, size=(2, 4, 4, c)),
             "v": rng.integers(0, 2, size=(2, 3, 3, k))}
    return g, feeds


def test_width_converter_and_words_wider_than_64_bits(tmp_path):
    g, feeds = _chain(np.random.default_rng(5))
    _assert_equal(_csim(g, feeds, tmp_path), golden.execute(g, feeds))
    m = json.loads((tmp_path / "hls" / "accelerator.json").read_text())
    assert [p["port"] for p in m["inputs"]] == ["s0_axis", "s1_axis"]
    assert any(s["producer"] == "width converter" for s in m["streams"])
    assert "ap_uint<72>(\"" in (tmp_path / "hls" / "params" / "conv.h").read_text()


@pytest.mark.parametrize("kind", ["xnor_mvtu", "int_mvtu"])
def test_weight_roms_as_ap_uint_as_synthesis_sees_them(kind, tmp_path):
    """C simulation stores weight words as plain integers (fast to compile); synthesis as
    ap_uint<W>. The synthesis form, forced here, computes the same."""
    g, feeds = random_graph(kind, seed=3)
    m = write_hls(g, tmp_path / "hls")
    exe = compile_csim(tmp_path / "hls", _cache(), flags=("-DBINHG_ROM_AS_AP_UINT",))
    _assert_equal(run_csim(exe, m, feeds).outputs, golden.execute(g, feeds))


def test_project_has_the_pragmas_vitis_needs(tmp_path):
    g, _ = random_graph("xnor_mvtu", seed=0, copies=1)
    write_hls(g, tmp_path / "hls")
    top = (tmp_path / "hls" / "accelerator.cpp").read_text()
    for pragma in ("#pragma HLS DATAFLOW", "#pragma HLS INTERFACE axis port=s_axis",
                   "#pragma HLS INTERFACE axis port=m_axis", "#pragma HLS STREAM variable="):
        assert pragma in top
    kernel = (tmp_path / "hls" / "mvtu.hpp").read_text()     # the MVTUs' shared schedule
    assert "#pragma HLS PIPELINE II=1" in kernel and "ARRAY_PARTITION" in kernel


def test_a_kernel_that_breaks_the_stream_contract_is_caught(tmp_path):
    """A wrong kernel must fail the C simulation, not pass silently: a maxpool that reads one
    word too few leaves the input stream with words (the testbench's check)."""
    g, feeds = random_graph("maxpool", seed=0, copies=1)
    m = write_hls(g, tmp_path / "hls")
    f = tmp_path / "hls" / "maxpool.hpp"
    f.write_text(f.read_text().replace("t < IN_H * IN_W * CG;", "t < IN_H * IN_W * CG - 1;"))
    with pytest.raises(CsimError, match="s_axis|unread|leftover|output words"):
        run_csim(compile_csim(tmp_path / "hls", tmp_path / "cache"), m, feeds)


def test_concat_of_five_inputs_is_refused_naming_the_node(tmp_path):
    g = HwGraph()
    for k in range(5):
        g.add_tensor(HwTensor(f"x{k}", (2, 2, 1), "BINARY"))
        g.inputs.append(f"x{k}")
    g.add_tensor(HwTensor("y", (2, 2, 5), "BINARY"))
    g.outputs.append("y")
    g.add_node(HwNode("join5", "concat", [f"x{k}" for k in range(5)], ["y"], {"pe": 1}))
    with pytest.raises(HlsError, match="join5"):
        write_hls(g, tmp_path / "hls")
    assert not (tmp_path / "hls").exists()


def test_a_stream_with_two_readers_is_refused(tmp_path):
    """An hls::stream in a DATAFLOW region has one reader: a fan-out without a duplicate
    layer is refused before anything is written."""
    from flow.hwgraph import GraphError

    g = HwGraph()
    for t in ("x", "y0", "y1"):
        g.add_tensor(HwTensor(t, (2, 2, 2), "INT8"))
    g.inputs.append("x")
    g.outputs += ["y0", "y1"]
    for k in (0, 1):
        g.add_node(HwNode(f"pool{k}", "maxpool", ["x"], [f"y{k}"], {"kernel": 1, "pe": 2}))
    with pytest.raises(GraphError, match="2 readers"):
        write_hls(g, tmp_path / "hls")
    assert not (tmp_path / "hls").exists()
