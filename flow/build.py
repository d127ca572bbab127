"""Build an accelerator for a binary hourglass network.

    python flow/build.py --board pynq-z2 [--model PRESET [--untrained] | --model NET.onnx |
                         --checkpoint FILE] [--target-fps FPS | --max] [--clock-mhz MHZ]
                         [--output DIR] [--accept-rounding] [--from STEP] [--until STEP]

A preset builds its shipped trained checkpoint (brevitas_models/checkpoints/<preset>.pt)
when the project has one, else its untrained initialisation (torch seed 0). `--model
NET.onnx` builds the user's own QONNX file (flow/README.md, "Bring your own network"); from
Python, `build_qonnx(path, board)` does the same and `build_brevitas(module, input_shape,
board)` exports a Brevitas nn.Module and builds it, checking the hardware against both.

Writes build/<model>-<board>/: the QONNX model, the intermediate graphs of every step, and
report.json with the board, the steps and their status.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import signal
import sys
import time
from pathlib import Path

# `python flow/build.py` puts flow/ itself first on sys.path; put the project root there
# instead, so that `flow` and `brevitas_models` import as the packages.
ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)

from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402

from brevitas_models.checkpoint import CheckpointError  # noqa: E402
from brevitas_models.cli import positive_float  # noqa: E402
from brevitas_models.config import DEFAULT_PRESET  # noqa: E402
from brevitas_models.config import PRESETS  # noqa: E402
from brevitas_models.config import ConfigError  # noqa: E402
from brevitas_models.files import OutputPathError  # noqa: E402
from brevitas_models.files import check_writable_dir  # noqa: E402
from brevitas_models.files import write_json_atomic  # noqa: E402
from flow.boards import BOARDS  # noqa: E402
from flow.boards import BoardError  # noqa: E402
from flow.boards import get_board  # noqa: E402
from flow.pipeline.inputs import Inputs  # noqa: E402
from flow.pipeline.runner import BuildContext  # noqa: E402
from flow.pipeline.runner import BuildError  # noqa: E402
from flow.pipeline.runner import BuildInterrupted  # noqa: E402
from flow.pipeline.runner import plan_build  # noqa: E402
from flow.pipeline.runner import run_build  # noqa: E402
from flow.pipeline.runner import select_steps  # noqa: E402
from flow.pipeline.source import check_buildable  # noqa: E402
from flow.pipeline.source import load_qonnx_source  # noqa: E402
from flow.pipeline.source import load_source  # noqa: E402
from flow.frontend.source_graph import export_brevitas  # noqa: E402
from flow.pipeline.state import BuildLock  # noqa: E402
from flow.pipeline.steps import STEPS  # noqa: E402


# No Xilinx fabric clock runs faster: the UltraScale+ -3 global clock buffers stop at 891 MHz
# (DS925), the 7-series -1 ones at 628 MHz (DS187).
MAX_CLOCK_MHZ = 1000.0


def clock_mhz(text: str) -> float:
    """--clock-mhz: a finite positive number of MHz, up to MAX_CLOCK_MHZ."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of MHz") from None
    if not math.isfinite(v) or v <= 0 or v > MAX_CLOCK_MHZ:
        raise argparse.ArgumentTypeError(f"{text}: the clock must be a finite number of MHz "
                                         f"above 0 and at most {MAX_CLOCK_MHZ:g}")
    return v


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python flow/build.py", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--board", required=True, help=f"one of: {', '.join(BOARDS)}")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", default=None,
                     help=f"a QONNX file (path/to/net.onnx), or a preset (default "
                          f"{DEFAULT_PRESET}): one of {', '.join(PRESETS)}")
    src.add_argument("--checkpoint", help="trained checkpoint (.pt) written by this project")
    p.add_argument("--untrained", action="store_true",
                   help="build the preset's untrained initialisation (torch seed 0) instead of "
                        "its shipped trained checkpoint")
    fold = p.add_mutually_exclusive_group()
    fold.add_argument("--target-fps", type=positive_float, metavar="FPS",
                      help="fold for this frame rate: the least parallelism per layer that "
                           "reaches it; refused, naming the layer or resource, where it cannot")
    fold.add_argument("--max", action="store_true",
                      help="fold for the fastest design whose estimated LUTs and BRAM fit 85%% "
                           "of the board (the default)")
    p.add_argument("--clock-mhz", type=clock_mhz, metavar="MHZ",
                   help="the accelerator's clock instead of the board's (100 MHz on the PYNQ "
                        "boards, 200 on the UltraScale+ ones): the folding for --target-fps, "
                        "every frame rate, the timing check and the Vivado/HLS Tcl follow it")
    p.add_argument("--output", help="output folder (default build/<model>-<board>)")
    sim = p.add_mutually_exclusive_group()
    sim.add_argument("--sim", action="store_true",
                     help="simulate the RTL even when it needs more cycles than the default "
                          "budget (simulate_rtl)")
    sim.add_argument("--no-sim", action="store_true",
                     help="skip the Verilator simulation of the RTL (the report then has no "
                          "simulated cycles)")
    syn = p.add_mutually_exclusive_group()
    syn.add_argument("--synth", action="store_true",
                     help="run Yosys synth_xilinx on the RTL even when it is predicted to take "
                          "longer than the default budget (synthesize)")
    syn.add_argument("--no-synth", action="store_true",
                     help="skip the Yosys synthesis (the report then has estimates only)")
    p.add_argument("--backend", choices=("rtl", "hls"), default="rtl",
                   help="what the bitstream is built from, when Vivado is present: the hw/ RTL "
                        "(default) or the HLS C++ through Vitis HLS; both are generated and "
                        "checked either way")
    p.add_argument("--accept-rounding", action="store_true",
                   help="accept output codes that differ from the source model's where the "
                        "difference is a float-rounding tie (a value within float rounding of "
                        "a code's edge): the report counts them and says the build is not "
                        "bit-exact to the source; without it any difference fails the build")
    names = [s.name for s in STEPS]
    p.add_argument("--from", dest="start", metavar="STEP", help=f"resume at: {', '.join(names)}")
    p.add_argument("--until", dest="stop", metavar="STEP", help="stop after this step")
    return p.parse_args(argv)


