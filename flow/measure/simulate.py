"""The one door from flow/ into sim/: the build and the bench run a build's rtl/ through the
full-rate Verilator bench (sim/fullrate.py) only through these functions, so that sim/'s
internals can change without touching flow/.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..golden import compare_outputs


class SimulationError(RuntimeError):
    """The simulation could not run, deadlocked, or its outputs differ from the golden
    model; the message names what and where."""


def _sim():
    """sim/'s full-rate bench and harness, or SimulationError saying why they cannot load."""
    try:
        from sim import fullrate
        from sim import harness
    except ImportError as e:
        raise SimulationError(f"the simulation bench cannot be imported ({e})") from None
    return fullrate, harness


def simulator_missing() -> str | None:
    """Why the RTL cannot be simulated on this machine, or None."""
    try:
        _, harness = _sim()
    except SimulationError as e:
        return str(e)
    return harness.verilator_missing()


def default_cache(build_dir: Path) -> Path:
    """Where compiled benches are kept: $BINHG_SIM_CACHE (shared, so an identical design
    compiles once), else the build's own sim/."""
    return Path(os.environ.get("BINHG_SIM_CACHE") or Path(build_dir) / "sim")


@dataclass
class RtlRun:
    frames: int
    cycles_per_frame: int
    latency_cycles: int          # the first output frame's last beat, from the first input beat


def simulate_rtl(rtl_dir: Path, feeds: dict[str, np.ndarray],
                 expected: dict[str, np.ndarray], *, tag: str, cache: Path) -> RtlRun:
    """Stream `feeds` through `rtl_dir` at full rate; every output code must equal
    `expected` (the golden model's)."""
    fullrate, harness = _sim()
    try:
        r = fullrate.simulate_fullrate_rtl(rtl_dir, feeds, tag=tag, cache=cache)
    except harness.SimError as e:
        raise SimulationError(str(e)) from None
    if r.extra_beats:
        raise SimulationError(f"RTL simulation: output beats after the last frame: "
                              f"{r.extra_beats}")
    diff = compare_outputs(r.outputs, expected, "RTL")
    if diff:
        raise SimulationError(f"RTL simulation: {diff}")
    frames = len(next(iter(r.frame_end.values())))
    return RtlRun(frames, int(r.cycles_per_frame()),
                  int(min(v[0] for v in r.frame_end.values())))


def probe_streams(rtl_dir: Path, feeds: dict[str, np.ndarray], *, tag: str,
                  cache: Path, timeline_every: int | None = None) -> dict:
    """The stream statistics of sim/fullrate.py's `stream_probes` (beats, stalled and
    starved cycles per internal stream; the layers ranked by how much they hold the stream
    up; with `timeline_every`, every stream's beat count sampled every that many cycles)."""
    fullrate, harness = _sim()
    try:
        return fullrate.stream_probes(rtl_dir, feeds, tag=tag, cache=cache,
                                      timeline_every=timeline_every)
    except harness.SimError as e:
        raise SimulationError(str(e)) from None
