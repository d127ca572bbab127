"""Whole networks: `flow/build.py` builds the preset (its simulate_rtl step already checks
the two golden frames at full rate); here the same rtl/ runs more frames under random
backpressure with a reset in the middle of a frame, bit-exact against the golden model."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flow import golden
from flow.hwgraph import HwGraph
from sim.harness import assert_bit_exact
from sim.harness import build
from sim.harness import simulate

REPO = Path(__file__).resolve().parent.parent
NETWORKS = ["hg-hpm-tiny", "hg-unet-tiny"]


@pytest.fixture(scope="module", params=NETWORKS)
def network(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("net") / request.param
    r = subprocess.run([sys.executable, str(REPO / "flow" / "build.py"), "--board", "pynq-z2",
                        "--model", request.param, "--output", str(out)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return request.param, out


def test_build_simulated_its_rtl(network):
    name, out = network
    report = json.loads((out / "report.json").read_text())
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["generate_rtl"]["status"] == "done"
    assert steps["simulate_rtl"]["status"] == "done", steps["simulate_rtl"]["reason"]
    sim = report["simulation"]
    assert sim["bit_exact"] and sim["frames"] >= 2
    # the report sets the measured figure beside the estimate
    # the slowest layer's period (the folding's input pace may be slower: not what the
    # full-rate bench measures)
    assert sim["estimate_cycles_per_frame"] == max(layer["cycles"] for layer in report["layers"])
    assert report["cycles_per_frame"] >= sim["estimate_cycles_per_frame"]
    assert sim["cycles_per_frame"] > 0
    assert sim["estimate_error"] == pytest.approx(
        (sim["estimate_cycles_per_frame"] - sim["cycles_per_frame"]) / sim["cycles_per_frame"],
        abs=1e-3)
    # the latency estimate models what the bench measures: within 25 % of it
    assert abs(sim["latency_estimate_error"]) <= 0.25, sim
    assert report["latency_cycles_estimate"] == sim["latency_cycles_estimate"]


def test_build_runs_at_its_estimated_period(network):
    """FIFO depths from the full pipeline's schedule: the RTL streams at the estimated
    period, within 10 %."""
    sim = json.loads((network[1] / "report.json").read_text())["simulation"]
    assert sim["cycles_per_frame"] <= 1.1 * sim["estimate_cycles_per_frame"]


def test_build_c_simulated_its_hls(network):
    """The whole network's HLS C++ (hls/), compiled with g++, is bit-exact on the golden
    frames (the csim_hls step fails the build otherwise)."""
    name, out = network
    steps = {s["name"]: s for s in json.loads((out / "report.json").read_text())["steps"]}
    assert steps["generate_hls"]["status"] == "done"
    assert steps["csim_hls"]["status"] == "done", steps["csim_hls"]["reason"]
    assert steps["csim_hls"]["bit_exact"] and steps["csim_hls"]["frames"] >= 2
    assert (out / "hls" / "accelerator.cpp").is_file()


def test_network_bit_exact_under_backpressure(network):
    name, out = network
    g = HwGraph.load(out / "hw_graph.onnx")
    vec = np.load(out / "golden" / "vectors.npz")
    rng = np.random.default_rng(7)
    h, w, c = g.tensors[g.inputs[0]].shape
    images = np.concatenate([vec["images"], rng.integers(0, 256, (1, c, h, w), dtype=np.uint8)])
    want = golden.run_images(g, images)
    for k in vec.files:   # the golden model still agrees with what the build checked
        if k.startswith("out_"):
            np.testing.assert_array_equal(want[k[4:]][:len(vec["images"])], vec[k])
    built = build(g, "accelerator")     # the compile the build's simulate_rtl step made
    r = simulate(g, {g.inputs[0]: golden.images_to_stream(images)}, built=built, seed=3,
                 valid_prob=0.7, ready_prob=0.6, reset_mid_frame=True)
    assert_bit_exact(r, want, f"{name} under backpressure")
