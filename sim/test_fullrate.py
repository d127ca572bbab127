"""The full-rate C++ bench (sim/fullrate.py) against the golden model and the cocotb bench: on
random layer graphs, on a graph of ports wider than 64 bits and on the hg-hpm-tiny network built
by flow/build.py, its outputs are bit-exact and its frame ends are the cocotb bench's cycle for
cycle at valid_prob = ready_prob = 1; a deadlocking design fails with a deadlock, not a hang,
and a compile error with Verilator's log. `pytest -s` prints both benches' speed on hg-hpm-tiny."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from flow import golden
from flow.hwgraph import HwGraph
from flow.hwgraph import HwNode
from flow.hwgraph import HwTensor
from flow.planning.fifo_depths import InsertFIFOs
from flow.hwgraph import apply_all
from flow.backends.rtlgen import write_rtl
from sim.fullrate import build_fullrate
from sim.fullrate import run_fullrate
from sim.fullrate import simulate_fullrate
from sim.fullrate import simulate_fullrate_rtl
from sim.graphs import random_graph
from sim.harness import SimError
from sim.harness import assert_bit_exact
from sim.harness import build
from sim.harness import simulate
from sim.test_watchdog import skip_link_graph

REPO = Path(__file__).resolve().parent.parent


def wide_ports_graph(frames: int = 2):
    """FIFOs between four input and four output ports of 8, 40, 96 and 160 bits: scalar,
    64-bit and VlWide tdata in Verilator's C++ model."""
    rng = np.random.default_rng(4)
    g, feeds = HwGraph(), {}
    for j, (dtype, c, lo, hi) in enumerate([("BINARY", 3, 0, 1), ("UINT4", 10, 0, 15),
                                            ("INT8", 12, -128, 127), ("INT8", 20, -128, 127)]):
        h, w = 3 + j, 4
        g.add_tensor(HwTensor(f"x{j}", (h, w, c), dtype))
        g.add_tensor(HwTensor(f"y{j}", (h, w, c), dtype))
        g.inputs.append(f"x{j}")
        g.outputs.append(f"y{j}")
        g.add_node(HwNode(f"fifo{j}", "fifo", [f"x{j}"], [f"y{j}"], {"depth": 2, "pe": c}))
        feeds[f"x{j}"] = rng.integers(lo, hi + 1, (frames, h, w, c))
    g.topo_sort()
    g.check()
    return g, feeds


def _same_as_cocotb(g, feeds, tag):
    want = golden.execute(g, feeds)
    fast = simulate_fullrate(g, feeds, tag=tag)
    assert_bit_exact(fast, want, f"{tag}, full-rate bench")
    slow = simulate(g, feeds, tag=tag)        # the cocotb bench at full rate
    assert_bit_exact(slow, want, f"{tag}, cocotb bench")
    assert fast.frame_end == slow.frame_end
    assert fast.cycles == slow.cycles


def test_random_graph_bit_exact_and_same_cycles_as_cocotb():
    g, feeds = random_graph("xnor_mvtu", 0)
    _same_as_cocotb(g, feeds, "xnor_mvtu-0")     # test_layers.py's tag: its compile is reused


def test_ports_wider_than_64_bits():
    g, feeds = wide_ports_graph()
    _same_as_cocotb(g, feeds, "wide-ports")


def test_deadlock_is_reported_not_hung():
    g = skip_link_graph()
    apply_all(g, [InsertFIFOs({"d0": 1})])      # too shallow a skip FIFO: deadlocks
    x = np.random.default_rng(1).integers(0, 2, (1, 6, 6, 4))
    t = time.monotonic()
    with pytest.raises(SimError, match=r"deadlock: no beat moved on any stream for \d+ "
                                       r"cycles \(cycle \d+\)"):
        simulate_fullrate(g, {"x": x}, tag="deadlock")       # the default watchdog
    with pytest.raises(SimError, match=r"for 500 cycles"):
        simulate_fullrate(g, {"x": x}, tag="deadlock", watchdog=500)
    assert time.monotonic() - t < 300


