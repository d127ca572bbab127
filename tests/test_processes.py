"""flow/processes.py: an external tool and everything it starts die with the build, whether
the build times it out, is interrupted, or is killed outright."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from flow.processes import run_tool

REPO = Path(__file__).resolve().parents[1]
# a tool that starts children of its own and waits for them (as verilator -> make -> cc1plus)
TREE = ["sh", "-c", "sleep 300 & sleep 300 & echo started; wait"]


def tagged(tag: str) -> list[int]:
    """Pids of the live processes whose environment holds BINHG_TEST_TAG=tag."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                env = (d / "environ").read_bytes()
                state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if f"BINHG_TEST_TAG={tag}".encode() in env.split(b"\0") and state != "Z":
                pids.append(int(d.name))
    return pids


def wait_for(cond, timeout=20.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_it_runs_like_subprocess_run(tmp_path):
    r = run_tool(["sh", "-c", "pwd; echo err >&2; exit 3"], cwd=tmp_path, capture_output=True,
                 text=True)
    assert r.returncode == 3 and r.stdout.strip() == str(tmp_path) and r.stderr == "err\n"
    with open(tmp_path / "log", "w") as f:
        assert run_tool(["echo", "to a file"], stdout=f).returncode == 0
    assert (tmp_path / "log").read_text() == "to a file\n"
    assert run_tool(["cat"], input="fed", capture_output=True, text=True).stdout == "fed"
    with pytest.raises(FileNotFoundError):
        run_tool(["no-such-tool-anywhere"])
    # a tool killed by a signal reports it as subprocess.run does
    assert run_tool(["sh", "-c", "kill -TERM $$"]).returncode == -signal.SIGTERM


def test_a_timeout_kills_the_tool_and_its_children():
    tag = uuid.uuid4().hex
    env = {**os.environ, "BINHG_TEST_TAG": tag}
    with pytest.raises(subprocess.TimeoutExpired):
        run_tool(TREE, env=env, timeout=1.0, capture_output=True)
    assert wait_for(lambda: not tagged(tag)), f"left running: {tagged(tag)}"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_the_tools_die_when_the_build_dies(sig):
    """The caller killed (SIGKILL: no chance to clean up) or terminated: the tool and the
    processes it started go too. flow/build.py turns SIGTERM into an exception as here."""
    tag = uuid.uuid4().hex
    code = ("import signal, sys\n"
            "from flow.processes import run_tool\n"
            "def stop(*_): raise KeyboardInterrupt\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            # Ctrl-C as a build in a terminal gets it: a suite started in the background
            # by a non-interactive shell passes SIGINT down ignored, and Python then
            # installs no KeyboardInterrupt handler
            "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
            f"run_tool({TREE!r})\n")
    main = subprocess.Popen([sys.executable, "-c", code], cwd=REPO,
                            env={**os.environ, "BINHG_TEST_TAG": tag},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # the caller, the supervisor, sh and its two sleeps
        assert wait_for(lambda: len(tagged(tag)) >= 5), tagged(tag)
        main.send_signal(sig)
        main.wait(timeout=20)
        assert wait_for(lambda: not tagged(tag)), f"left running: {tagged(tag)}"
    finally:
        for pid in tagged(tag):
            os.kill(pid, signal.SIGKILL)