def check_target_fps(fps: float | None, board, input_shape: tuple) -> None:
    """Refuse, before any step, a rate no folding reaches: the accelerator takes at most one
    input pixel per clock cycle (the fold step refuses, naming the layer, the rates between
    the fastest design and this bound)."""
    if fps is None:
        return
    _, h, w = input_shape
    most = board.clock_mhz * 1e6 / (h * w)
    if fps > most:
        raise BuildError(f"--target-fps {fps:g}: the accelerator takes at most one input pixel "
                         f"per clock cycle, so {h}x{w} images at "
                         f"{board.clock_mhz:g} MHz on {board.name} come at most {most:,.0f} "
                         "FPS; ask for less, or use --max for the fastest design that fits")


def print_summary(console, report: dict) -> None:
    """The slowest layers and the totals, as a table."""
    from rich.table import Table

    t = Table(title=f"{report['model']} on {report['board']}: slowest layers", title_justify="left")
    for col in ("layer", "op", "PE", "SIMD", "cycles", "LUT", "BRAM36", "DSP", "from"):
        t.add_column(col, justify="left" if col in ("layer", "op", "from") else "right")
    for rec in sorted(report["layers"], key=lambda r: -r["cycles"])[:8]:
        t.add_row(rec["name"], rec["op"], str(rec["pe"]), str(rec["simd"]), str(rec["cycles"]),
                  str(rec["lut"]), f"{rec['bram36']:g}", str(rec["dsp"]),
                  rec.get("origin", ""))
    console.print(t)
    r, u, b = report["resources"], report["utilization"], report["board_resources"]
    bn = report["bottleneck"]
    console.print(f"{len(report['layers'])} layers; {report['cycles_per_frame']} cycles/frame = "
                  f"[bold]{report['fps_estimate']:.1f} FPS[/] at {report['clock_mhz']:g} MHz "
                  f"(estimate: {'the input pace' if bn['name'] == 'input pace' else 'layer ' + repr(bn['name'])}); "
                  f"latency {report['latency_cycles_estimate']} cycles (estimate)")
    sim = report.get("simulation", {})
    if "cycles_per_frame" in sim:
        console.print(f"RTL simulation: {sim['cycles_per_frame']} cycles/frame = "
                      f"[bold]{sim['fps_simulated']:.1f} FPS[/], bit-exact on {sim['frames']} "
                      f"frames; the slowest layer's estimate of "
                      f"{sim['estimate_cycles_per_frame']} cycles is off by "
                      f"{sim['estimate_error']:+.1%}; latency {sim['latency_cycles']} cycles, "
                      f"estimate off by {sim['latency_estimate_error']:+.1%}")
        if "input_pace" in sim:
            console.print(f"  {sim['input_pace']}")
        if "note" in sim:
            console.print(f"  note: {sim['note']}")
    console.print(f"estimated: LUT {r['lut']}/{b['lut']} ({u['lut']:.0%}), FF {r['ff']}/{b['ff']} "
                  f"({u['ff']:.0%}), BRAM36 {r['bram36']:g}/{b['bram36']} ({u['bram36']:.0%}), "
                  + (f"URAM {r['uram']}/{b['uram']} ({u['uram']:.0%}), " if b["uram"] else "")
                  + f"DSP {r['dsp']}/{b['dsp']} ({u['dsp']:.0%})")
    syn = report.get("synthesis")
    if syn:
        t, su, err = syn["top"], syn["utilization"], syn["estimate_error"]
        console.print(
            "Yosys:     " + ", ".join(
                f"{k.upper()} {t[k]:g}/{b[k]} ({su[k]:.0%}, estimate {err[k]:+.0%})"
                if err.get(k) is not None else f"{k.upper()} {t[k]:g}/{b[k]} ({su[k]:.0%})"
                for k in ("lut", "ff", "bram36", "uram", "dsp") if k != "uram" or b["uram"])
            + f", CARRY {t['carry']}")
    tm = report.get("timing", {})
    if tm.get("status") == "estimated":
        verdict = ("[green]meets[/]" if tm["meets_clock"] else
                   f"[red]{len(tm['flagged'])} path(s) over the period[/]")
        console.print(f"timing:    fmax about {tm['fmax_mhz']:g} MHz (longest path "
                      f"{tm['worst_ns']:.2f} ns, {escape(tm['limited_by'])}); {verdict} at "
                      f"{tm['clock_mhz']:g} MHz (estimate, flow/measure/timing.py)")
        for f in tm["flagged"][:5]:
            console.print(f"  over: {escape(f)}")


