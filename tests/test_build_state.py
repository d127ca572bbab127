"""A build folder knows what it holds: every step records the inputs that produced it, and
`--from` refuses a folder made from other inputs, naming the step, the input and both values;
`--until` gives a partial report, a resumed report keeps the sections of the steps it did not
rerun, and a rerun leaves nothing stale; a second build into a busy folder is refused; the
tools a build started die with it, and what a killed build left half-written goes at the
next run. All on copies of the session's tiny build."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from flow import build as build_cli

REPO = Path(__file__).resolve().parents[1]
TINY = ["--board", "pynq-z2", "--model", "hg-hpm-tiny"]


@pytest.fixture
def folder(tiny_build_pristine, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_build_pristine[0], tmp_path / "tiny"))


def run(capsys, *args) -> tuple[int, str]:
    """flow/build.py in this process (its signal handlers undone after): exit code and
    output with line breaks undone."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        code = build_cli.main(list(args))
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def unchanged(out: Path, before: dict) -> bool:
    return report(out) == before and (out / "rtl" / "accelerator.sv").is_file()


@pytest.fixture(scope="module")
def other_checkpoint(tmp_path_factory) -> Path:
    import torch

    from brevitas_models import build_model
    from brevitas_models import get_preset
    from brevitas_models.checkpoint import save_checkpoint

    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("ckpt") / "other.pt"
    save_checkpoint(build_model(get_preset("hg-hpm-tiny")).eval(), path)
    return path


def test_from_refuses_a_folder_made_from_other_inputs(capsys, folder, other_checkpoint):
    """Each of these built something else than it reported; now refused, nothing touched."""
    before = report(folder)
    o = ["--output", str(folder)]
    cases = [
        (["--board", "pynq-z2", "--checkpoint", str(other_checkpoint), "--from", "lower_to_hw"],
         ["step 'export_qonnx'", "source was 'hg-hpm-tiny' from trained checkpoint",
          f"checkpoint {other_checkpoint}", "--from export_qonnx"]),
        (["--board", "pynq-z2", "--model", "hg-unet-tiny", "--from", "generate_rtl"],
         ["step 'export_qonnx'", "this build's is 'hg-unet-tiny' from untrained"]),
        (["--board", "zcu104", "--model", "hg-hpm-tiny", "--from", "generate_rtl"],
         ["step 'fold'", "board was pynq-z2 (xc7z020clg400-1, 100 MHz), this build's is "
          "zcu104", "--from fold"]),
        ([*TINY, "--target-fps", "500", "--from", "generate_rtl"],
         ["step 'fold'", "folding was --max, this build's is --target-fps 500"]),
        ([*TINY, "--no-sim", "--from", "generate_hls"],
         ["step 'simulate_rtl'", "sim was neither --sim nor --no-sim", "is --no-sim"]),
    ]
    for args, says in cases:
        code, out = run(capsys, *args, *o)
        assert code == 2, out
        for s in says:
            assert s in out, (s, out)
        assert "Traceback" not in out and unchanged(folder, before)


def test_from_refuses_when_the_flow_itself_changed(capsys, folder):
    """The flow's own code is an input: a checkpoint made by other code is not resumed."""
    from flow.pipeline.state import STATE_FILE

    state = json.loads((folder / STATE_FILE).read_text())
    state["steps"]["lower_to_hw"]["inputs"]["code:core"] = "0123456789abcdef"
    (folder / STATE_FILE).write_text(json.dumps(state))
    code, out = run(capsys, *TINY, "--output", str(folder), "--from", "fold")
    assert code == 2 and "step 'lower_to_hw'" in out and "core code" in out
    assert "flow/layers/*.py" in out and "--from lower_to_hw" in out
    (folder / STATE_FILE).unlink()
    code, out = run(capsys, *TINY, "--output", str(folder), "--from", "fold")
    assert code == 2 and "no build state" in out and "without --from" in out


def test_a_damaged_checkpoint_is_refused_before_anything_changes(capsys, folder):
    before = report(folder)
    (folder / "intermediate_models" / "fifo_depths.onnx").write_bytes(b"\0garbage")
    code, out = run(capsys, *TINY, "--output", str(folder), "--from", "verify_golden")
    assert code == 2 and "fifo_depths.onnx' of step 'fifo_depths' cannot be read" in out
    assert "resume from 'fifo_depths'" in out and "Traceback" not in out
    assert unchanged(folder, before)


def test_until_gives_a_partial_report(capsys, tmp_path):
    out = tmp_path / "o"
    code, text = run(capsys, *TINY, "--output", str(out), "--until", "check_fit")
    assert code == 0 and "status: partial" in text
    r = report(out)
    assert r["status"] == "partial" and r["next_step"] == "export_qonnx"
    assert [s["name"] for s in r["steps"]] == ["check_fit"]


