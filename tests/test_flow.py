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


def test_paper_model_does_not_fit_pynq_z2_and_says_what_to_do(tmp_path):
    out = tmp_path / "o"
    r = build("--board", "pynq-z2", "--model", "hg-hpm-paper", "--output", str(out))
    assert r.returncode == 1
    text = " ".join(r.stdout.split())
    assert "does not fit board 'pynq-z2'" in text and "smaller preset" in text
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "failed"
    assert [s["status"] for s in report["steps"]] == ["failed"]
    assert not (out / "intermediate_models").exists()  # refused before any long work


def test_tiny_build_writes_report_and_resumes(tmp_path):
    out = tmp_path / "tiny"
    r = build("--board", "pynq-z2", "--model", "hg-hpm-tiny", "--output", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "complete"
    assert report["board"] == "pynq-z2" and report["part"] == "xc7z020clg400-1"
    assert report["clock_mhz"] == 100.0
    assert [s["name"] for s in report["steps"]] == ["check_fit", "export_qonnx",
                                                   "convert_to_finn"]
    assert all(s["status"] == "done" for s in report["steps"])
    assert (out / "hg-hpm-tiny.qonnx.onnx").is_file()
    assert (out / "intermediate_models" / "convert_to_finn.onnx").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["hg-hpm-tiny.qonnx.onnx",
                                                     "intermediate_models", "report.json"]

    r = build("--board", "pynq-z2", "--model", "hg-hpm-tiny", "--output", str(out),
              "--from", "convert_to_finn")
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads((out / "report.json").read_text())
    assert [s["name"] for s in report["steps"]] == ["convert_to_finn"]