def build_report(ctx, run, args, source, seconds: float) -> dict:
    """report.json from the folder's state: every step recorded there (this build's, and
    those it kept from an earlier one, marked `kept`), their sections, and the status:
    complete (every step ran), partial (--until, or stopped) or failed."""
    state, kept = run.state, {s.name for s in run.kept}
    records = [{**state.steps[s.name]["record"], **({"kept": True} if s.name in kept else {})}
               for s in STEPS if s.name in state.steps]
    failed = [r for r in records if r["status"] == "failed"]
    missing = [s.name for s in STEPS if s.name not in state.steps]
    bit = state.steps.get("bitstream", {}).get("record")
    # said once, at the top: a bitstream exists only when the bitstream step made one
    bitstream = ({"built": True, "files": bit["files"]} if bit and bit["status"] == "done"
                 else {"built": False, "reason": bit["reason"] if bit
                       else "the bitstream step did not run in this build"})
    report = {
        "status": "failed" if failed else "partial" if missing else "complete",
        **({"next_step": missing[0],
            "note": f"the build stopped before '{missing[0]}'; --from {missing[0]} goes on"}
           if missing and not failed else {}),
        "model": ctx.name, "config": ctx.cfg.to_dict() if ctx.cfg else None,
        "weights": source.label,
        "source": source.to_report(),
        "board": ctx.board.name, "part": ctx.board.part, "clock_mhz": ctx.board.clock_mhz,
        "clock_source": ("--clock-mhz" if args.clock_mhz is not None
                         else "the board's default"),
        "board_resources": ctx.board.to_dict(), "target_fps": args.target_fps,
        "backend": args.backend, "bitstream": bitstream,
        **ctx.results,
        # every step's warnings, also printed when the step ran
        "warnings": [f"{r['name']}: {w}" for r in records for w in r.get("warnings", ())],
        "steps": records,
        "wall_seconds": round(seconds, 2),
    }
    bad = non_finite(report)
    if bad:      # a bug, but the report stays JSON and says so
        report = replace_non_finite(report)
        report["status"] = "failed"
        report["error"] = ("figures that are not finite numbers (written as null): "
                           + ", ".join(bad[:10]))
    return report


