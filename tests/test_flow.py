"""flow/build.py: steps, checkpoints, report, and refusals."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flow.boards import BOARDS, BoardError, get_board

REPO = Path(__file__).resolve().parents[1]


def build(*args, timeout=900):
    return subprocess.run([sys.executable, "flow/build.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_boards_have_resources():
    for name in ("pynq-z1", "pynq-z2", "ultra96-v2", "zcu104", "kv260"):
        b = BOARDS[name]
        assert b.lut > 0 and b.ff > 0 and b.bram36 > 0 and b.dsp > 0 and b.clock_mhz > 0
    assert get_board("pynq-z2").part == "xc7z020clg400-1"
    assert get_board("zcu104").onchip_bits > get_board("pynq-z2").onchip_bits


def test_unknown_board_lists_known_ones():
    with pytest.raises(BoardError, match="unknown board 'zedboard'.*pynq-z2.*kv260"):
        get_board("zedboard")
    r = build("--board", "zedboard", "--model", "hg-hpm-tiny", timeout=300)
    assert r.returncode == 2
    assert "unknown board 'zedboard'" in r.stdout and "Traceback" not in r.stdout + r.stderr


def test_bad_step_name_is_refused():
    r = build("--board", "pynq-z2", "--model", "hg-hpm-tiny", "--from", "nosuch", timeout=300)
    assert r.returncode == 2 and "--from nosuch: no such step" in r.stdout


def test_untrained_goes_with_a_preset_not_a_checkpoint(tmp_path):
    r = build("--board", "pynq-z2", "--checkpoint", "x.pt", "--untrained", "--output",
              str(tmp_path / "o"), timeout=300)
    assert r.returncode == 2 and "--untrained goes with --model" in r.stdout
    assert not (tmp_path / "o").exists()


def test_weights_over_the_board_are_refused_before_any_work(tmp_path):
    # hg-hpm-2stack-paper's 12 Mibit of weights exceed the PYNQ-Z2's block RAM and LUTs
    # (hg-hpm-paper's 6 Mibit would fit them as ROMs; its skip FIFOs do not, which the fold
    # step's bound says: tests/test_fit.py)
    out = tmp_path / "o"
    r = build("--board", "pynq-z2", "--model", "hg-hpm-2stack-paper", "--output", str(out))
    assert r.returncode == 1
    text = " ".join(r.stdout.split())
    assert "does not fit board 'pynq-z2'" in text and "smaller preset" in text
    assert "weights need" in text and "Short by" in text
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "failed"
    assert [s["status"] for s in report["steps"]] == ["failed"]
    assert not (out / "intermediate_models").exists()  # refused before any long work


STEPS = ["check_fit", "export_qonnx", "convert_to_finn", "lower_to_hw", "streamline",
         "insert_duplicates", "fold", "fifo_depths", "verify_golden", "generate_rtl",
         "synthesize", "simulate_rtl", "generate_hls", "csim_hls", "xilinx_scripts", "hls_synth", "bitstream",
         "deploy", "report"]
# Steps that need the Xilinx tools, which this machine does not have.
VENDOR_STEPS = {"hls_synth", "bitstream"}


@pytest.fixture(scope="module")
def tiny_build(tiny_build_pristine, tmp_path_factory):
    """This module's copy of the session's tiny build (its tests resume and break it)."""
    import shutil

    src, stdout = tiny_build_pristine
    return Path(shutil.copytree(src, tmp_path_factory.mktemp("build") / "tiny")), stdout


def test_tiny_build_writes_the_folder_and_report(tiny_build):
    out, stdout = tiny_build
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "complete"
    assert report["board"] == "pynq-z2" and report["part"] == "xc7z020clg400-1"
    assert report["clock_mhz"] == 100.0
    assert [s["name"] for s in report["steps"]] == STEPS
    assert all(s["status"] == "done" and "reason" in s for s in report["steps"]
               if s["name"] not in VENDOR_STEPS | {"synthesize"})
    # Yosys takes minutes on this design: skipped by default, saying how to run it
    synth = next(s for s in report["steps"] if s["name"] == "synthesize")
    assert synth["status"] == "skipped" and "--synth" in synth["reason"]
    assert "synthesis" not in report
    fold = report["folding"]
    assert fold["mode"] == "max" and "on-chip" in fold["weights"] and "DDR" in fold["weights"]
    assert sorted(p.name for p in out.iterdir()) == [".build.lock", "build_state.json", "csim",
                                                     "deploy", "golden",
                                                     "hg-hpm-tiny.qonnx.onnx", "hls",
                                                     "hw_graph.onnx", "intermediate_models",
                                                     "report.json", "rtl", "sim", "vivado"]
    # the RTL it wrote is the RTL it simulated, bit-exact, and the report compares cycles
    assert (out / "rtl" / "accelerator.sv").is_file()
    sim = report["simulation"]
    # the estimate of what the bench measures is the slowest layer's period; the folding may
    # pace the input slower still (report["cycles_per_frame"], the input pace's FIFOs)
    slowest = max(layer["cycles"] for layer in report["layers"])
    assert sim["bit_exact"] and sim["estimate_cycles_per_frame"] == slowest
    assert report["cycles_per_frame"] == sim.get("input_pace_cycles", slowest) >= slowest
    # the latency estimate is a model of what the bench measures, within 25 % of it
    assert report["latency_cycles_estimate"] == sim["latency_cycles_estimate"]
    assert abs(sim["latency_estimate_error"]) <= 0.25
    assert sim["latency_estimate_error"] == pytest.approx(
        (sim["latency_cycles_estimate"] - sim["latency_cycles"]) / sim["latency_cycles"],
        abs=1e-4)
    assert set(report["estimates"]) >= {"cycles_per_frame", "latency_cycles_estimate",
                                        "resources"}
    cycles = report["cycles_per_frame"]
    assert cycles >= max(layer["cycles"] for layer in report["layers"]) > 0
    assert report["fps_estimate"] == pytest.approx(100e6 / cycles)
    res = report["resources"]
    assert res["source"] == "estimate" and all(res[k] >= 0 for k in ("lut", "ff", "bram36",
                                                                     "dsp"))
    # the layers and the width converters between them (not graph nodes, counted apart)
    wc = report["width_converters"]
    assert wc["count"] > 0 and wc["lut"] > 0
    assert res["lut"] == sum(layer["lut"] for layer in report["layers"]) + wc["lut"]
    assert res["lut"] <= 0.85 * 53200 and res["bram36"] <= 0.85 * 140
    ops = {layer["op"] for layer in report["layers"]}
    assert {"sliding_window", "xnor_mvtu", "int_mvtu", "maxpool", "upsample", "concat", "add",
            "duplicate", "fifo", "threshold"} <= ops
    for layer in report["layers"]:
        assert {"name", "op", "pe", "simd", "cycles", "lut", "bram36"} <= set(layer)
        # named as the user's graph names it: the node and its Brevitas module
        if layer["op"] in ("xnor_mvtu", "int_mvtu"):
            assert "(Conv, module '" in layer["origin"], layer
    assert "FPS" in stdout and "slowest layers" in stdout


def test_tiny_build_runs_at_its_estimated_period(tiny_build_pristine):
    """FIFO depths from the full pipeline's schedule: the RTL streams at the estimated period
    within 10 % (it took 5.9x the estimate with depths from one frame, and 22 % more than
    it before the FIFO analysis followed the parallel window's walk)."""
    sim = json.loads((tiny_build_pristine[0] / "report.json").read_text())["simulation"]
    assert sim["cycles_per_frame"] <= 1.1 * sim["estimate_cycles_per_frame"]


def _path_without(*tools: str) -> str:
    """PATH with every folder holding one of `tools` dropped (this machine has no Xilinx
    tools; a developer's might)."""
    import os
    import shutil

    return os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                           if not any(shutil.which(t, path=d) for t in tools))