def test_compile_error_is_reported_with_the_log(tmp_path):
    g, feeds = wide_ports_graph()
    write_rtl(g, tmp_path / "rtl")
    top = tmp_path / "rtl" / "accelerator.sv"
    top.write_text(top.read_text().replace("endmodule", "endmodule_oops"))
    with pytest.raises(SimError, match=r"(?s)Verilator build of the full-rate bench for "
                                       r"'broken' failed.*%Error"):
        simulate_fullrate_rtl(tmp_path / "rtl", feeds, tag="broken", cache=tmp_path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """hg-hpm-tiny built by flow/build.py (its own RTL simulation off: it is run here), then
    three frames through its rtl/ on both benches, with their run times."""
    out = tmp_path_factory.mktemp("fullrate") / "hg-hpm-tiny"
    r = subprocess.run([sys.executable, str(REPO / "flow" / "build.py"), "--board", "pynq-z2",
                        "--model", "hg-hpm-tiny", "--no-sim", "--output", str(out)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    g = HwGraph.load(out / "hw_graph.onnx")
    vec = np.load(out / "golden" / "vectors.npz")
    h, w, c = g.tensors[g.inputs[0]].shape
    extra = np.random.default_rng(7).integers(0, 256, (1, c, h, w), dtype=np.uint8)
    images = np.concatenate([vec["images"], extra])
    feeds = {g.inputs[0]: golden.images_to_stream(images)}

    t = time.monotonic()
    fast_built = build_fullrate(out / "rtl", "hg-hpm-tiny")   # the build's own rtl/
    fast_compile = time.monotonic() - t
    t = time.monotonic()
    fast = run_fullrate(fast_built, feeds, tag="hg-hpm-tiny")
    fast_run = time.monotonic() - t

    t = time.monotonic()
    slow_built = build(g, "accelerator")     # sim/test_networks.py's compile, if it ran
    slow_compile = time.monotonic() - t
    t = time.monotonic()
    slow = simulate(g, feeds, built=slow_built, tag="hg-hpm-tiny")
    slow_run = time.monotonic() - t
    return dict(want=golden.run_images(g, images), fast=fast, slow=slow,
                fast_run=fast_run, slow_run=slow_run, fast_compile=fast_compile,
                slow_compile=slow_compile, fast_cached=fast_built.compile_seconds is None)


def test_network_bit_exact_and_same_cycles_as_cocotb(tiny):
    assert_bit_exact(tiny["fast"], tiny["want"], "hg-hpm-tiny, full-rate bench")
    assert_bit_exact(tiny["slow"], tiny["want"], "hg-hpm-tiny, cocotb bench")
    assert tiny["fast"].frame_end == tiny["slow"].frame_end
    assert tiny["fast"].cycles == tiny["slow"].cycles


def test_network_speed(tiny):
    """Informative only (pytest -s): cycles simulated per second of wall time, both benches."""
    cycles = tiny["fast"].cycles
    compiled = "cached" if tiny["fast_cached"] else f"{tiny['fast_compile']:.0f} s"
    print(f"\nhg-hpm-tiny, {cycles:,} cycles, {tiny['fast'].cycles_per_frame():,.0f} "
          f"cycles/frame:\n"
          f"  full-rate C++ bench: {cycles / tiny['fast_run']:,.0f} cycles/s "
          f"({tiny['fast_run']:.1f} s; compile {compiled})\n"
          f"  cocotb bench:        {cycles / tiny['slow_run']:,.0f} cycles/s "
          f"({tiny['slow_run']:.1f} s; compile or cache look-up {tiny['slow_compile']:.0f} s)")


def test_stream_probes_name_the_layer_that_holds_the_stream_up(tmp_path):
    """A skip-link graph whose conv is folded to one lane: the probes find it the limit (its
    input waits for it, its output does not wait), and every stream moves a frame's beats per
    frame period in the window counted."""
    from flow.planning.fifo_depths import fifo_depths
    from sim.fullrate import stream_probes

    g = skip_link_graph()
    conv = next(n for n in g.nodes if n.name == "conv")
    conv.attrs.update(pe=1, simd=1)
    depths, _ = fifo_depths(g)
    apply_all(g, [InsertFIFOs(depths)])
    write_rtl(g, tmp_path / "rtl")
    x = np.random.default_rng(2).integers(0, 2, (3, *g.tensors["x"].shape))
    r = stream_probes(tmp_path / "rtl", {"x": x}, tag="probes", timeline_every=1)
    assert r["layers"][0]["node"] == "conv"
    assert r["layers"][0]["input_stalled"] > 0.5 and r["layers"][0]["output_stalled"] == 0
    assert 0 < r["window"] and r["cycles_per_frame"] > 0
    frames = r["window"] / r["cycles_per_frame"]          # about 2 frames are counted
    for s in r["streams"].values():
        assert s["beats"] + s["stalled"] + s["starved"] <= r["window"]
    win = next(s for s in r["streams"].values() if s["consumer"] == "u_conv")
    per_frame = g.tensors["win"].pixels * g.tensors["win"].channels     # 1 bit per beat
    assert win["beats"] == pytest.approx(frames * per_frame, rel=0.1)
    # the timeline, sampled every cycle: at most a beat a cycle on a stream, and the
    # conv's input has moved all 3 frames' beats before the last output beat's cycle
    tl = r["timeline"]
    assert tl["every"] == 1
    for b in tl["beats"].values():
        assert b[0] == 0 and set(np.diff(b)) <= {0, 1}
    wire = next(w for w, s in r["streams"].items() if s["consumer"] == "u_conv")
    assert tl["beats"][wire][-1] == 3 * per_frame


def concat_of_a_trickling_conv() -> HwGraph:
    """x -> duplicate -> concat(skip, 3x3 binary conv at PE 1): the conv emits a pixel's
    channels one every K/SIMD cycles over its whole pixel time (the slowest layer), and the
    concat reads its inputs in turn."""
    rng = np.random.default_rng(3)
    h, w, c, co = 8, 8, 32, 36             # conv: K = 288, SIMD 72, a channel every 4 cycles
    g = HwGraph()
    for name, shape in [("x", (h, w, c)), ("d0", (h, w, c)), ("d1", (h, w, c)),
                        ("win", (h, w, 9 * c)), ("conv", (h, w, co)), ("y", (h, w, c + co))]:
        g.add_tensor(HwTensor(name, shape, "BINARY"))
    g.inputs, g.outputs = ["x"], ["y"]
    g.add_node(HwNode("dup", "duplicate", ["x"], ["d0", "d1"], {"pe": 1}))
    g.add_node(HwNode("window", "sliding_window", ["d1"], ["win"],
                      {"kernel": 3, "stride": 1, "pad": [1, 1, 1, 1], "pad_code": 0,
                       "simd": 8}))
    g.add_node(HwNode("conv", "xnor_mvtu", ["win"], ["conv"], {"pe": 1, "simd": 72, "base": 0},
                      {"weights": rng.integers(0, 2, (co, 9 * c)).astype(np.uint8),
                       "thresholds": np.full((co, 1), 9 * c // 2, np.int64),
                       "flip": np.zeros(co, np.int64)}))
    g.add_node(HwNode("join", "concat", ["d0", "conv"], ["y"], {"pe": 1}))
    g.topo_sort()
    g.check()
    return g


def test_concat_of_a_trickling_conv_runs_at_its_slowest_layer(monkeypatch):
    """flow/planning/fifo_depths.py's CONCAT_SKEW: with a FIFO of its occupancy and a pixel more on the
    conv's input the design runs at the conv's period; without it (the concat rule switched
    off), the concat waits for the conv's whole pixel time on top of the skip's beats."""
    import flow.planning.fifo_depths as fd
    from flow.planning.folding import frame_cycles

    x = np.random.default_rng(5).integers(0, 2, (3, 8, 8, 32))
    periods = {}
    for rule in (True, False):
        if not rule:
            monkeypatch.setattr(fd, "concat_skewed", lambda *a: False)
        g = concat_of_a_trickling_conv()
        period = frame_cycles(g)
        depths, s = fd.fifo_depths(g)
        assert ("conv" in depths) == rule
        if rule:
            assert depths["conv"] == s.occupancy["conv"] + fd.CONCAT_SKEW
        apply_all(g, [InsertFIFOs(depths)])
        r = simulate_fullrate(g, {"x": x}, tag=f"trickling-concat-{rule}")
        assert_bit_exact(r, golden.execute(g, {"x": x}), "trickling concat")
        periods[rule] = r.cycles_per_frame()
    assert periods[True] <= 1.02 * period < 1.1 * period < periods[False]


def conv_into_upsample() -> HwGraph:
    """x -> 1x1 binary conv at PE 1 (the slowest layer: a channel every 8 cycles, 64 a pixel)
    -> 2x upsample, whose one-row buffer takes nothing for 24 cycles after each input row."""
    rng = np.random.default_rng(3)
    h, w, c, co = 4, 4, 32, 8
    g = HwGraph()
    for name, shape in [("x", (h, w, c)), ("conv", (h, w, co)), ("y", (2 * h, 2 * w, co))]:
        g.add_tensor(HwTensor(name, shape, "BINARY"))
    g.inputs, g.outputs = ["x"], ["y"]
    g.add_node(HwNode("conv", "xnor_mvtu", ["x"], ["conv"], {"pe": 1, "simd": 4, "base": 0},
                      {"weights": rng.integers(0, 2, (co, c)).astype(np.uint8),
                       "thresholds": np.full((co, 1), c // 2, np.int64),
                       "flip": np.zeros(co, np.int64)}))
    g.add_node(HwNode("up", "upsample", ["conv"], ["y"], {"factor": 2, "pe": 1}))
    g.topo_sort()
    g.check()
    return g


def test_conv_into_an_upsample_runs_at_its_slowest_layer(monkeypatch):
    """flow/planning/fifo_depths.py's upsample_holdoff_pixels: with the pixels the conv emits
    during the upsample's hold-off on its input the design runs at the conv's period (1,024);
    without them (the rule switched off) the conv stalls behind its output register on each
    of the 4 input rows (measured: 1,096)."""
    import flow.planning.fifo_depths as fd
    from flow.planning.folding import frame_cycles

    x = np.random.default_rng(5).integers(0, 2, (4, 4, 4, 32))
    periods = {}
    for rule in (True, False):
        if not rule:
            monkeypatch.setattr(fd, "upsample_holdoff_pixels", lambda *a: 0)
        g = conv_into_upsample()
        period = frame_cycles(g)
        depths, s = fd.fifo_depths(g)
        assert ("conv" in depths) == rule
        apply_all(g, [InsertFIFOs(depths)])
        r = simulate_fullrate(g, {"x": x}, tag=f"conv-into-upsample-{rule}")
        assert_bit_exact(r, golden.execute(g, {"x": x}), "conv into upsample")
        periods[rule] = r.cycles_per_frame()
    assert periods[True] <= 1.02 * period < 1.05 * period < periods[False]


def test_register_slices_keep_the_design_bit_exact_at_a_cycle_each(tmp_path):
    """A register slice on a stream (flow/backends/rtlgen.add_register_slices, where the
    timing estimate finds a path across modules too long) changes nothing but the latency:
    the same outputs, every frame one cycle later per slice on its way, the same period."""
    g, feeds = random_graph("xnor_mvtu", 0)
    want = golden.execute(g, feeds)
    base = simulate_fullrate(g, feeds, tag="xnor_mvtu-0")    # test_layers.py's compile
    rtl = tmp_path / "rtl"
    manifest = write_rtl(g, rtl)
    wires = [s["wire"] for s in manifest["streams"]]         # every stream, in and out
    manifest = write_rtl(g, rtl, register_slices=wires)
    assert len(manifest["register_slices"]) == len(wires)
    sliced = simulate_fullrate_rtl(rtl, feeds, tag="xnor_mvtu-0-sliced", cache=tmp_path)
    assert_bit_exact(sliced, want, "xnor_mvtu-0 with register slices")
    for out, ends in base.frame_end.items():                 # 2 slices on every path
        assert sliced.frame_end[out] == [e + 2 for e in ends], out
