"""Resource figures and timing of a build's generated RTL from Yosys synthesis, per layer
instance and for the top.

`synthesize(rtl_dir, family, work_dir)` runs Yosys' `synth_xilinx` on every *distinct*
instance of `accelerator.json` (its module, parameters and ROM files; identical instances
once), in parallel Yosys processes, several small instances to a process (a wrapper module
instantiating each of them, the hierarchy kept, so that each is synthesized as it is in the
whole design, on its own), and the top alone with the layer modules as blackboxes (its own
cells: the TLAST counters). Each instance's result is cached under the hash of everything
its synthesis reads (module sources, parameters, ROM contents, Yosys version, family,
options): a rebuild with another folding synthesizes only the instances that changed. The
figures of an instance are the sum over the (derived, `$paramod$...`) modules it contains
(an MVTU's sequencer, output stage, FIFOs...), and the instances plus the top's own cells
add up to the design total, as one run of the whole design with the hierarchy kept gives
(Yosys 0.23's synth_xilinx does not flatten unless told `-flatten`, nor optimise across
module boundaries). Xilinx primitives map to figures as in `figures()`: LUTs (LUT-RAM and
SRL primitives counted at the LUTs they occupy), flip-flops, BRAM36 equivalents, DSPs, carry
chains, plus the raw cell counts. From the same netlists, flow/measure/timing.py estimates
the longest paths inside every instance and across the stitched top.

These are Yosys' figures, not Vivado's: Yosys does its own memory inference and LUT mapping
(ABC), does no cross-boundary optimisation with the hierarchy kept, and counts every INV cell
as a LUT (Vivado usually folds inverters into the LUT or FF they drive).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from brevitas_models.files import write_bytes_atomic
from brevitas_models.files import write_json_atomic

from ..backends.rtlgen import TOP
from ..backends.rtlgen import RtlError
from ..backends.rtlgen import module_closure
from ..processes import ToolStopped
from ..processes import run_tool
from .timing import DelayModel
from .timing import TIMING_FORMAT
from .timing import ModuleTiming
from .timing import analyze_module
from .timing import analyze_netlist
from .timing import delay_model

RESULT = "synth.json"
LOG = "yosys.log"
SCRIPT = "synth.ys"
DEFAULT_TIMEOUT = 3600.0          # seconds, the whole run
# Yosys processes at once (the machine's cores; one process per core is what pays off, as
# each is single-threaded).
WORKERS = 2
# Seconds of Yosys per estimated LUT of an instance synthesized on its own (`_cost`),
# measured on hg-hpm-tiny and hg-hpm-z2 here.
SECONDS_PER_LUT = 0.02
# Small instances share a Yosys process up to about this many seconds of estimated work and
# this many instances, so that the start of a process (PROCESS_SECONDS: reading the Xilinx
# cell library) is paid rarely; larger instances get a process of their own.
BATCH_SECONDS = 8.0
BATCH_JOBS = 16
PROCESS_SECONDS = 2.5
# Bump when the job script or the cache entry's format changes: old entries are then unused.
CACHE_FORMAT = 1
BATCH_TOP = "binhg_synth_batch"
# Extra synth_xilinx options by default. -noiopad / -noclkbuf: the accelerator is an IP core
# inside a block design (vivado/package_rtl_ip.tcl), so its ports get no I/O buffers or BUFG.
DEFAULT_OPTIONS = ("-noiopad", "-noclkbuf")

# Board family (flow/boards.py) -> synth_xilinx -family.
FAMILIES = {"zynq-7000": "xc7", "zynq-ultrascale+": "xcup"}

FIGURES = ("lut", "ff", "bram36", "uram", "dsp", "carry", "lutram", "inv")

# LUTs each LUT primitive occupies. LUT-RAM and shift-register primitives from the 7-series
# (UG474, "Distributed RAM" table of configurations and LUTs used) and UltraScale (UG574)
# CLB user guides: a single-port RAM of 64 x 1 bit takes one LUT6, a dual-port copy a
# second LUT; the multi-port RAM32M/RAM64M use all four LUTs of a SLICEM, the UltraScale
# RAM32M16/RAM64M8/RAM64X8SW/RAM32X16DR8 all eight of a SLICEM. Every SRL is one LUT.
# MUXF7/MUXF8/MUXF9 are not LUTs (they sit between the LUTs of a slice). INV cells are
# counted apart ("inv"), not as LUTs: Yosys leaves an INV wherever ABC's netlist needs an
# inverted signal (6,597 of them next to 19,832 LUT1-6 on hg-hpm-tiny), and Vivado folds
# nearly all into the LUT they feed or the flip-flop's inverted-pin attributes.
LUT_CELLS = {
    "LUT1": 1, "LUT2": 1, "LUT3": 1, "LUT4": 1, "LUT5": 1, "LUT6": 1, "LUT6_2": 1,
    "CFGLUT5": 1,
}
LUTRAM_CELLS = {
    "RAM16X1S": 1, "RAM32X1S": 1, "RAM64X1S": 1,
    "RAM16X1D": 2, "RAM32X1D": 2, "RAM64X1D": 2,
    "RAM128X1S": 2, "RAM128X1D": 4,
    "RAM256X1S": 4, "RAM256X1D": 8, "RAM512X1S": 8,
    "RAM32M": 4, "RAM64M": 4,
    "RAM32M16": 8, "RAM64M8": 8, "RAM64X8SW": 8, "RAM32X16DR8": 8,
    "SRL16": 1, "SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1,
}
FF_CELLS = {"FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1",
            "LDCE", "LDPE"}    # latches take a flip-flop site
BRAM36_CELLS = {"RAMB36E1": 1.0, "RAMB36E2": 1.0, "FIFO36E1": 1.0, "FIFO36E2": 1.0,
                "RAMB18E1": 0.5, "RAMB18E2": 0.5, "FIFO18E1": 0.5, "FIFO18E2": 0.5}
URAM_CELLS = {"URAM288", "URAM288_BASE"}
DSP_CELLS = {"DSP48E1", "DSP48E2"}
# Yosys 0.23 maps adders to CARRY4 for every family, UltraScale+ too (Vivado retargets them;
# a CARRY8 would hold two): on xcup "carry" counts CARRY4s.
CARRY_CELLS = {"CARRY4", "CARRY8"}


class SynthError(ValueError):
    """Yosys failed, timed out or left no usable result; the message has the log's tail and
    its path."""

    def __init__(self, message: str, log: Path | None = None):
        super().__init__(message)
        self.log = log


def yosys_missing() -> str | None:
    """None when Yosys can run here, else why not."""
    exe = shutil.which("yosys")
    if exe is None:
        return "yosys is not on PATH (Debian: apt-get install yosys)"
    try:
        r = run_tool([exe, "-V"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"yosys -V failed: {e}"
    if r.returncode != 0 or not r.stdout.startswith("Yosys"):
        return f"yosys -V failed (exit {r.returncode}): {(r.stdout + r.stderr).strip()[-300:]}"
    return None


def yosys_family(family: str) -> str:
    """A board family ('zynq-7000', 'zynq-ultrascale+') or a synth_xilinx family as is."""
    if family in FAMILIES:
        return FAMILIES[family]
    if family in FAMILIES.values():
        return family
    raise ValueError(f"unknown family '{family}'; one of {', '.join(FAMILIES)} "
                     f"(or {', '.join(FAMILIES.values())})")


def figures(cells: dict[str, int]) -> dict:
    """Resource figures of a flat count of Xilinx primitive cells (plus the raw counts)."""
    f = {k: 0 for k in FIGURES}
    for t, n in cells.items():
        if t in LUT_CELLS:
            f["lut"] += LUT_CELLS[t] * n
        elif t in LUTRAM_CELLS:
            f["lut"] += LUTRAM_CELLS[t] * n
            f["lutram"] += LUTRAM_CELLS[t] * n
        elif t in FF_CELLS:
            f["ff"] += n
        elif t in BRAM36_CELLS:
            f["bram36"] += BRAM36_CELLS[t] * n
        elif t in URAM_CELLS:
            f["uram"] += n
        elif t in DSP_CELLS:
            f["dsp"] += n
        elif t in CARRY_CELLS:
            f["carry"] += n
        elif t == "INV":
            f["inv"] += n
    f["bram36"] = float(f["bram36"])
    f["cells"] = dict(sorted(cells.items()))
    return f


def compare(estimate: dict, synth: dict) -> dict:
    """Per figure in both: the relative error (estimate - synth) / synth, None where synth
    is 0 (or either is missing)."""
    out = {}
    for k in FIGURES:
        if k not in estimate and k not in synth:
            continue
        e, s = estimate.get(k), synth.get(k)
        out[k] = None if e is None or not s else (float(e) - float(s)) / float(s)
    return out


# --- the jobs: one per distinct instance ------------------------------------------------------

@dataclass
class Job:
    """One distinct instance configuration: a module, its parameters and what it reads.
    Identical instances (same module, parameters and ROM contents) share a job."""
    key: str
    module: str
    literals: dict[str, str]          # parameter -> Verilog literal, ROM paths absolute
    sources: list[Path]               # the library files it needs
    instances: list[str]
    cost: float                       # a guess of its synthesis time, to balance the workers


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(rtl_dir: Path) -> dict:
    path = rtl_dir / f"{TOP}.json"
    if not path.is_file():
        why = ("it has a filelist.f but no" if (rtl_dir / "filelist.f").is_file()
               else "it has neither filelist.f nor")
        raise SynthError(f"{rtl_dir}: {why} {TOP}.json, which lists the instances to "
                         "synthesize: not a generated rtl/ folder (flow/backends/rtlgen."
                         "write_rtl writes one)")
    try:
        m = json.loads(path.read_text())
        m["sources"], m["instances"]
    except (ValueError, KeyError) as e:
        raise SynthError(f"{path}: not a usable manifest ({e})") from None
    missing = [s for s in m["sources"] if not (rtl_dir / s).is_file()]
    if not m["sources"] or missing:
        raise SynthError(f"{rtl_dir}: source(s) missing: {', '.join(missing) or '(none listed)'}")
    return m


def _file_param(name: str, literal: str) -> str | None:
    """The file a `*_FILE` parameter names (hw/README.md: $readmemh files), or None."""
    if name.endswith("_FILE") and literal.startswith('"') and literal.strip('"'):
        return literal.strip('"')
    return None


def _cost(inst: dict) -> float:
    """About how many seconds Yosys spends on an instance on its own: in proportion to the
    LUTs the estimate gives its layer (accelerator.json's "lut_estimate")."""
    return 0.3 + SECONDS_PER_LUT * int(inst.get("lut_estimate", 0))


def plan_jobs(rtl_dir: Path, manifest: dict, salt: dict) -> list[Job]:
    """The distinct jobs of a design, each keyed by the hash of everything its synthesis
    reads: the module's sources and parameters, its ROM files' contents and `salt` (Yosys'
    version, the family, the options)."""
    library = {Path(s).stem: rtl_dir / s for s in manifest["sources"] if Path(s).stem != TOP}
    digests: dict[Path, str] = {}

    def digest(path: Path) -> str:
        if path not in digests:
            digests[path] = _sha(path.read_bytes())
        return digests[path]

    jobs: dict[str, Job] = {}
    for inst in manifest["instances"]:
        lits = inst.get("param_literals")
        if lits is None:
            raise SynthError(f"{rtl_dir / (TOP + '.json')}: instance '{inst['name']}' has no "
                             "param_literals (written by an older generator: regenerate rtl/)")
        try:
            sources = module_closure({inst["module"]}, library)
        except RtlError as e:
            raise SynthError(f"instance '{inst['name']}': {e}") from None
        keyed, literals = {}, {}
        for k, v in lits.items():
            f = _file_param(k, v)
            if f is None:
                keyed[k] = literals[k] = v
                continue
            path = rtl_dir / f
            if not path.is_file():
                raise SynthError(f"instance '{inst['name']}': {k} names '{f}', which is not in "
                                 f"{rtl_dir}")
            keyed[k] = "file:" + digest(path)
            literals[k] = f'"{path}"'
        key = _sha(json.dumps({"format": CACHE_FORMAT, **salt, "module": inst["module"],
                               "params": keyed,
                               "sources": {p.name: digest(p) for p in sources}},
                              sort_keys=True).encode())[:32]
        if key in jobs:
            jobs[key].instances.append(inst["name"])
        else:
            jobs[key] = Job(key, inst["module"], literals, sources, [inst["name"]],
                            _cost(inst))
    return list(jobs.values())


def batches(jobs: list[Job], budget: float | None = None) -> list[list[Job]]:
    """Jobs grouped into Yosys processes, the longest first: an instance of more than
    `budget` estimated seconds alone, smaller ones together up to `budget` (every process
    first spends about PROCESS_SECONDS reading the cell library, and a process's time grows
    faster than the sum of its modules', so batches stay small)."""
    budget = BATCH_SECONDS if budget is None else budget
    out: list[list[Job]] = []
    loads: list[float] = []
    for j in sorted(jobs, key=lambda j: -j.cost):
        for k, load in enumerate(loads):
            if load + j.cost <= budget and len(out[k]) < BATCH_JOBS:
                out[k].append(j)
                loads[k] += j.cost
                break
        else:
            out.append([j])
            loads.append(j.cost)
    order = sorted(range(len(out)), key=lambda k: -loads[k])
    return [out[k] for k in order]


# --- running Yosys ----------------------------------------------------------------------------

def _tail(log: Path, lines: int = 25) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    errors = [ln for ln in text if ln.startswith("ERROR")]
    tail = text[-lines:]
    out = "\n".join("    " + t for t in tail)
    if errors and errors[-1] not in tail:
        out = "    " + errors[-1] + "\n    ...\n" + out
    return out


class _Abort:
    """Shared by the workers: set when one fails or the deadline passes, so the others stop."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.reason: str | None = None
        self.lock = threading.Lock()

    def set(self, reason: str) -> None:
        with self.lock:
            if self.reason is None:
                self.reason = reason


def run_yosys(script: Path, cwd: Path, log: Path, abort: _Abort) -> None:
    """`yosys -s script` in `cwd`, its log in `log`, through flow/processes.run_tool (so that
    it dies with the build, ABC children included); killed when `abort` is set or its
    deadline passes. Raises SynthError."""
    # -q -l: the whole log goes to the file; the console gets warnings and errors only, which
    # are appended to the log (Yosys 0.23 does not write an error raised inside `tee -q` to
    # its log, nor to stdout).
    with open(log.with_suffix(".console"), "w+") as con:
        what = None
        try:
            rc = run_tool(["yosys", "-q", "-d", "-l", log, "-s", script], cwd=cwd, stdout=con,
                          stderr=subprocess.STDOUT,
                          timeout=max(0.0, abort.deadline - time.monotonic()),
                          stop=lambda: abort.reason).returncode
        except subprocess.TimeoutExpired:
            what, rc = "timed out", None
        except ToolStopped as e:
            what, rc = f"stopped: {e}", None
        finally:
            con.seek(0)
            console = con.read()
    Path(con.name).unlink(missing_ok=True)
    if console.strip():
        with open(log, "a") as f:
            f.write("\n### yosys console (warnings and errors)\n" + console)
    if what is None and rc != 0:
        what = f"exited with code {rc}"
    if what:
        raise SynthError(f"yosys {what}; see {log}; last lines:\n" + _tail(log), log)


def _batch_script(batch: list[Job], fam: str, options: tuple[str, ...]) -> tuple[str, str]:
    """The wrapper module (one instance of each job, ports open, kept) and the Yosys script
    that synthesizes it with the hierarchy kept: each job's module is synthesized as it is in
    the whole design, on its own."""
    lines = [f"module {BATCH_TOP};"]
    for k, j in enumerate(batch):
        params = ",\n".join(f"    .{n}({v})" for n, v in j.literals.items())
        lines += ["  (* keep *)", f"  {j.module} #(\n{params}\n  ) job{k} ();"]
    lines.append("endmodule")
    sources = sorted({str(p) for j in batch for p in j.sources})
    script = "\n".join([
        f"read_verilog -sv {' '.join(sources)} batch.sv",
        f"synth_xilinx -top {BATCH_TOP} -family {fam} {' '.join(options)}".rstrip(),
        # Yosys 0.23's `stat -json` writes the text hierarchy into its JSON when the design
        # has a top module; without the attribute it prints the modules only.
        f"setattr -mod -unset top {BATCH_TOP}",
        "tee -q -o stat.json stat -json",
        # the cell library's unused blackboxes out of the netlist (the used ones give each
        # cell's port directions)
        f"hierarchy -top {BATCH_TOP} -purge_lib",
        "write_json netlist.json",
        ""])
    return "\n".join(lines) + "\n", script


def _top_script(rtl_dir: Path, manifest: dict, fam: str, options: tuple[str, ...]) -> str:
    """The top alone: the layer modules as blackboxes (their ports only), so its own cells
    (the TLAST counters) are synthesized and its netlist shows every instance's wiring."""
    lib = [str(rtl_dir / s) for s in manifest["sources"] if Path(s).stem != TOP]
    return "\n".join([
        f"read_verilog -lib -sv {' '.join(lib)}",
        f"read_verilog -sv {rtl_dir / (TOP + '.sv')}",
        f"synth_xilinx -top {TOP} -family {fam} {' '.join(options)}".rstrip(),
        f"setattr -mod -unset top {TOP}",
        "tee -q -o stat.json stat -json",
        f"hierarchy -top {TOP} -purge_lib",
        "write_json netlist.json",
        ""])


def _load_stat(path: Path, log: Path) -> tuple[dict[str, dict[str, int]], str]:
    """Per module: its own cells by type. Reads the "modules" object only (Yosys 0.23's
    `stat -json` leaves a trailing comma after it)."""
    try:
        text = path.read_text()
        i = text.index('"modules"')
        mods, _ = json.JSONDecoder().raw_decode(text, text.index("{", i))
    except (OSError, ValueError) as e:
        raise SynthError(f"yosys: no readable statistics in {path} ({e}); see {log}", log) \
            from None
    m = re.search(r'"creator":\s*"([^"]*)"', text)
    return ({_unescape(k): dict(v.get("num_cells_by_type", {})) for k, v in mods.items()},
            m.group(1) if m else "")


def _unescape(name: str) -> str:
    """Yosys' public names start with a backslash ("\\accelerator"); derived ones with $."""
    return name[1:] if name.startswith("\\") else name


def _totals(own: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Per module: its primitive cells including everything its submodules contain."""
    memo: dict[str, dict[str, int]] = {}

    def total(m: str, stack: tuple = ()) -> dict[str, int]:
        if m in memo:
            return memo[m]
        if m in stack:
            raise SynthError(f"recursive module hierarchy through '{m}'")
        acc: dict[str, int] = {}
        for t, n in own[m].items():
            sub = _unescape(t)
            if sub in own:
                for tt, nn in total(sub, stack + (m,)).items():
                    acc[tt] = acc.get(tt, 0) + n * nn
            else:
                acc[t] = acc.get(t, 0) + n
        memo[m] = acc
        return acc

    for m in own:
        total(m)
    return memo


def _netlist(path: Path, log: Path) -> dict[str, dict]:
    """The design's non-blackbox modules from `write_json`, names unescaped."""
    try:
        mods = json.loads(path.read_text())["modules"]
    except (OSError, ValueError, KeyError) as e:
        raise SynthError(f"yosys: no readable netlist in {path} ({e}); see {log}", log) \
            from None
    out = {}
    for k, v in mods.items():
        bb = str(v.get("attributes", {}).get("blackbox", "0"))
        if set(bb) <= {"0", "1"} and bb and int(bb, 2):
            continue
        for c in v.get("cells", {}).values():
            c["type"] = _unescape(c["type"])
        out[_unescape(k)] = v
    return out


def _reachable(modules: dict[str, dict], root: str) -> dict[str, dict]:
    need, todo = {}, [root]
    while todo:
        k = todo.pop()
        if k in need or k not in modules:
            continue
        need[k] = modules[k]
        todo += [c["type"] for c in modules[k].get("cells", {}).values()]
    return need


class _Cache:
    """One entry per job key: `<key>.json` (the module's cells and its timing models) and
    `<key>.netlist.json.gz` (its netlist, so a new delay model needs no new synthesis)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def entry(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self.entry(key).read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, data: dict, netlist: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.root / f"{key}.netlist.json.gz",
                           gzip.compress(json.dumps(netlist).encode(), 6))
        write_json_atomic(self.entry(key), data)

    def netlist(self, key: str) -> dict:
        return json.loads(gzip.decompress((self.root / f"{key}.netlist.json.gz").read_bytes()))


def _run_batch(batch: list[Job], fam: str, options: tuple[str, ...], cache: _Cache,
               scratch: Path, abort: _Abort) -> float:
    """Synthesize a batch in one Yosys process and store one cache entry per job, with its
    timing model (analysed here, while the other workers' Yosys runs)."""
    wrapper, script = _batch_script(batch, fam, options)
    d = Path(tempfile.mkdtemp(prefix="batch-", dir=scratch))
    (d / "batch.sv").write_text(wrapper)
    (d / SCRIPT).write_text(script)
    log = d / LOG
    t0 = time.monotonic()
    run_yosys(d / SCRIPT, d, log, abort)
    seconds = time.monotonic() - t0
    own, version = _load_stat(d / "stat.json", log)
    totals = _totals(own)
    netlist = _netlist(d / "netlist.json", log)
    cells = netlist.get(BATCH_TOP, {}).get("cells", {})
    share = seconds / sum(j.cost for j in batch)
    for k, j in enumerate(batch):
        cell = cells.get(f"job{k}")
        if cell is None or cell["type"] not in totals:
            raise SynthError(f"yosys: job{k} ({j.module}) is missing from the batch netlist; "
                             f"see {log}", log)
        module = cell["type"]
        entry = {"module": module, "cells": totals[module], "yosys_version": version,
                 "seconds": round(share * j.cost, 2), "timing": {}}
        cache.put(j.key, entry, _reachable(netlist, module))
        _job_timing(cache, j.key, entry, delay_model(fam))
    shutil.rmtree(d, ignore_errors=True)
    return seconds


def _job_timing(cache: _Cache, key: str, entry: dict, dm: DelayModel) -> ModuleTiming:
    """A job's timing model under `dm`, from its cache entry or computed from its netlist."""
    mkey = _sha(json.dumps({"format": TIMING_FORMAT, **dm.to_dict()},
                           sort_keys=True).encode())[:16]
    got = entry.get("timing", {}).get(mkey)
    if got is not None:
        return ModuleTiming.from_dict(got)
    models = analyze_netlist(cache.netlist(key), dm, only={entry["module"]})
    mt = models[entry["module"]]
    entry.setdefault("timing", {})[mkey] = mt.to_dict()
    write_json_atomic(cache.entry(key), entry)
    return mt


def stream_arcs(mt: ModuleTiming) -> list[list[str]]:
    """An instance's combinational arcs between stream ports, as its netlist has them (the
    table flow/backends/stream_arcs.py writes down; reset and clock left out)."""
    out = set()
    for i, outs in mt.in_to_out.items():
        pi = i.split("[", 1)[0]
        if pi in ("rst_n", "clk"):
            continue
        out |= {(pi, o.split("[", 1)[0]) for o in outs}
    return [list(a) for a in sorted(out)]


def default_cache(work_dir: Path) -> Path:
    """Where synthesized jobs are kept: $BINHG_SYNTH_CACHE (shared between builds), else
    `synth_cache/` beside the build's `synth/` (kept when the synthesize step reruns)."""
    env = os.environ.get("BINHG_SYNTH_CACHE")
    return Path(env) if env else Path(work_dir).parent / "synth_cache"


def yosys_version() -> str:
    return run_tool(["yosys", "-V"], capture_output=True, text=True, timeout=60).stdout.strip()


def _salt(fam: str, options: tuple[str, ...]) -> dict:
    return {"yosys": yosys_version(), "family": fam, "options": list(options)}


def predict_seconds(rtl_dir: Path, family: str, work_dir: Path,
                    options: tuple[str, ...] = DEFAULT_OPTIONS, workers: int = WORKERS,
                    cache_dir: Path | None = None) -> float:
    """About how long `synthesize` will take: the instances it would synthesize (the cache
    has the others) at their estimated cost, a process start per batch, over the workers."""
    rtl_dir = Path(rtl_dir).resolve()
    fam = yosys_family(family)
    cache = _Cache(Path(cache_dir) if cache_dir else default_cache(Path(work_dir).resolve()))
    jobs = plan_jobs(rtl_dir, _manifest(rtl_dir), _salt(fam, tuple(options)))
    misses = [j for j in jobs if cache.get(j.key) is None]
    work = sum(j.cost for j in misses) + PROCESS_SECONDS * (len(batches(misses)) + 1)
    return work / max(1, int(workers))


def synthesize(rtl_dir: Path, family: str, work_dir: Path,
               log: Callable[[str], None] | None = None, timeout: float | None = None,
               options: tuple[str, ...] = DEFAULT_OPTIONS, workers: int = WORKERS,
               cache_dir: Path | None = None, keep_paths: int = 40) -> dict:
    """Synthesize `rtl_dir` with Yosys for `family` ('zynq-7000' / 'zynq-ultrascale+', or
    'xc7' / 'xcup'): every distinct instance once, in `workers` Yosys processes, each result
    kept in `cache_dir` (default: default_cache(work_dir)) under the hash of what it reads,
    and the top alone with the layer modules as blackboxes. The result (also `work_dir`/
    synth.json) is {"top": figures of the whole design, "top_own": the top module's own
    cells, "instances": {instance: figures incl. its submodules, with its "module", "kind",
    "node", "job", "cached"}, "seconds", "yosys_version", "family", "options", "log",
    "cache": {"dir", "jobs", "hits", "misses", "processes"}, "timing": {"model", "instances":
    {instance: worst path inside}, "top": the worst `keep_paths` paths of the stitched top,
    "unknown_cells"}}. Raises SynthError (with the failing log's tail and path) when Yosys
    fails or the whole run takes longer than `timeout` seconds."""
    rtl_dir, work_dir = Path(rtl_dir).resolve(), Path(work_dir).resolve()
    fam = yosys_family(family)
    why = yosys_missing()
    if why:
        raise SynthError(why)
    work_dir.mkdir(parents=True, exist_ok=True)
    result_path, log_path = work_dir / RESULT, work_dir / LOG
    for p in (result_path, log_path):      # no older result may pass for this one
        p.unlink(missing_ok=True)
    for p in (work_dir, rtl_dir):   # Yosys' script syntax has no quoting for file names
        if re.search(r"\s", str(p)):
            raise SynthError(f"yosys cannot take the path '{p}': it contains white space")
    manifest = _manifest(rtl_dir)
    options = tuple(options)
    cache = _Cache(Path(cache_dir) if cache_dir else default_cache(work_dir))
    salt = _salt(fam, options)
    version = salt["yosys"]
    jobs = plan_jobs(rtl_dir, manifest, salt)
    top_key = _sha(json.dumps({"format": CACHE_FORMAT, **salt, "top": _sha(
        (rtl_dir / f"{TOP}.sv").read_bytes()), "sources": sorted(
        _sha((rtl_dir / s).read_bytes()) for s in manifest["sources"])},
        sort_keys=True).encode())[:32]
    misses = [j for j in jobs if cache.get(j.key) is None]
    todo = batches(misses)
    top_cached = cache.get(top_key) is not None
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    if log:
        log(f"yosys synth_xilinx -family {fam}: {len(manifest['instances'])} instances, "
            f"{len(jobs)} distinct, {len(jobs) - len(misses)} cached; {len(misses)} to "
            f"synthesize in {len(todo)} processes on {workers} workers (cache: {cache.root})")
    scratch = Path(tempfile.mkdtemp(prefix="yosys-", dir=work_dir))
    t0 = time.monotonic()
    abort = _Abort(t0 + timeout)
    done = {"n": 0}
    records = []

    def run_top() -> float:
        d = scratch / "top"
        d.mkdir()
        (d / SCRIPT).write_text(_top_script(rtl_dir, manifest, fam, options))
        t1 = time.monotonic()
        run_yosys(d / SCRIPT, d, d / LOG, abort)
        own, ver = _load_stat(d / "stat.json", d / LOG)
        if TOP not in own:
            raise SynthError(f"yosys: no module '{TOP}' in {d / 'stat.json'}", d / LOG)
        net = _netlist(d / "netlist.json", d / LOG)
        cache.put(top_key, {"module": TOP, "cells": own[TOP], "yosys_version": ver,
                            "seconds": round(time.monotonic() - t1, 2)}, {TOP: net[TOP]})
        shutil.rmtree(d, ignore_errors=True)
        return time.monotonic() - t1

    def run(k: int, batch: list[Job]) -> float:
        s = _run_batch(batch, fam, options, cache, scratch, abort)
        done["n"] += 1
        records.append(f"batch {k}: {len(batch)} jobs ({', '.join(j.instances[0] for j in batch[:4])}"
                       f"{', ...' if len(batch) > 4 else ''}) in {s:.1f} s")
        if log:
            log(f"  {done['n']}/{len(todo)} yosys processes done ({time.monotonic() - t0:.0f} s)")
        return s

    try:
        with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
            futures = [] if top_cached else [pool.submit(run_top)]
            futures += [pool.submit(run, k, b) for k, b in enumerate(todo)]
            try:
                for f in as_completed(futures):
                    f.result()
            except BaseException as e:
                abort.set(f"another yosys process failed ({str(e).splitlines()[0]})"
                          if isinstance(e, SynthError) else "interrupted")
                for f in futures:
                    f.cancel()
                raise
    except SynthError as e:         # the processes' folders stay, with the logs named
        if "timed out" in str(e):
            raise SynthError(f"yosys: timed out after {timeout:.0f} s (synthesizing {len(misses)}"
                             f" instances in {len(todo)} processes); see {e.log}", e.log) from None
        raise
    shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.monotonic() - t0

    # compose: every instance's figures, the top's own cells, the whole
    dm = delay_model(fam)
    instances, models = {}, {}
    kinds = {i["name"]: i for i in manifest["instances"]}
    missed = {j.key for j in misses}
    total: dict[str, int] = {}
    for j in jobs:
        entry = cache.get(j.key)
        if entry is None:
            raise SynthError(f"the synthesis of job {j.key} ({j.module}, {j.instances[0]}) left "
                             f"no cache entry in {cache.root}")
        mt = _job_timing(cache, j.key, entry, dm)
        for name in j.instances:
            info = kinds[name]
            instances[name] = {**figures(entry["cells"]), "module": entry["module"],
                               "kind": info["kind"], "node": info["node"], "job": j.key,
                               "cached": j.key not in missed}
            models[name] = mt
            for t, n in entry["cells"].items():
                total[t] = total.get(t, 0) + n
    top_entry = cache.get(top_key)
    top_net = cache.netlist(top_key)[TOP]
    lib_types = {Path(s).stem for s in manifest["sources"]}
    # the instances' cells are typed by their (possibly derived) module: "$paramod$..\\concat"
    top_own = {t: n for t, n in top_entry["cells"].items()
               if _unescape(t).rsplit("\\", 1)[-1] not in lib_types}
    lost = sorted(set(kinds) - set(top_net.get("cells", {})))
    if lost:
        raise SynthError(f"yosys: instance(s) {', '.join(lost[:5])} of {TOP}.json are not in "
                         f"the synthesized top (cache entry {cache.entry(top_key)})")
    for t, n in top_own.items():
        total[t] = total.get(t, 0) + n
    top_timing = analyze_module(TOP, top_net, models, dm, sub_key=lambda cname, cell: cname,
                                keep=keep_paths, inner=False)
    unknown: dict[str, int] = {}
    for mt in list(models.values()) + [top_timing]:
        for t, n in mt.unknown_cells.items():
            unknown[t] = max(unknown.get(t, 0), n)
    result = {
        "top": figures(total),
        "top_own": figures(top_own),
        "instances": instances,
        "seconds": round(seconds, 2),
        "yosys_version": version,
        "family": fam,
        "options": list(options),
        "log": str(log_path),
        "cache": {"dir": str(cache.root), "instances": len(instances), "jobs": len(jobs),
                  "hits": len(jobs) - len(misses), "misses": len(misses),
                  "processes": len(todo) + (0 if top_cached else 1), "workers": workers},
        "timing": {
            "model": dm.name, "family": fam,
            "instances": {n: {"worst": m.internal.to_dict() if m.internal else None,
                              "carry_chain": m.carry_chain, "dsp_stages": m.dsp_stages,
                              "arcs": stream_arcs(m)}
                          for n, m in models.items()},
            "top": [p.to_dict() for p in top_timing.paths],
            "ports": {"in_to_reg": {k: p.to_dict() for k, p in top_timing.in_to_reg.items()},
                      "reg_to_out": {k: p.to_dict() for k, p in top_timing.reg_to_out.items()}},
            "unknown_cells": unknown},
    }
    log_path.write_text("\n".join([f"{TOP}: {len(instances)} instances, {len(jobs)} jobs, "
                                   f"{len(misses)} synthesized, cache {cache.root}", *records,
                                   ""]))
    write_json_atomic(result_path, result)
    if log:
        t = result["top"]
        log(f"yosys finished in {seconds:.0f} s: LUT {t['lut']}, FF {t['ff']}, "
            f"BRAM36 {t['bram36']}, DSP {t['dsp']}")
    return result


def synthesize_whole(rtl_dir: Path, family: str, work_dir: Path,
                     options: tuple[str, ...] = DEFAULT_OPTIONS,
                     timeout: float | None = None) -> dict:
    """The reference `synthesize` is checked against: the whole of `rtl_dir` in one Yosys
    process with the hierarchy kept (what the flow did before it synthesized instance by
    instance). Returns {"top": figures, "instances": {instance: figures}, "seconds"}."""
    rtl_dir, work_dir = Path(rtl_dir).resolve(), Path(work_dir).resolve()
    fam = yosys_family(family)
    manifest = _manifest(rtl_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    sources = " ".join(str(rtl_dir / s) for s in manifest["sources"])
    (work_dir / SCRIPT).write_text("\n".join([
        f"read_verilog -sv {sources}",
        f"synth_xilinx -top {TOP} -family {fam} {' '.join(options)}".rstrip(),
        f"setattr -mod -unset top {TOP}",
        f"tee -q -o {work_dir / 'stat.json'} stat -json",      # it runs in rtl_dir
        f"delete {TOP} %n",
        f"write_json {work_dir / 'top.json'}", ""]))
    t0 = time.monotonic()
    log = work_dir / LOG
    run_yosys(work_dir / SCRIPT, rtl_dir, log, _Abort(t0 + (timeout or DEFAULT_TIMEOUT)))
    own, _ = _load_stat(work_dir / "stat.json", log)
    totals = _totals(own)
    cells = json.loads((work_dir / "top.json").read_text())["modules"][TOP]["cells"]
    return {"top": figures(totals[TOP]), "seconds": round(time.monotonic() - t0, 2),
            "instances": {c: figures(totals[_unescape(v["type"])]) for c, v in cells.items()
                          if _unescape(v["type"]) in totals}}


def layer_comparison(g, result: dict) -> dict:
    """Per graph node: the analytical estimate (flow/layers/) next to the synthesized figures
    of its instance `u_<node>`, and per layer kind their sums. Width converters are not graph
    nodes: they are summed under "width_converter", beside the estimate of all of them
    (flow/layers/width_converter.py). Returns {"layers": [...], "kinds": {kind: {...}}}."""
    from ..layers import layer_of
    from ..layers.width_converter import converters_cost
    from ..layers.width_converter import width_conversions
    from ..backends.rtlgen import instance_name

    layers, kinds = [], {}
    seen = set()
    for n in g.nodes:
        name = instance_name(n)
        syn = result["instances"].get(name)
        if syn is None:
            raise SynthError(f"node '{n.name}': no instance '{name}' in the synthesis result")
        seen.add(name)
        est = layer_of(n).estimate(n, g).to_dict()
        rec = {"name": n.name, "op": n.kind, "instance": name, "estimate": est,
               "synth": {k: syn[k] for k in FIGURES}, "error": compare(est, syn)}
        layers.append(rec)
        k = kinds.setdefault(n.kind, {"instances": 0, "estimate": {}, "synth": {}})
        k["instances"] += 1
        for f, v in est.items():
            k["estimate"][f] = k["estimate"].get(f, 0) + v
        for f in FIGURES:
            k["synth"][f] = k["synth"].get(f, 0) + syn[f]
    if width_conversions(g):
        kinds["width_converter"] = {"instances": 0, "estimate": converters_cost(g).to_dict(),
                                    "synth": {}}
    for name, syn in result["instances"].items():
        if name in seen:
            continue
        k = kinds.setdefault(syn.get("kind") or "other",
                             {"instances": 0, "estimate": None, "synth": {}})
        k["instances"] += 1
        for f in FIGURES:
            k["synth"][f] = k["synth"].get(f, 0) + syn[f]
    for k in kinds.values():
        k["error"] = compare(k["estimate"], k["synth"]) if k["estimate"] is not None else None
    return {"layers": layers, "kinds": kinds}


def _pct(x) -> str:
    return "-" if x is None else f"{x:+.0%}"


def main(argv=None) -> int:
    """python -m flow.measure.synth BUILD_DIR: synthesize BUILD_DIR/rtl into BUILD_DIR/synth,
    print the estimate against Yosys per layer kind and the timing estimate; --whole also
    synthesizes the whole design in one Yosys process and compares instance by instance."""
    import argparse

    from ..boards import get_board
    from ..hwgraph import HwGraph
    from .timing import timing_report

    ap = argparse.ArgumentParser(prog="python -m flow.measure.synth", description=main.__doc__)
    ap.add_argument("build_dir", type=Path)
    ap.add_argument("--family", help="zynq-7000 | zynq-ultrascale+ (default: the build's "
                    "board in report.json, else zynq-7000)")
    ap.add_argument("--clock-mhz", type=float, help="the clock to check the timing against "
                    "(default: the build's, else the board's)")
    ap.add_argument("--option", action="append", default=None,
                    help="a synth_xilinx option instead of the defaults (repeatable; "
                    f"defaults: {' '.join(DEFAULT_OPTIONS)})")
    ap.add_argument("--out", type=Path, help="work folder (default BUILD_DIR/synth)")
    ap.add_argument("--cache", type=Path, help="cache folder (default: see default_cache)")
    ap.add_argument("--workers", type=int, default=WORKERS)
    ap.add_argument("--timeout", type=float, default=None)
    ap.add_argument("--whole", action="store_true", help="also synthesize the whole design "
                    "in one process and compare (slow: the way it was done before)")
    a = ap.parse_args(argv)
    b = a.build_dir
    fam, clock = a.family, a.clock_mhz
    try:
        rep = json.loads((b / "report.json").read_text())
        board = get_board(rep["board"])
        fam, clock = fam or board.family, clock or rep.get("clock_mhz", board.clock_mhz)
    except (OSError, ValueError, KeyError):
        fam, clock = fam or "zynq-7000", clock or 100.0
    opts = DEFAULT_OPTIONS if a.option is None else tuple(a.option)
    out = a.out or b / "synth"
    try:
        r = synthesize(b / "rtl", fam, out, log=print, timeout=a.timeout, options=opts,
                       workers=a.workers, cache_dir=a.cache)
    except SynthError as e:
        print(e)
        return 1
    gpath = b / "intermediate_models" / "fifo_depths.onnx"
    if gpath.is_file():
        cmp = layer_comparison(HwGraph.load(gpath), r)
        print(f"{'kind':16} {'n':>4} " + " ".join(f"{f + ' est/syn (err)':>26}"
                                                for f in ("lut", "ff", "bram36", "uram", "dsp")))
        for kind, k in sorted(cmp["kinds"].items()):
            cells = []
            for f in ("lut", "ff", "bram36", "uram", "dsp"):
                e = "-" if k["estimate"] is None else f"{k['estimate'][f]:g}"
                err = _pct(k["error"][f]) if k["error"] else "-"
                cells.append(f"{e + '/' + format(k['synth'][f], 'g') + ' (' + err + ')':>26}")
            print(f"{kind:16} {k['instances']:>4} " + " ".join(cells))
    else:
        print(f"(no {gpath}: no estimate to compare with)")
    t, c = r["top"], r["cache"]
    print(f"top: LUT {t['lut']} (of which LUTRAM/SRL {t['lutram']}), FF {t['ff']}, "
          f"BRAM36 {t['bram36']:g}, URAM {t['uram']}, DSP {t['dsp']}, CARRY {t['carry']}; "
          f"{r['seconds']:.0f} s, "
          f"{c['misses']} of {c['jobs']} distinct instances synthesized "
          f"({c['instances']} instances)")
    tm = timing_report(r, clock, json.loads((b / "rtl" / f"{TOP}.json").read_text()))
    print(f"timing at {clock:g} MHz ({tm['model']}): fmax about {tm['fmax_mhz']:g} MHz, "
          f"longest {tm['worst_ns']:.2f} ns ({tm['limited_by']}); "
          f"{len(tm['flagged'])} path(s) over the period")
    for f in tm["flagged"][:10]:
        print("  over:", f)
    if a.whole:
        w = synthesize_whole(b / "rtl", fam, out / "whole", opts, a.timeout)
        diff = [n for n, f in w["instances"].items()
                if f["cells"] != r["instances"].get(n, {}).get("cells")]
        print(f"whole design in one process: {w['seconds']:.0f} s, LUT {w['top']['lut']}; "
              f"top cells {'equal' if w['top']['cells'] == r['top']['cells'] else 'DIFFER'}; "
              f"{len(diff)} instance(s) differ{': ' + ', '.join(diff[:10]) if diff else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