def _copy_of(tiny_build, tmp_path) -> Path:
    """A private copy of the tiny build, for tests that resume it (the fixture is shared)."""
    import shutil

    return Path(shutil.copytree(tiny_build[0], tmp_path / "tiny"))


def test_without_xilinx_tools_the_scripts_are_written_and_no_bitstream_is_claimed(tiny_build,
                                                                                 tmp_path):
    import os

    out = _copy_of(tiny_build, tmp_path)
    env = {**os.environ, "PATH": _path_without("vivado", "vitis_hls")}
    r = subprocess.run([sys.executable, "flow/build.py", "--board", "pynq-z2", "--model",
                        "hg-hpm-tiny", "--output", str(out), "--from", "generate_hls",
                        "--backend", "hls"], cwd=REPO, capture_output=True, text=True,
                       env=env, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((out / "report.json").read_text())
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["csim_hls"]["status"] == "done" and steps["csim_hls"]["bit_exact"]
    assert steps["xilinx_scripts"]["scripts"] == ["hls/hls_synth.tcl", "vivado/block_design.tcl"]
    for name, tool in (("hls_synth", "vitis_hls"), ("bitstream", "vivado")):
        assert steps[name]["status"] == "skipped" and f"{tool} is not on PATH" in \
            steps[name]["reason"]
    assert report["backend"] == "hls"
    assert report["bitstream"]["built"] is False and "vivado" in report["bitstream"]["reason"]
    assert not (out / "bitfile").exists()
    tcl = (out / "hls" / "hls_synth.tcl").read_text()
    assert "set_part xc7z020clg400-1" in tcl and "accelerator.cpp" in tcl
    bd = (out / "vivado" / "block_design.tcl").read_text()
    assert "processing_system7" in bd and "axi_dma" in bd and "binhg:hls:accelerator" in bd
    assert "no bitstream" in " ".join(r.stdout.split())


def test_a_vivado_that_writes_no_bitstream_fails_the_build(tiny_build, tmp_path):
    """A tool that 'succeeds' without the .bit/.hwh must not pass for a built bitstream."""
    import os

    out = _copy_of(tiny_build, tmp_path)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "vivado").write_text("#!/bin/sh\necho pretending to be vivado\nexit 0\n")
    (fake / "vivado").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run([sys.executable, "flow/build.py", "--board", "pynq-z2", "--model",
                        "hg-hpm-tiny", "--output", str(out), "--from", "xilinx_scripts"],
                       cwd=REPO, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 1, r.stdout + r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "failed" and report["bitstream"]["built"] is False
    bit = next(s for s in report["steps"] if s["name"] == "bitstream")
    # --backend rtl: vivado "ran" the IP packaging, which wrote nothing
    assert bit["status"] == "failed" and "vivado" in bit["reason"]
    assert "component.xml is missing" in bit["reason"] and not (out / "bitfile").exists()
    assert "Traceback" not in r.stdout + r.stderr


def test_tiny_build_hw_graph_reproduces_its_golden_vectors(tiny_build):
    import numpy as np

    from flow import golden
    from flow.hwgraph import HwGraph

    out, _ = tiny_build
    g = HwGraph.load(out / "hw_graph.onnx")
    g.check()
    vec = np.load(out / "golden" / "vectors.npz")
    got = golden.run_images(g, vec["images"])
    (name,) = g.outputs
    np.testing.assert_array_equal(got[name], vec[f"out_{name}"])
    from flow.layers import layer_of
    from flow.planning.fifo_depths import implicit_words

    # more words than the stream holds by itself (a pixel's words into an add: needs_fifo),
    # and skip links of many pixels
    fifos = [n for n in g.nodes if n.kind == "fifo"]
    assert fifos and all(layer_of(n).words(n, g) > implicit_words(g, n.inputs[0])
                         for n in fifos)
    assert max(int(n.attrs["depth"]) for n in fifos) > 100


def test_the_simulation_is_compared_with_the_rate_it_measures(tiny_build_pristine, tmp_path):
    """The full-rate bench offers input as fast as it is taken, so it measures the slowest
    layer's rate. Where the folding feeds frames at a slower pace (as --target-fps does), the
    pace is not the estimate of what was simulated ("the estimate is off by +32.9 %" compared
    the two); the report says both."""
    import shutil

    from brevitas_models import get_preset
    from flow.hwgraph import HwGraph
    from flow.pipeline.runner import BuildContext
    from flow.pipeline.steps import step_simulate_rtl

    out = Path(shutil.copytree(tiny_build_pristine[0], tmp_path / "tiny"))
    report = json.loads((out / "report.json").read_text())
    slowest = max(layer["cycles"] for layer in report["layers"])
    g = HwGraph.load(out / "hw_graph.onnx")
    g.meta["frame_period"] = 2 * slowest          # the same RTL, fed at half its rate
    ctx = BuildContext(cfg=get_preset("hg-hpm-tiny"), board=get_board("pynq-z2"),
                       out_dir=out, weights="", model=g, sim="yes")
    info = step_simulate_rtl(ctx).info
    assert info["estimate_cycles_per_frame"] == slowest and "slowest layer" in info["estimate"]
    assert info["estimate_error"] == pytest.approx(
        (slowest - info["cycles_per_frame"]) / info["cycles_per_frame"], abs=1e-4)
    assert info["input_pace_cycles"] == 2 * slowest and "does not pace" in info["input_pace"]
    assert abs(info["latency_estimate_error"]) <= 0.25


def test_resume_from_fold_with_a_target_and_another_clock(tiny_build):
    out, _ = tiny_build
    before = json.loads((out / "report.json").read_text())
    r = build("--board", "pynq-z2", "--model", "hg-hpm-tiny", "--output", str(out),
              "--from", "fold", "--target-fps", "500", "--clock-mhz", "150", "--no-sim")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((out / "report.json").read_text())
    assert [s["name"] for s in report["steps"]] == STEPS
    # the steps before fold were kept from the build that made the folder (check_fit runs
    # again in every build)
    assert [s["name"] for s in report["steps"] if not s.get("kept")] == \
        ["check_fit"] + STEPS[STEPS.index("fold"):]
    sim = next(s for s in report["steps"] if s["name"] == "simulate_rtl")
    assert sim["status"] == "skipped" and "--no-sim" in sim["reason"]
    assert "cycles_per_frame" not in report["simulation"]
    assert report["target_fps"] == 500 and report["fps_estimate"] >= 500
    # every frame rate follows the clock asked for: the folding's period budget too
    assert report["clock_mhz"] == 150 and report["clock_source"] == "--clock-mhz"
    assert report["fps_estimate"] == pytest.approx(150e6 / report["cycles_per_frame"])
    assert report["folding"]["target_cycles"] == int(150e6 // 500)
    assert before["clock_mhz"] == 100 and "at 150 MHz" in " ".join(r.stdout.split())
    tcl = (out / "hls" / "hls_synth.tcl").read_text()
    assert "6.667" in tcl                        # the HLS clock period, ns
    # the clock is a recorded input of the fold step and every step after it: a resume that
    # does not ask for it again is refused, naming it (flow/pipeline/state.py)
    state = json.loads((out / "build_state.json").read_text())["steps"]
    assert state["fold"]["inputs"]["clock"] == 150 and "clock" in state["report"]["inputs"]
    assert "clock" not in state["check_fit"]["inputs"]
    r = build("--board", "pynq-z2", "--model", "hg-hpm-tiny", "--output", str(out),
              "--from", "generate_rtl", "--until", "generate_rtl", timeout=300)
    text = " ".join(r.stdout.split())
    assert r.returncode == 2 and "clock was 150 MHz, this build's is 100 MHz" in text, text


@pytest.mark.parametrize("clock", ["0", "nan", "1e9", "fast"])
def test_a_clock_that_is_not_a_clock_is_refused_up_front(clock, tmp_path):
    r = build("--board", "pynq-z2", "--model", "hg-hpm-tiny", "--clock-mhz", clock,
              "--output", str(tmp_path / "o"), timeout=120)
    assert r.returncode == 2 and "--clock-mhz" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_unreachable_target_fails_and_leaves_nothing_that_looks_complete(tiny_build):
    """Below the up-front bound of one input pixel per cycle (97,656 FPS here), but above
    what the stem's window reaches fully parallel (a whole 7x7 window per cycle, 1,444 cycles
    for the 38x38 padded frame: 69,252.1 FPS): fold refuses, naming it."""
    out, _ = tiny_build
    r = build("--board", "pynq-z2", "--model", "hg-hpm-tiny", "--output", str(out),
              "--from", "fold", "--target-fps", "80000")
    assert r.returncode == 1
    text = " ".join(r.stdout.split())
    assert "--target-fps 80000" in text and "at most 69252.1 FPS" in text
    assert "sliding_window_0" in text and "Traceback" not in text
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "failed"
    assert [s["status"] for s in report["steps"] if not s.get("kept")] == ["done", "failed"]
    assert report["steps"][-1]["name"] == "fold"
    assert not (out / "hw_graph.onnx").exists() and not (out / "golden").exists()


@pytest.mark.slow
def test_a_target_fps_build_simulated_says_what_its_estimates_are(tiny_build_pristine,
                                                                  tmp_path):
    """--target-fps 500: the simulated period is compared with the slowest layer's, the
    rate the full-rate bench measures (it was compared with the requested input pace and
    'off by +32.9 %'), and the latency estimate is within 25 % of the simulation."""
    import shutil

    out = Path(shutil.copytree(tiny_build_pristine[0], tmp_path / "tiny"))
    r = build("--board", "pynq-z2", "--model", "hg-hpm-tiny", "--output", str(out),
              "--from", "fold", "--target-fps", "500", "--sim", timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    sim = json.loads((out / "report.json").read_text())["simulation"]
    assert abs(sim["estimate_error"]) <= 0.1 and abs(sim["latency_estimate_error"]) <= 0.25
    text = " ".join(r.stdout.split())
    assert "the slowest layer's estimate of" in text and "estimate is off by" not in text