def non_finite(value, path: str = "") -> list[str]:
    """Where in a report a float is NaN or infinite (JSON has neither)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [path or "(top)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in non_finite(v, f"{path}[{i}]")]
    return []


def replace_non_finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: replace_non_finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [replace_non_finite(v) for v in value]
    return value


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP (and SIGINT) stop the build as an exception in the step that runs:
    its tools are killed (flow/processes.py), its temporary folders removed, and the report
    says where it stopped."""
    def stop(signum, _frame):
        raise BuildInterrupted(f"stopped by {signal.Signals(signum).name}")

    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, stop)


def print_error(console, e: Exception) -> None:
    """One refusal on the terminal. Soft-wrapped: rich would otherwise break lines at 80
    columns when the output is not a terminal (CI logs, pipes), cutting file paths and node
    names in two where a user copies them from."""
    console.print(f"[red]error:[/] {escape(str(e))}", soft_wrap=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    console = Console(highlight=False)
    try:
        get_board(args.board)
        select_steps(STEPS, args.start, args.stop)
        source = load_source(args.model, args.checkpoint, args.untrained)
    except (BoardError, BuildError, ConfigError, CheckpointError) as e:
        print_error(console, e)
        return 2
    return build_source(args, source, console)


def build_source(args, source, console) -> int:
    """The build of `source` (flow/pipeline/source.py) as `args` (parse_args) say: its exit
    code; report.json in the output folder."""
    try:
        described = get_board(args.board)
        board = (described if args.clock_mhz is None
                 else dataclasses.replace(described, clock_mhz=args.clock_mhz))
        select_steps(STEPS, args.start, args.stop)
        check_buildable(source)
        check_target_fps(args.target_fps, board, source.input_shape)
        out = check_writable_dir(args.output or default_output(source, board), "--output")
    except (BoardError, BuildError, ConfigError, CheckpointError, OutputPathError) as e:
        print_error(console, e)
        return 2
    cfg = source.cfg
    sim = "yes" if args.sim else "no" if args.no_sim else "auto"
    synth = "yes" if args.synth else "no" if args.no_synth else "auto"
    folding = ({"mode": "target", "target_fps": args.target_fps} if args.target_fps
               else {"mode": "max"})
    # the board as flow/boards.py describes it, and the clock apart: --clock-mhz changes
    # what the fold step and every step after it make, not what check_fit checked
    rounding = "accept" if args.accept_rounding else "exact"
    inputs = Inputs({"source": source.fingerprint(), "board": described.to_dict(),
                     "clock": board.clock_mhz, "folding": folding, "sim": sim, "synth": synth,
                     "backend": args.backend, "rounding": rounding})
    ctx = BuildContext(cfg=cfg, board=board, out_dir=out, weights=source.label,
                       torch_model=source.model, target_fps=args.target_fps, console=console,
                       sim=sim, synth=synth, backend=args.backend, inputs=inputs,
                       name=source.name, source_qonnx=source.qonnx,
                       accept_rounding=args.accept_rounding)
    report_path = out / "report.json"
    stop_on_signals()
    t0 = time.perf_counter()
    try:
        with BuildLock(out):
            plan = plan_build(ctx, STEPS, args.start, args.stop)
            # A report from an earlier run must not make this folder look complete if we fail.
            report_path.unlink(missing_ok=True)
            console.print(f"[bold]Building[/] {source.name} for {board.name} ({board.part}, "
                          f"{board.clock_mhz:g} MHz) into {out}")
            run = run_build(ctx, plan, console)
            report = build_report(ctx, run, args, source, time.perf_counter() - t0)
            write_json_atomic(report_path, report)
    except BuildError as e:
        print_error(console, e)
        return 2
    except KeyboardInterrupt as e:       # outside a step: nothing of it to record
        console.print(f"[red]{escape(str(e) or 'interrupted')}[/]")
        return 130
    if run.interrupted:
        console.print(f"[red]{escape(run.interrupted)}[/]; report (status: failed) in "
                      f"{report_path}")
        return 130
    if report["status"] == "failed":
        failed = [r for r in report["steps"] if r["status"] == "failed"]
        why = (f"at step '{failed[0]['name']}': {failed[0]['reason']}" if failed
               else report.get("error", ""))
        console.print(f"[red]build failed[/] {escape(why)}", soft_wrap=True)
        console.print(f"partial results and report (status: failed) in {out}", soft_wrap=True)
        return 1
    if "layers" in report:
        print_summary(console, report)
    for w in report["warnings"]:
        console.print(f"[bold yellow]warning:[/] {escape(w)}")
    if report["status"] == "partial":
        console.print(f"[yellow]build stopped[/] before step '{report['next_step']}' "
                      f"(--until); report (status: partial) in {report_path}")
        return 0
    if not report["bitstream"]["built"]:
        console.print(f"no bitstream: {escape(report['bitstream']['reason'])}")
    console.print(f"[green]build finished[/] in {report['wall_seconds']:.0f} s; report: "
                  f"{report_path}")
    return 0


def default_output(source, board) -> Path:
    return ROOT / "build" / f"{source.name}-{board.name}"


def _options(board: str, output, options: dict) -> argparse.Namespace:
    """parse_args' namespace for a build from Python: `options` are the command line's
    long options in Python spelling (target_fps=30, no_sim=True, accept_rounding=True)."""
    argv = ["--board", board] + (["--output", str(output)] if output else [])
    for k, v in options.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            argv.append(flag)
        elif v not in (None, False):
            argv += [flag, str(v)]
    return parse_args(argv)


def build_qonnx(path, board: str, output=None, **options) -> int:
    """Build the user's QONNX file, as `python flow/build.py --board BOARD --model PATH`
    does; returns the exit code (0: built; report.json in the output folder)."""
    args = _options(board, output, options)
    console = Console(highlight=False)
    try:
        source = load_qonnx_source(path)
    except BuildError as e:
        print_error(console, e)
        return 2
    return build_source(args, source, console)


def build_brevitas(module, input_shape: tuple, board: str, output=None, **options) -> int:
    """Build a Brevitas nn.Module in memory: exported to QONNX (Brevitas export_qonnx on a
    [1, *input_shape] input) into <output>/source/, built from that file, and the hardware
    checked against both the QONNX and the module itself (verify_golden). The report names
    the module's class and the export's sha256. Returns the exit code."""
    args = _options(board, output, options)
    console = Console(highlight=False)
    name = type(module).__name__
    try:
        shape = tuple(int(v) for v in input_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise BuildError(f"input_shape {tuple(input_shape)}: give one frame's (C, H, W)")
        out = check_writable_dir(args.output or ROOT / "build" / f"{name}-{args.board}",
                                 "output")
        path = out / "source" / f"{name}.onnx"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            export_brevitas(module, shape, path)
        except Exception as e:  # noqa: BLE001 - the exporter's errors, said with the module
            raise BuildError(f"module {name}: Brevitas export_qonnx failed on a [1, "
                             f"{', '.join(map(str, shape))}] input: {type(e).__name__}: {e}"
                             ) from None
        source = load_qonnx_source(path, kind="module", module=module,
                                   label=f"module {type(module).__module__}."
                                         f"{type(module).__qualname__}")
    except (BuildError, OutputPathError) as e:
        print_error(console, e)
        return 2
    source.name = name
    args.output = str(out)
    return build_source(args, source, console)


if __name__ == "__main__":
    sys.exit(main())
