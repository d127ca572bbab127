"""Resource figures from Yosys synthesis of a build's generated RTL, per layer and for the top.

`synthesize(rtl_dir, family, work_dir)` runs Yosys' `synth_xilinx` on `rtl/` (the sources in
`accelerator.json`, else `filelist.f`; top `accelerator`) with the hierarchy kept (Yosys 0.23's
synth_xilinx does not flatten unless told `-flatten`), so that every layer instance `u_<layer>`
of the top is a (derived, `$paramod$...`) module of its own. `stat -json` gives each module's
own cells; the figures of an instance are the recursive sum over the modules it contains (an
MVTU's sequencer, output stage, FIFOs...), so the top's instances plus the top's own cells add
up to the design total. Xilinx primitives map to figures as in `figures()`: LUTs (LUT-RAM and
SRL primitives counted at the LUTs they occupy), flip-flops, BRAM36 equivalents, DSPs, carry
chains, plus the raw cell counts.

These are Yosys' figures, not Vivado's: Yosys does its own memory inference and LUT mapping
(ABC), does no cross-boundary optimisation with the hierarchy kept, and counts every INV cell
as a LUT (Vivado usually folds inverters into the LUT or FF they drive).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

from ..backends.rtlgen import TOP
from ..processes import run_tool
from brevitas_models.files import write_json_atomic

RESULT = "synth.json"
LOG = "yosys.log"
SCRIPT = "synth.ys"
DEFAULT_TIMEOUT = 3600.0          # seconds
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


# --- running Yosys ----------------------------------------------------------------------------

def _sources(rtl_dir: Path) -> list[str]:
    manifest = rtl_dir / f"{TOP}.json"
    if manifest.is_file():
        try:
            sources = json.loads(manifest.read_text())["sources"]
        except (ValueError, KeyError) as e:
            raise SynthError(f"{manifest}: no usable 'sources' list ({e})") from None
    elif (rtl_dir / "filelist.f").is_file():
        sources = [s.strip() for s in (rtl_dir / "filelist.f").read_text().splitlines()
                   if s.strip() and not s.lstrip().startswith(("#", "//"))]
    else:
        raise SynthError(f"{rtl_dir} has neither {TOP}.json nor filelist.f: not a generated "
                         "rtl/ folder (flow/rtlgen.write_rtl writes one)")
    missing = [s for s in sources if not (rtl_dir / s).is_file()]
    if not sources or missing:
        raise SynthError(f"{rtl_dir}: source(s) missing: {', '.join(missing) or '(none listed)'}")
    return sources


def _script(sources: list[str], fam: str, options: tuple[str, ...], stat: Path,
            top_json: Path) -> str:
    quoted = " ".join(sources)
    return "\n".join([
        f"read_verilog -sv {quoted}",
        f"synth_xilinx -top {TOP} -family {fam} {' '.join(options)}".rstrip(),
        # Yosys 0.23's `stat -json` writes the text hierarchy into its JSON when the design
        # has a top module; without the attribute it prints the modules only.
        f"setattr -mod -unset top {TOP}",
        f"tee -q -o {stat} stat -json",
        # the top's cells name each instance and its (derived) module: keep the top only
        f"delete {TOP} %n",
        f"write_json {top_json}",
        "",
    ])


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


def _run_yosys(script: Path, cwd: Path, log: Path, timeout: float) -> None:
    # -q -l: the whole log goes to the file; the console gets warnings and errors only, which
    # are appended to the log (Yosys 0.23 does not write an error raised inside `tee -q` to
    # its log, nor to stdout).
    with open(log.with_suffix(".console"), "w+") as con:
        # run_tool: synth_xilinx runs ABC as a child process, which goes too when a timeout
        # (or the end of the build) kills Yosys.
        what = None
        try:
            rc = run_tool(["yosys", "-q", "-d", "-l", log, "-s", script], cwd=cwd, stdout=con,
                          stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            what, rc = f"timed out after {timeout:.0f} s", None
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
        raise SynthError(f"yosys: {what}; see {log}; last lines:\n" + _tail(log), log)


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


def synthesize(rtl_dir: Path, family: str, work_dir: Path,
               log: Callable[[str], None] | None = None, timeout: float | None = None,
               options: tuple[str, ...] = DEFAULT_OPTIONS) -> dict:
    """Synthesize `rtl_dir` with Yosys for `family` ('zynq-7000' / 'zynq-ultrascale+', or
    'xc7' / 'xcup'); Yosys' script, log, statistics and the result (`synth.json`) go to
    `work_dir`. Returns {"top": figures of the whole design, "top_own": the top module's own
    cells, "instances": {instance: figures incl. its submodules, with its "module",
    "kind", "node"}, "seconds", "yosys_version", "family", "options", "log"}.
    Raises SynthError (with the log's tail and path) when Yosys fails or times out."""
    rtl_dir, work_dir = Path(rtl_dir).resolve(), Path(work_dir).resolve()
    fam = yosys_family(family)
    why = yosys_missing()
    if why:
        raise SynthError(why)
    work_dir.mkdir(parents=True, exist_ok=True)
    result_path, log_path = work_dir / RESULT, work_dir / LOG
    stat_path, top_path, script_path = (work_dir / "stat.json", work_dir / "top_cells.json",
                                        work_dir / SCRIPT)
    for p in (result_path, log_path, stat_path, top_path):   # no older result may pass
        p.unlink(missing_ok=True)
    sources = _sources(rtl_dir)
    for p in (work_dir, *sources):   # Yosys' script syntax has no quoting for file names
        if re.search(r"\s", str(p)):
            raise SynthError(f"yosys cannot take the path '{p}': it contains white space")
    manifest = {}
    if (rtl_dir / f"{TOP}.json").is_file():
        manifest = {i["name"]: i for i in json.loads((rtl_dir / f"{TOP}.json").read_text())
                    .get("instances", [])}
    script_path.write_text(_script(sources, fam, tuple(options), stat_path, top_path))
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    if log:
        log(f"running yosys synth_xilinx -family {fam} on {len(sources)} files in {rtl_dir} "
            f"(log: {log_path})")
    t0 = time.monotonic()
    _run_yosys(script_path, rtl_dir, log_path, timeout)
    seconds = time.monotonic() - t0

    own, version = _load_stat(stat_path, log_path)
    if TOP not in own:
        raise SynthError(f"yosys: no module '{TOP}' in the statistics {stat_path}; see "
                         f"{log_path}", log_path)
    totals = _totals(own)
    try:
        top_cells = json.loads(top_path.read_text())["modules"][TOP]["cells"]
    except (OSError, ValueError, KeyError) as e:
        raise SynthError(f"yosys: no readable netlist of the top in {top_path} ({e}); see "
                         f"{log_path}", log_path) from None
    instances, top_own = {}, {}
    for cname, cell in top_cells.items():
        t = cell["type"]
        if _unescape(t) in own:
            info = manifest.get(cname, {})
            instances[cname] = {**figures(totals[_unescape(t)]), "module": _unescape(t),
                                "kind": info.get("kind", ""), "node": info.get("node")}
        else:
            top_own[t] = top_own.get(t, 0) + 1
    lost = sorted(set(manifest) - set(instances))
    if lost:
        raise SynthError(f"yosys: instance(s) {', '.join(lost[:5])} of {TOP}.json are not "
                         f"in the synthesized top; see {log_path}", log_path)
    if not version:
        version = run_tool(["yosys", "-V"], capture_output=True, text=True).stdout.strip()
    result = {
        "top": figures(totals[TOP]),
        "top_own": figures(top_own),
        "instances": instances,
        "seconds": round(seconds, 2),
        "yosys_version": version,
        "family": fam,
        "options": list(options),
        "log": str(log_path),
    }
    write_json_atomic(result_path, result)
    if log:
        t = result["top"]
        log(f"yosys finished in {seconds:.0f} s: LUT {t['lut']}, FF {t['ff']}, "
            f"BRAM36 {t['bram36']}, DSP {t['dsp']}")
    return result


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
    """python -m flow.measure.synth BUILD_DIR: synthesize BUILD_DIR/rtl into BUILD_DIR/synth and
    print the estimate against Yosys per layer kind."""
    import argparse

    from ..boards import get_board
    from ..hwgraph import HwGraph

    ap = argparse.ArgumentParser(prog="python -m flow.measure.synth", description=main.__doc__)
    ap.add_argument("build_dir", type=Path)
    ap.add_argument("--family", help="zynq-7000 | zynq-ultrascale+ (default: the build's "
                    "board in report.json, else zynq-7000)")
    ap.add_argument("--option", action="append", default=None,
                    help="a synth_xilinx option instead of the defaults (repeatable; "
                    f"defaults: {' '.join(DEFAULT_OPTIONS)})")
    ap.add_argument("--out", type=Path, help="work folder (default BUILD_DIR/synth)")
    ap.add_argument("--timeout", type=float, default=None)
    a = ap.parse_args(argv)
    b = a.build_dir
    fam = a.family
    if fam is None:
        try:
            fam = get_board(json.loads((b / "report.json").read_text())["board"]).family
        except (OSError, ValueError, KeyError):
            fam = "zynq-7000"
    opts = DEFAULT_OPTIONS if a.option is None else tuple(a.option)
    try:
        r = synthesize(b / "rtl", fam, a.out or b / "synth", log=print, timeout=a.timeout,
                       options=opts)
    except SynthError as e:
        print(e)
        return 1
    gpath = b / "intermediate_models" / "fifo_depths.onnx"
    if not gpath.is_file():
        print(f"(no {gpath}: no estimate to compare with)")
        return 0
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
    t = r["top"]
    print(f"top: LUT {t['lut']} (of which LUTRAM/SRL {t['lutram']}), FF {t['ff']}, "
          f"BRAM36 {t['bram36']:g}, URAM {t['uram']}, DSP {t['dsp']}, CARRY {t['carry']}; "
          f"{r['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
