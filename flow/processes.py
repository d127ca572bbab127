"""Running an external tool (Verilator and the make/g++ it starts, g++, Yosys, Vivado, Vitis
HLS) so that it dies with the build: the one home for it, used by flow/measure, flow/backends
and sim/.

Each tool runs under a small supervisor (this file run as a script, standard library only),
in a process group of its own, so that a kill reaches every process the tool started:

- the caller waits in `run_tool`; a timeout, Ctrl-C or any exception there (flow/build.py turns
  SIGTERM and SIGHUP into one) kills the whole group before it propagates;
- when the caller dies without cleaning up (SIGKILL, a crash), the kernel sends the supervisor
  SIGTERM (prctl PR_SET_PDEATHSIG) and the supervisor kills its group, itself included. A
  tool's own children (Verilator's make and cc1plus, Yosys' ABC) have no such link to the
  build: the group is what reaches them.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

SUPERVISOR = Path(__file__).resolve()
PR_SET_PDEATHSIG = 1
# processes started by run_tool and not yet reaped: {supervisor pid: Popen}
_live: dict[int, subprocess.Popen] = {}
# How often run_tool asks its `stop` callback, in seconds.
STOP_POLL_SECONDS = 0.2


class ToolStopped(RuntimeError):
    """run_tool's `stop` callback asked for the tool to go; the message is its reason."""


def run_tool(cmd, *, cwd=None, env=None, stdin=subprocess.DEVNULL, stdout=None, stderr=None,
             capture_output: bool = False, text: bool = False, input=None,
             timeout: float | None = None,
             stop: Callable[[], str | None] | None = None) -> subprocess.CompletedProcess:
    """subprocess.run(cmd, ...) for an external tool, with every process it starts killed
    when it times out (subprocess.TimeoutExpired, as subprocess.run), when the caller is
    interrupted, or when the caller dies. stdin is closed by default, so that a tool that
    waits for input (Vivado's prompt) cannot hang the build. `stop`, asked every
    STOP_POLL_SECONDS while the tool runs, returns a reason to kill it (ToolStopped with that
    reason is raised) or None: how a pool of tools stops the others when one fails."""
    cmd = [str(c) for c in cmd]
    _check_executable(cmd[0], (env or os.environ).get("PATH"), cwd)
    if capture_output:
        stdout = stderr = subprocess.PIPE
    if input is not None:
        stdin = subprocess.PIPE
    p = subprocess.Popen([sys.executable, "-I", "-S", str(SUPERVISOR), str(os.getpid()), *cmd],
                         cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                         text=text, start_new_session=True)
    _live[p.pid] = p
    try:
        out, err = _communicate(p, input, timeout, stop)
    except BaseException:      # timeout, KeyboardInterrupt, the build's SIGTERM: none survive
        kill_group(p)
        raise
    finally:
        _live.pop(p.pid, None)
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def _communicate(p: subprocess.Popen, input, timeout: float | None,
                 stop: Callable[[], str | None] | None):
    if stop is None:
        return p.communicate(input, timeout=timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        wait = STOP_POLL_SECONDS if deadline is None else \
            min(STOP_POLL_SECONDS, max(0.0, deadline - time.monotonic()))
        try:        # retried after a timeout, communicate loses no output (subprocess docs)
            return p.communicate(input, timeout=wait)
        except subprocess.TimeoutExpired:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(p.args, timeout) from None
        why = stop()
        if why:
            raise ToolStopped(why)


def _check_executable(exe: str, path: str | None, cwd) -> None:
    """FileNotFoundError / PermissionError where subprocess.run would raise them: the
    supervisor would only exit with 127."""
    import errno
    import shutil

    if os.sep in exe:
        full = Path(cwd or ".") / exe
        if not full.is_file():
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), exe)
        if not os.access(full, os.X_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), exe)
    elif shutil.which(exe, path=path) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), exe)


def kill_group(p: subprocess.Popen) -> None:
    """SIGKILL the process group of a supervisor started by run_tool, and reap it."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
    for f in (p.stdout, p.stderr, p.stdin):
        if f is not None:
            f.close()


def kill_all() -> None:
    """Kill every tool still running (flow/build.py calls it when it is terminated)."""
    for p in list(_live.values()):
        kill_group(p)
        _live.pop(p.pid, None)


def tool_version(cmd: list[str], timeout: float = 30) -> str:
    """The first line a tool's version command prints, or why there is none: recorded with a
    build's steps so that a resumed build can tell a different tool from the one it used."""
    import shutil

    if shutil.which(cmd[0]) is None:
        return f"{cmd[0]}: not on PATH"
    try:
        r = run_tool(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{cmd[0]}: {type(e).__name__}"
    lines = (r.stdout or r.stderr).strip().splitlines()
    return lines[0] if lines else f"{cmd[0]}: exit {r.returncode}"


def _supervise(parent: int, cmd: list[str]) -> int:
    """The supervisor: the leader of the tool's process group (run_tool starts it in a new
    session), killing the group when the build dies or signals it."""
    import ctypes

    def kill_group_and_exit(*_):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.killpg(0, signal.SIGKILL)             # the tool, its children, and this process

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, kill_group_and_exit)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:                   # the build died before prctl took effect
        kill_group_and_exit()
    try:
        child = subprocess.Popen(cmd)
    except OSError as e:
        print(f"cannot run {cmd[0]}: {e}", file=sys.stderr)
        return 127
    rc = child.wait()
    if rc < 0:                                   # killed by a signal: say so the same way
        signal.signal(-rc, signal.SIG_DFL)
        os.kill(os.getpid(), -rc)
    return rc


if __name__ == "__main__":
    sys.exit(_supervise(int(sys.argv[1]), sys.argv[2:]))
