"""flow/bench.py on the session's tiny build: the figures it derives from the build, its JSON
and plot, the golden-vs-PyTorch timing on the same layer, and refusals."""
from __future__ import annotations

import json
import shutil

import pytest

from flow.measure import bench
from flow.hwgraph import HwGraph


@pytest.fixture(scope="module")
def measured(tiny_build_pristine, tmp_path_factory):
    src, _ = tiny_build_pristine
    out = shutil.copytree(src, tmp_path_factory.mktemp("bench") / "tiny")
    per_lane = {"source": "given", "lut_per_lane": 2.0}
    return out, bench.measure(out, per_lane, frames_torch=1)


def test_bench_figures_come_from_the_build(measured):
    out, res = measured
    report = json.loads((out / "report.json").read_text())
    sim = report["simulation"]
    assert res["cycles_per_frame"]["simulated"] == sim["cycles_per_frame"]
    # the estimate the full-rate bench measures is the slowest layer's, not an input pace
    assert res["cycles_per_frame"]["estimate"] == sim["estimate_cycles_per_frame"] == max(
        layer["cycles"] for layer in report["layers"])
    assert res["cycles_per_frame"]["frame_period"] == report["cycles_per_frame"]
    assert res["fps"]["simulated"] == pytest.approx(100e6 / sim["cycles_per_frame"])
    assert res["build_seconds"] == {s["name"]: s["seconds"] for s in report["steps"]}
    # lanes: the XNOR MVTUs' MACs per frame over the simulated period, against the limit
    g = HwGraph.load(out / "hw_graph.onnx")
    macs = sum(n.arrays["weights"].size * g.tensors[n.outputs[0]].pixels
               for n in g.nodes if n.kind == "xnor_mvtu")
    ln = res["lanes"]
    assert ln["binary_macs_per_frame"] == macs
    assert ln["binary_macs_per_cycle"] == pytest.approx(macs / sim["cycles_per_frame"])
    assert ln["lut_bound_macs_per_cycle"] == pytest.approx(0.85 * 53200 / 2.0)
    assert 0 < ln["utilization_of_limit"] < 1
    assert 0 < ln["lane_busy_fraction"] <= 1
    # per 1000 LUTs (the estimate's: this build did not synthesize) beside FINN CNV's 69
    assert ln["klut_source"] == "estimate"
    assert ln["macs_per_cycle_per_klut"] == pytest.approx(
        ln["binary_macs_per_cycle"] / (report["resources"]["lut"] / 1000))
    assert ln["finn_cnv_macs_per_cycle_per_klut"] == pytest.approx(1800 / 26.072)
    # no synthesis, so no timing estimate: said, with the static chains through the top
    assert res["timing"]["status"] == "not estimated"
    assert res["timing"]["comb_chains"] >= 0
    assert res["synthesis"]["status"] == "skipped"


def test_bench_writes_json_and_plot(measured):
    out, res = measured
    assert json.loads((out / "bench" / "bench.json").read_text()) == json.loads(json.dumps(res))
    png = (out / "bench" / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_golden_and_torch_time_the_same_binary_conv(measured):
    _, res = measured
    t = res["golden_vs_torch"]
    assert t["golden_s_per_frame"] > 0 and t["torch_float_s_per_frame"] > 0
    assert t["golden_over_torch"] == pytest.approx(t["golden_s_per_frame"]
                                                   / t["torch_float_s_per_frame"])
    assert t["kernel"] == 3 and t["threads"] == 1


def test_bench_refuses_a_build_without_simulated_cycles(tiny_build_pristine, tmp_path):
    src, _ = tiny_build_pristine
    out = shutil.copytree(src, tmp_path / "tiny")
    report = json.loads((out / "report.json").read_text())
    report["simulation"] = {"status": "not run", "reason": "--no-sim was given"}
    (out / "report.json").write_text(json.dumps(report))
    with pytest.raises(bench.BenchError, match="no simulated cycles per frame: --no-sim"):
        bench.measure(out, {"source": "given", "lut_per_lane": 2.0}, frames_torch=1)
    with pytest.raises(bench.BenchError, match="report.json' is missing"):
        bench.measure(tmp_path / "nowhere", {}, frames_torch=1)


def test_bench_probes_write_the_streams_activity(measured):
    """--probes: the layers that hold the stream up, and when every stream moved its beats
    (sampled about 64 times a frame period): each stream's count never falls, and by the
    last sample it has moved its 3 frames' beats but for at most one sample's worth."""
    import numpy as np

    out, _ = measured
    r = bench.probe(out)
    assert r["holding_up"] and r["cycles_per_frame"] > 0
    png = (out / "bench" / "stream_activity.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    act = np.load(out / "bench" / "stream_activity.npz")
    every = int(act["every"])
    assert every >= 1 and act["beats"].shape == (len(act["names"]), act["beats"].shape[1])
    assert (np.diff(act["beats"], axis=1) >= 0).all()
    manifest = json.loads((out / "rtl" / "accelerator.json").read_text())
    g = HwGraph.load(out / "hw_graph.onnx")
    streams = {s["wire"]: s for s in manifest["streams"]}
    for name, b in zip(act["names"], act["beats"]):
        s = streams[str(name)]
        t = g.tensors[s["tensor"]]
        per_frame = t.pixels * -(-t.channels // s["elems"])
        assert 3 * per_frame - every <= b[-1] <= 3 * per_frame, name
