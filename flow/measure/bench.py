"""Benchmark a build: frame rate by cycle-accurate simulation against the estimate, resources
by synthesis against the estimate, XNOR-popcount lane utilisation against the part's LUT-bound
limit, golden model speed against float PyTorch, and the build's wall time per step.

    python flow/bench.py --board pynq-z2 [--board zcu104 ...] [--model PRESET]
                         [--target-fps FPS | --max] [--frames N] [--reuse] [--probes]

Each board is built with flow/build.py (the fast full-rate Verilator bench measures the
cycles per frame, Yosys the resources; both are build steps), then measured here. Writes
<build>/bench/bench.json and bench.png per build and prints one table for all of them.
`--reuse` measures an existing complete build instead of building again. `--probes` adds the
layers that hold the stream up, measured by the full-rate bench's stream probes (a layer whose
input waits for it while its output does not wait: the measured bottleneck), and when every
stream moves its beats: bench/stream_activity.png, one row per stream in graph order, its
beats per cycle in each 1/64 of the simulated frame period as a share of the most it moves
(bench/stream_activity.npz has the counts). A layer that works at full speed and then waits,
while its inputs' producers wait too, is waiting on latency, not on its own speed.

The LUT-bound limit of a part (written down so it can be argued with): every usable LUT (85 %,
the folding's budget) is spent on XNOR-popcount lanes, a lane does one binary MAC per cycle,
and a lane costs what synthesis says one more lane of an MVTU costs (the slope of Yosys' LUT
count between two foldings of the same binary conv, so fixed costs are excluded). Nothing
else (weights, buffers, control) is charged, so the limit is an upper bound no real design
reaches; utilisation = binary MACs per cycle of the simulated design / that limit.

Efficiency against FINN: binary MACs per cycle of the simulated design per thousand LUTs of
Yosys' count (the estimate's where the build did not synthesize), beside FINN's binary CNV
on the same xc7z020 (BNN-PYNQ's CNVW1A1 on the PYNQ-Z1): about 1,800 binary MACs per cycle
on 26,072 LUTs, 69 per cycle per kLUT, the figures issue 20 of this project records.

The timing estimate (the build's synthesize step, flow/measure/timing.py): the fmax the
longest path allows, the paths over the clock period and the register slices the generator
put in; and Yosys' wall time with how many distinct instances it synthesized and how many
came from the cache.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ..boards import Board
from ..boards import get_board
from ..hwgraph import HwGraph
from ..layers import layer_of
from ..processes import run_tool
from ..planning.folding import UTILIZATION_BUDGET

ROOT = Path(__file__).resolve().parents[2]
# FINN's binary CNV on the xc7z020, in binary MACs per cycle per 1000 LUTs (docstring)
FINN_CNV_MACS_PER_CYCLE = 1800
FINN_CNV_LUTS = 26072
FINN_CNV_MACS_PER_KLUT = FINN_CNV_MACS_PER_CYCLE / (FINN_CNV_LUTS / 1000)


class BenchError(RuntimeError):
    pass


# -- published figures to compare with -----------------------------------------------------

# Frame rates of other accelerators for the same task on the same board, as published:
# (model presets they compare with, board) -> what, FPS. Vitis AI's model zoo runs an 8-bit
# stacked hourglass for MPII pose at 256 x 256 (hourglass-pe_mpii) on the ZCU104's DPU.
REFERENCES = {
    ("hg-hpm-paper", "zcu104"): {
        "name": "Vitis AI hourglass-pe_mpii (8-bit, 256x256, DPU on ZCU104)",
        "fps_single_thread": 18.6, "fps_multi_thread": 76.0},
}


def reference(model: str, board: str, fps: float) -> dict | None:
    """The published figure to set beside `fps`, and the ratio, where there is one."""
    ref = REFERENCES.get((model, board))
    if ref is None:
        return None
    return {**ref, "ratio_to_single_thread": fps / ref["fps_single_thread"],
            "ratio_to_multi_thread": fps / ref["fps_multi_thread"]}


# -- golden model vs float PyTorch on the same layer ---------------------------------------

def _largest_binary_conv(g: HwGraph):
    """(sliding window, XNOR MVTU) of the binary conv with the most MACs per frame."""
    best = None
    for n in g.nodes:
        if n.kind != "xnor_mvtu":
            continue
        p = g.producer(n.inputs[0])
        if p is None or p.kind != "sliding_window":
            continue
        if best is None or layer_of(n).work(n, g) > layer_of(best[1]).work(best[1], g):
            best = (p, n)
    if best is None:
        raise BenchError("the hardware graph has no binary convolution")
    return best


def golden_vs_torch(g: HwGraph, frames: int = 4, repeats: int = 3) -> dict:
    """Seconds per frame of the golden model's sliding window + XNOR-popcount MVTU and of
    torch.nn.functional.conv2d in float32 on the same +-1 data, both on one thread, best of
    `repeats`; the ratio is golden / torch (how many times slower the golden model is)."""
    import torch

    win, mvtu = _largest_binary_conv(g)
    h, w, c = g.tensors[win.inputs[0]].shape
    k, s = int(win.attrs["kernel"]), int(win.attrs["stride"])
    pad = [int(v) for v in win.attrs["pad"]]          # top, left, bottom, right
    weights = mvtu.arrays["weights"]                  # [C_out, k*k*C] in (ky, kx, c) order
    cout = weights.shape[0]
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (frames, h, w, c), dtype=np.int64)

    def golden():
        cols = layer_of(win).execute(win, g, [bits])[0]
        return layer_of(mvtu).execute(mvtu, g, [cols])[0]

    x = torch.from_numpy(2.0 * bits.transpose(0, 3, 1, 2) - 1).float()
    wt = torch.from_numpy(2.0 * weights.reshape(cout, k, k, c).transpose(0, 3, 1, 2) - 1).float()

    def float_conv():
        xp = torch.nn.functional.pad(x, (pad[1], pad[3], pad[0], pad[2]), value=-1.0)
        return torch.nn.functional.conv2d(xp, wt, stride=s)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        def best_of(fn):
            fn()   # warm-up
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return min(times) / frames
        t_golden, t_torch = best_of(golden), best_of(float_conv)
    finally:
        torch.set_num_threads(threads)
    return {"layer": mvtu.name, "input": [h, w, c], "kernel": k, "stride": s,
            "out_channels": cout, "frames": frames, "threads": 1,
            "golden_s_per_frame": t_golden, "torch_float_s_per_frame": t_torch,
            "golden_over_torch": t_golden / t_torch}


# -- lanes and the part's LUT-bound limit --------------------------------------------------

def _binary_conv_graph(pe: int, simd: int, k: int = 576, cout: int = 64) -> HwGraph:
    """One XNOR-popcount MVTU (a 3x3 conv's 576 input bits, 64 outputs, random weights) on
    an 8x8 image, emitting the popcount itself."""
    from ..hwgraph import HwNode
    from ..hwgraph import HwTensor

    g = HwGraph()
    g.add_tensor(HwTensor("x", (8, 8, k), "BINARY"))
    g.add_tensor(HwTensor("y", (8, 8, cout), f"UINT{k.bit_length()}"))
    g.inputs, g.outputs = ["x"], ["y"]
    w = np.random.default_rng(0).integers(0, 2, (cout, k)).astype(np.uint8)
    g.add_node(HwNode("xnor_mvtu_0", "xnor_mvtu", ["x"], ["y"], {"pe": pe, "simd": simd},
                      {"weights": w}))
    g.check()
    return g


def lut_per_lane(family: str) -> dict:
    """LUTs one more XNOR-popcount lane costs, from Yosys on two foldings of one binary conv
    (3x3, 64 -> 64 channels on 8x8): (LUT(PE=8) - LUT(PE=4)) / (4 * SIMD)."""
    import tempfile

    from ..backends.rtlgen import write_rtl
    from .synth import synthesize
    from .synth import yosys_missing

    why = yosys_missing()
    if why:
        return {"source": "unavailable", "reason": why}
    luts = {}
    simd = 64
    with tempfile.TemporaryDirectory() as tmp:
        for pe in (4, 8):
            g = _binary_conv_graph(pe, simd)
            write_rtl(g, Path(tmp) / f"pe{pe}" / "rtl")
            r = synthesize(Path(tmp) / f"pe{pe}" / "rtl", family, Path(tmp) / f"pe{pe}" / "synth")
            luts[pe] = r["top"]["lut"]
    return {"source": "yosys", "lut_per_lane": (luts[8] - luts[4]) / (4 * simd),
            "lut_pe4": luts[4], "lut_pe8": luts[8], "simd": simd}


def lanes(report: dict, g: HwGraph, board: Board, cycles: float, per_lane: dict) -> dict:
    macs = sum(layer_of(n).work(n, g) for n in g.nodes if n.kind == "xnor_mvtu")
    instantiated = sum(int(n.attrs.get("pe", 1)) * int(n.attrs.get("simd", 1))
                       for n in g.nodes if n.kind == "xnor_mvtu")
    used = macs / cycles
    syn = report.get("synthesis", {}).get("top")
    luts, source = (syn["lut"], "yosys") if syn else (report["resources"]["lut"], "estimate")
    out = {"binary_macs_per_frame": int(macs), "lanes_instantiated": instantiated,
           "binary_macs_per_cycle": used, "lane_busy_fraction": used / instantiated,
           "macs_per_cycle_per_klut": used / (luts / 1000), "klut_source": source,
           "finn_cnv_macs_per_cycle_per_klut": FINN_CNV_MACS_PER_KLUT,
           "lut_per_lane": per_lane}
    if per_lane.get("lut_per_lane"):
        limit = UTILIZATION_BUDGET * board.lut / per_lane["lut_per_lane"]
        out.update({"lut_bound_macs_per_cycle": limit, "utilization_of_limit": used / limit})
    return out


# -- one build -----------------------------------------------------------------------------

def build(board: str, model: str | None, fold_args: list[str], out: Path) -> None:
    cmd = [sys.executable, str(ROOT / "flow" / "build.py"), "--board", board, "--output",
           str(out), *fold_args]
    if model:
        cmd += ["--model", model]
    print("$", " ".join(cmd), flush=True)
    r = run_tool(cmd)
    if r.returncode != 0:
        raise BenchError(f"the build for {board} failed (exit {r.returncode}); see "
                         f"{out / 'report.json'}")


def probe(out: Path, top: int = 5) -> dict:
    """The layers that hold the stream up in the simulated design, from the full-rate bench's
    stream probes (sim/fullrate.py, stream_probes) on 3 golden frames."""
    from ..golden import images_to_stream
    from .simulate import SimulationError
    from .simulate import default_cache
    from .simulate import probe_streams

    vec = np.load(out / "golden" / "vectors.npz")
    images = np.concatenate([vec["images"]] * 3)[:3]
    g = HwGraph.load(out / "hw_graph.onnx")
    # about 64 samples per frame period of the slowest layer (the simulated one is longer)
    every = max(1, max(layer_of(n).cycles(n, g) for n in g.nodes) // ACTIVITY_BLOCKS)
    try:
        r = probe_streams(out / "rtl", {g.inputs[0]: images_to_stream(images)}, tag="probes",
                          cache=default_cache(out), timeline_every=every)
    except SimulationError as e:
        raise BenchError(f"{out}: stream probes: {e}") from None
    (out / "bench").mkdir(exist_ok=True)
    plot_activity(r, out / "bench" / "stream_activity.png")
    return {"cycles_per_frame": r["cycles_per_frame"], "window": r["window"],
            "holding_up": r["layers"][:top], "source": "sim/fullrate.py stream_probes",
            "activity": "bench/stream_activity.png, bench/stream_activity.npz"}


ACTIVITY_BLOCKS = 64


def plot_activity(probes: dict, path: Path) -> None:
    """The streams' beats per cycle over the run (probes["timeline"], sim/fullrate.py
    stream_probes), one row per stream in the design's order, each row as a share of the
    most that stream moves in a sample; written with the counts beside it (.npz)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tl = probes["timeline"]
    names = list(tl["beats"])
    beats = np.stack([tl["beats"][w] for w in names])
    np.savez_compressed(path.with_suffix(".npz"), names=np.array(names), beats=beats,
                        every=tl["every"])
    rate = np.diff(beats, axis=1) / tl["every"]
    share = rate / np.maximum(rate.max(axis=1, keepdims=True), 1e-9)
    fig, ax = plt.subplots(figsize=(13, max(4, len(names) * 0.02 + 2)))
    ax.imshow(share, aspect="auto", interpolation="nearest", cmap="viridis",
              extent=(0, share.shape[1] * tl["every"], len(names), 0))
    for k in range(1, int(share.shape[1] * tl["every"] // probes["cycles_per_frame"]) + 1):
        ax.axvline(k * probes["cycles_per_frame"], color="w", lw=0.5)
    ax.set_xlabel("cycle (white lines: the simulated frame period)")
    ax.set_ylabel("stream, in the design's order")
    ax.set_title("beats per cycle, as a share of each stream's most")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def measure(out: Path, per_lane: dict, frames_torch: int, probes: bool = False) -> dict:
    report_path = out / "report.json"
    if not report_path.is_file():
        raise BenchError(f"'{report_path}' is missing: build first (without --reuse)")
    report = json.loads(report_path.read_text())
    if report.get("status") != "complete":
        raise BenchError(f"'{report_path}': the build did not complete")
    g = HwGraph.load(out / "hw_graph.onnx")
    board = get_board(report["board"])
    sim = report.get("simulation", {})
    if "cycles_per_frame" not in sim:
        raise BenchError(f"'{report_path}' has no simulated cycles per frame: "
                         f"{sim.get('reason', 'simulate_rtl did not run')}")
    cycles = sim["cycles_per_frame"]
    synth = report.get("synthesis", {})
    res = {
        "model": report["model"], "board": report["board"], "part": report["part"],
        "clock_mhz": report["clock_mhz"], "folding": report.get("folding", {}),
        # the estimate the bench's full-rate simulation measures: the slowest layer's cycles
        # (the frame period the folding chose may be a slower input pace)
        "cycles_per_frame": {"simulated": cycles,
                             "estimate": sim.get("estimate_cycles_per_frame",
                                                 report["cycles_per_frame"]),
                             "estimate_error": sim.get("estimate_error"),
                             "frame_period": report["cycles_per_frame"],
                             "latency_simulated": sim.get("latency_cycles"),
                             "latency_estimate": sim.get("latency_cycles_estimate"),
                             "frames": sim.get("frames")},
        "fps": {"simulated": report["clock_mhz"] * 1e6 / cycles,
                "estimate": report["fps_estimate"]},
        "resources": {"estimate": report["resources"], "synthesis": synth.get("top"),
                      "estimate_error": synth.get("estimate_error"),
                      "utilization": synth.get("utilization", report["utilization"]),
                      "utilization_source": "yosys" if synth.get("top") else "estimate"},
        "lanes": lanes(report, g, board, cycles, per_lane),
        "golden_vs_torch": golden_vs_torch(g, frames_torch),
        "build_seconds": {s["name"]: s["seconds"] for s in report["steps"]},
        "timing": _timing_summary(report.get("timing", {})),
        "synthesis": _synthesis_summary(report),
        "build_wall_seconds": report["wall_seconds"],
        "bottleneck_model": report["bottleneck"],
        "reference": reference(report["model"], report["board"],
                               report["clock_mhz"] * 1e6 / cycles),
        "fifo_levels": report.get("fifo_levels"),
    }
    if probes:
        res["stream_probes"] = probe(out)
    (out / "bench").mkdir(exist_ok=True)
    from brevitas_models.files import write_json_atomic

    write_json_atomic(out / "bench" / "bench.json", res)
    plot(res, report, out / "bench" / "bench.png")
    return res


def _timing_summary(t: dict) -> dict:
    if t.get("status") != "estimated":
        return {"status": t.get("status", "not estimated"), "reason": t.get("reason", ""),
                "comb_chains": t.get("comb_chains", {}).get("longest_modules")}
    return {"status": "estimated", "clock_mhz": t["clock_mhz"], "fmax_mhz": t["fmax_mhz"],
            "worst_ns": t["worst_ns"], "limited_by": t["limited_by"],
            "flagged": len(t["flagged"]), "meets_clock": t["meets_clock"],
            "register_slices": len(t.get("register_slices", [])), "model": t["model"]}


def _synthesis_summary(report: dict) -> dict:
    step = next((s for s in report["steps"] if s["name"] == "synthesize"), {})
    return {"status": step.get("status"), "yosys_seconds": step.get("yosys_seconds"),
            "step_seconds": step.get("seconds"), "cache": step.get("cache")}


def plot(res: dict, report: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(13, 8.5))
    title = (f"{res['model']} on {res['board']} at {res['clock_mhz']:g} MHz: "
             f"{res['fps']['simulated']:.1f} FPS simulated, {res['fps']['estimate']:.1f} "
             "estimated")
    fig.suptitle(title)
    # per-layer cycles against the frame period
    layers = sorted(report["layers"], key=lambda r: -r["cycles"])
    a = ax[0][0]
    a.semilogy([r["cycles"] for r in layers if r["cycles"] > 0], ".", ms=3)
    a.axhline(res["cycles_per_frame"]["simulated"], color="r", lw=1,
              label="simulated frame period")
    a.axhline(res["cycles_per_frame"]["estimate"], color="k", ls="--", lw=1,
              label="estimate (slowest layer)")
    a.set_xlabel("layers, slowest first")
    a.set_ylabel("cycles per frame")
    a.legend(fontsize=8)
    # resources: estimate vs synthesis, as a fraction of the board
    a = ax[0][1]
    b = report["board_resources"]
    keys = ["lut", "ff", "bram36", "dsp"] + (["uram"] if b.get("uram") else [])
    est = [report["resources"][k] / b[k] for k in keys]
    x = np.arange(len(keys))
    a.bar(x - 0.2, est, 0.4, label="estimate")
    syn = res["resources"]["synthesis"]
    if syn:
        a.bar(x + 0.2, [syn[k] / b[k] for k in keys], 0.4, label="Yosys synth_xilinx")
    a.axhline(UTILIZATION_BUDGET, color="r", lw=1, label="budget")
    a.set_xticks(x, [k.upper() for k in keys])
    a.set_ylabel("fraction of the part")
    a.legend(fontsize=8)
    # lanes
    a = ax[1][0]
    ln = res["lanes"]
    names, vals = ["used (simulated)", "instantiated"], [ln["binary_macs_per_cycle"],
                                                         ln["lanes_instantiated"]]
    if "lut_bound_macs_per_cycle" in ln:
        names.append("LUT-bound limit")
        vals.append(ln["lut_bound_macs_per_cycle"])
    a.barh(names, vals)
    a.set_xscale("log")
    a.set_xlabel("binary MACs per cycle")
    # build wall time per step
    a = ax[1][1]
    steps = res["build_seconds"]
    a.barh(list(steps), list(steps.values()))
    a.invert_yaxis()
    a.set_xlabel("seconds")
    a.set_title(f"flow/build.py, {res['build_wall_seconds']:.0f} s in all", fontsize=9)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)


def print_table(results: list[dict]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title="benchmark", title_justify="left")
    t.add_column("figure")
    for r in results:
        t.add_column(f"{r['model']} / {r['board']}", justify="right")

    def row(name, fn):
        vals = []
        for r in results:
            try:
                vals.append(escape(fn(r)))
            except (KeyError, TypeError):
                vals.append("-")
        t.add_row(name, *vals)

    def pct(x):
        return f"{x:.0%}"

    row("clock (MHz)", lambda r: f"{r['clock_mhz']:g}")
    row("cycles/frame simulated", lambda r: f"{r['cycles_per_frame']['simulated']:,.0f}")
    row("cycles/frame estimate (slowest layer)",
        lambda r: f"{r['cycles_per_frame']['estimate']:,}")
    row("frame period chosen (folding)", lambda r: f"{r['cycles_per_frame']['frame_period']:,}")
    row("estimate error", lambda r: f"{r['cycles_per_frame']['estimate_error']:+.1%}")
    row("FPS simulated", lambda r: f"{r['fps']['simulated']:.1f}")
    row("published reference (FPS)", lambda r: (
        f"{r['reference']['name']}: {r['reference']['fps_single_thread']:g} (1 thread), "
        f"{r['reference']['fps_multi_thread']:g} (multi)"))
    row("ours / reference", lambda r: (f"{r['reference']['ratio_to_single_thread']:.1f}x, "
                                       f"{r['reference']['ratio_to_multi_thread']:.1f}x"))
    row("bottleneck (model)", lambda r: f"{r['bottleneck_model']['name']} "
        f"({r['bottleneck_model']['cycles']:,})")
    row("holds the stream up (probes)", lambda r: ", ".join(
        f"{h['node'] or h['instance']} {h['holdup']:.0%}"
        for h in r["stream_probes"]["holding_up"][:2]))
    row("latency (cycles, 1st frame)", lambda r: f"{r['cycles_per_frame']['latency_simulated']:,}")
    row("latency estimate", lambda r: f"{r['cycles_per_frame']['latency_estimate']:,}")
    def synthesized(r, k):
        # Yosys' figure beside the estimate; the estimate alone where Yosys did not run
        syn, est = r["resources"]["synthesis"], r["resources"]["estimate"].get(k)
        return ((f"{syn[k]:,g}" if syn else "not run")
                + (f" ({est:,g})" if isinstance(est, (int, float)) else ""))

    for k in ("lut", "ff", "bram36", "uram", "dsp", "carry"):
        row(f"{k.upper()} Yosys (estimate)", lambda r, k=k: synthesized(r, k))
    for k in ("lut", "bram36", "uram", "dsp"):
        row(f"{k.upper()} utilisation",
            lambda r, k=k: (f"{pct(r['resources']['utilization'][k])} "
                            f"({r['resources']['utilization_source']})"))
    row("binary MACs/cycle used", lambda r: f"{r['lanes']['binary_macs_per_cycle']:,.0f}")
    row("lanes instantiated", lambda r: f"{r['lanes']['lanes_instantiated']:,}")
    row("LUT per lane (Yosys)", lambda r: f"{r['lanes']['lut_per_lane']['lut_per_lane']:.2f}")
    row("LUT-bound limit (MACs/cycle)", lambda r: f"{r['lanes']['lut_bound_macs_per_cycle']:,.0f}")
    row("utilisation of the limit", lambda r: f"{r['lanes']['utilization_of_limit']:.1%}")
    row("binary MACs/cycle per kLUT", lambda r: f"{r['lanes']['macs_per_cycle_per_klut']:.1f} "
        f"({r['lanes']['klut_source']}; FINN CNV {FINN_CNV_MACS_PER_KLUT:.0f})")
    row("fmax estimate (MHz)", lambda r: f"{r['timing']['fmax_mhz']:g} (longest "
        f"{r['timing']['worst_ns']:.2f} ns, {r['timing']['limited_by']})")
    row("paths over the clock", lambda r: f"{r['timing']['flagged']} at "
        f"{r['timing']['clock_mhz']:g} MHz, {r['timing']['register_slices']} register slices")
    row("Yosys time (s)", lambda r: f"{r['synthesis']['yosys_seconds']:.0f} "
        f"({r['synthesis']['cache']['misses']} of {r['synthesis']['cache']['jobs']} distinct "
        "instances synthesized)")
    row("golden / float torch (1 thread)",
        lambda r: f"{r['golden_vs_torch']['golden_over_torch']:.2f}x")
    row("build wall time (s)", lambda r: f"{r['build_wall_seconds']:.0f}")
    Console().print(t)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python flow/bench.py", description=__doc__.splitlines()[0])
    p.add_argument("--board", action="append", required=True, help="repeat for several boards")
    p.add_argument("--model", help="preset (default: the build's default)")
    fold = p.add_mutually_exclusive_group()
    fold.add_argument("--target-fps", type=float)
    fold.add_argument("--max", action="store_true", help="the fastest design that fits (default)")
    p.add_argument("--frames", type=int, default=4, help="frames for the golden/torch timing")
    p.add_argument("--reuse", action="store_true", help="measure existing builds")
    p.add_argument("--no-synth", action="store_true",
                   help="build without Yosys (its figures are then missing from the bench)")
    p.add_argument("--probes", action="store_true",
                   help="also simulate with stream probes: name the layers that hold the "
                        "stream up and draw when every stream moves its beats "
                        "(bench/stream_activity.png; a second Verilator compile)")
    p.add_argument("--output", default=str(ROOT / "build" / "bench"),
                   help="folder for the builds (one sub-folder per model and board)")
    a = p.parse_args(argv)
    fold_args = ((["--target-fps", f"{a.target_fps:g}"] if a.target_fps else ["--max"])
                 + ["--sim", "--no-synth" if a.no_synth else "--synth"])
    results = []
    per_lane: dict[str, dict] = {}
    try:
        for name in a.board:
            board = get_board(name)
            out = Path(a.output) / f"{a.model or 'default'}-{name}"
            if not a.reuse:
                build(name, a.model, fold_args, out)
            fam = "xc7" if board.family == "zynq-7000" else "xcup"
            if fam not in per_lane:
                per_lane[fam] = lut_per_lane(fam)
            results.append(measure(out, per_lane[fam], a.frames, a.probes))
            print(f"wrote {out / 'bench' / 'bench.json'} and bench.png", flush=True)
    except (BenchError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
