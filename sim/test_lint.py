"""The generated RTL is clean for both tools that read it: Verilator's -Wall lint and Yosys'
synth_xilinx (7-series), for a random instance set of every layer kind."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from flow.backends.rtlgen import TOP
from flow.backends.rtlgen import write_rtl
from sim.graphs import KINDS
from sim.graphs import random_graph


def _rtl(kind, tmp_path):
    g, _ = random_graph(kind, seed=0)
    m = write_rtl(g, tmp_path / "rtl")
    return tmp_path / "rtl", m["sources"]


@pytest.mark.parametrize("kind", KINDS)
def test_verilator_lint_clean(kind, tmp_path):
    rtl, sources = _rtl(kind, tmp_path)
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", TOP, *sources],
                       cwd=rtl, capture_output=True, text=True)
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-4000:]


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
@pytest.mark.parametrize("kind", KINDS)
def test_yosys_synth_xilinx(kind, tmp_path):
    rtl, sources = _rtl(kind, tmp_path)
    script = f"read_verilog -sv {' '.join(sources)}; synth_xilinx -top {TOP} -family xc7; stat"
    r = subprocess.run(["yosys", "-q", "-p", script], cwd=rtl, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    # Yosys 0.23 notes that it narrows unused ports of the block-RAM cells it infers itself
    warnings = [w for w in r.stderr.splitlines()
                if "Warning" in w and "Resizing cell port" not in w]
    assert not warnings, "\n".join(warnings[:20])