def test_refolding_leaves_nothing_of_the_old_folding(capsys, folder):
    """--from fold --until fold with another target: the old design (rtl/, hls/, deploy/, the
    report's figures) was the --max one and goes; the report says partial."""
    code, out = run(capsys, *TINY, "--output", str(folder), "--target-fps", "500",
                    "--from", "fold", "--until", "fold")
    assert code == 0, out
    r = report(folder)
    assert r["status"] == "partial" and r["next_step"] == "fifo_depths"
    assert r["folding"]["mode"] == "target" and r["folding"]["target_fps"] == 500
    assert "layers" not in r and "simulation" not in r and "cycles_per_frame" not in r
    names = [s["name"] for s in r["steps"]]
    assert names == ["check_fit", "export_qonnx", "convert_to_finn", "lower_to_hw",
                     "streamline", "insert_duplicates", "fold"]
    kept = {s["name"] for s in r["steps"] if s.get("kept")}
    assert kept == set(names) - {"check_fit", "fold"}
    for gone in ("rtl", "hls", "deploy", "golden", "sim", "csim", "vivado", "hw_graph.onnx",
                 "intermediate_models/fifo_depths.onnx"):
        assert not (folder / gone).exists(), gone


def test_a_resumed_report_keeps_the_sections_of_the_steps_not_rerun(capsys, folder):
    before = report(folder)
    code, out = run(capsys, *TINY, "--output", str(folder), "--from", "report")
    assert code == 0, out
    r = report(folder)
    assert r["status"] == "complete"
    assert r["folding"] == before["folding"] and r["simulation"] == before["simulation"]
    assert [s["name"] for s in r["steps"]] == [s["name"] for s in before["steps"]]
    rerun = {s["name"] for s in r["steps"] if not s.get("kept")}
    assert rerun == {"check_fit", "report"}
    assert r["source"]["sha256"] and r["source"]["kind"] == "preset"


def test_a_failed_from_leaves_nothing_that_looks_like_output(capsys, folder):
    (folder / "hls" / "accelerator.json").write_text("{ broken")
    code, out = run(capsys, *TINY, "--output", str(folder), "--from", "csim_hls")
    assert code == 1 and "csim_hls" in out
    r = report(folder)
    assert r["status"] == "failed" and r["steps"][-1]["name"] == "csim_hls"
    for gone in ("csim", "vivado", "deploy", "hw_graph.onnx"):
        assert not (folder / gone).exists(), gone


def test_what_a_killed_build_left_half_written_goes_at_the_next_run(capsys, folder):
    leftovers = [folder / ".tmp-rtl-abc123" / "rtl", folder / ".rtl-k2j3h4",
                 folder / ".tmp-export-x"]
    for d in leftovers:
        d.mkdir(parents=True)
        (d / "accelerator.sv").write_text("module half")
    (folder / "golden" / ".vectors.npz.x1.tmp").write_bytes(b"half")
    code, out = run(capsys, *TINY, "--output", str(folder), "--from", "report")
    assert code == 0, out
    assert not [p for p in folder.rglob("*") if p.name.startswith((".tmp", ".rtl-"))
                or p.name.endswith(".tmp")]


def test_a_second_build_into_a_busy_folder_is_refused(capsys, folder):
    from flow.pipeline.state import BuildLock

    before = report(folder)
    with BuildLock(folder):
        code, out = run(capsys, *TINY, "--output", str(folder), "--from", "report")
    assert code == 2 and "is in use by another build" in out and f"pid {os.getpid()}" in out
    assert unchanged(folder, before)


def test_the_lock_of_a_killed_build_does_not_block(folder):
    from flow.pipeline.state import BuildLock

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
         "from flow.pipeline.state import BuildLock\n"
         f"with BuildLock(Path({str(folder)!r})):\n    print('locked', flush=True)\n"
         "    time.sleep(300)\n"], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(Exception, match="in use by another build"):
        with BuildLock(folder):
            pass
    holder.kill()
    holder.wait()
    with BuildLock(folder):
        pass


def _tagged(tag: str) -> list[str]:
    """Names of the live processes whose environment holds BINHG_TEST_TAG=tag."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                env = (d / "environ").read_bytes().split(b"\0")
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if f"BINHG_TEST_TAG={tag}".encode() in env and stat.rsplit(")", 1)[1].split()[0] \
                    != "Z":
                found.append(stat[stat.index("(") + 1:stat.rindex(")")])
    return found


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_verilator_dies_with_the_build(folder, tmp_path, sig):
    """Killed during simulate_rtl's compile (SIGKILL: the build cannot clean up; SIGTERM: it
    can), no Verilator, make or compiler is left running; SIGTERM's report says so."""
    tag = uuid.uuid4().hex
    env = {**os.environ, "BINHG_TEST_TAG": tag, "BINHG_SIM_CACHE": str(tmp_path / "cache")}
    main = subprocess.Popen([sys.executable, "flow/build.py", *TINY, "--output", str(folder),
                             "--from", "simulate_rtl", "--until", "simulate_rtl", "--sim"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        t0 = time.monotonic()
        while not {"make", "cc1plus", "g++"} & set(_tagged(tag)):
            assert main.poll() is None, main.stdout.read()
            assert time.monotonic() - t0 < 300, _tagged(tag)
            time.sleep(0.1)
        main.send_signal(sig)
        main.wait(timeout=60)
        t0 = time.monotonic()
        while _tagged(tag) and time.monotonic() - t0 < 20:
            time.sleep(0.1)
        assert not _tagged(tag), f"left running: {_tagged(tag)}"
    finally:
        if main.poll() is None:
            main.kill()
            main.wait()
    if sig == signal.SIGTERM:
        assert main.returncode == 130
        r = report(folder)
        assert r["status"] == "failed"
        assert r["steps"][-1]["name"] == "simulate_rtl"
        assert "stopped by SIGTERM" in r["steps"][-1]["reason"]
