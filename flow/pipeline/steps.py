"""The build steps, in order. One transformation stage per step."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .runner import BuildContext
from .runner import BuildError
from .runner import Step
from .runner import chain_inputs
from .runner import StepOutcome
from .runner import progress


def step_check_fit(ctx: BuildContext) -> StepOutcome:
    """Refuse, before any long work, a network whose weights cannot fit the board's block
    RAM and LUTs (weights cannot live in UltraRAM; flow/planning/fit.py, the rule the fold
    step applies again to the hardware graph with the skip FIFOs)."""
    from ..planning.fit import FitError
    from ..planning.fit import MemoryNeed
    from ..planning.fit import capacity
    from ..planning.fit import check_memory

    if ctx.cfg is not None:
        from brevitas_models.summary import summarize

        s = summarize(ctx.torch_model, ctx.cfg)
        weight_bits = s.binary_weight_bits + s.int8_weight_bits
        extra = {"binary_macs_per_frame": s.binary_macs, "int8_macs_per_frame": s.int8_macs}
    else:
        from qonnx.core.modelwrapper import ModelWrapper

        from ..frontend.source_graph import weight_bits_of

        weight_bits, extra = weight_bits_of(ModelWrapper(str(ctx.source_qonnx))), {}
    try:
        info = check_memory(MemoryNeed(weight_bits, 0, 0), ctx.board, f"model '{ctx.name}'")
    except FitError as e:
        raise BuildError(str(e)) from None
    info.update(extra)
    budget = capacity(ctx.board).weights
    return StepOutcome("done", f"weights {weight_bits / 2**20:.2f} Mibit of at most "
                       f"{budget / 2**20:.2f} Mibit in block RAM and LUTs", info)


def step_export_qonnx(ctx: BuildContext) -> StepOutcome:
    """The QONNX graph the build compiles, as <name>.qonnx.onnx: a preset's or checkpoint's
    export, or a copy of the user's own QONNX (their file, or their module's export)."""
    from qonnx.core.modelwrapper import ModelWrapper

    from brevitas_models.files import write_bytes_atomic

    path = ctx.out_dir / f"{ctx.name}.qonnx.onnx"
    if ctx.source_qonnx is not None:
        write_bytes_atomic(path, Path(ctx.source_qonnx).read_bytes())
        what = f"copied {ctx.source_qonnx}"
    else:
        from brevitas_models.export import export_qonnx

        export_qonnx(ctx.torch_model, ctx.cfg, path)
        what = f"wrote {path.name}"
    ctx.model = ModelWrapper(str(path))
    return StepOutcome("done", what, {"artifact": path.name})


def step_convert_to_finn(ctx: BuildContext) -> StepOutcome:
    from ..frontend.convert import ConversionError
    from ..frontend.convert import convert_to_finn

    try:
        ctx.model = convert_to_finn(ctx.model)
    except ConversionError as e:
        raise BuildError(f"the QONNX graph cannot be converted to FINN: {e}") from None
    ops: dict[str, int] = {}
    for n in ctx.model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return StepOutcome("done", "", {"ops": ops})


# Random frames the build checks the golden model on against FINN/qonnx execution.
VERIFY_FRAMES = 2
# The simulated frame period may differ this much from the estimate without a warning.
ESTIMATE_TOLERANCE = 0.10


def step_lower_to_hw(ctx: BuildContext) -> StepOutcome:
    """FINN graph -> hardware layers, every float scale/BN/PReLU/quantizer chain absorbed
    into exact integer thresholds (flow/frontend/lower.py)."""
    from ..frontend.lower import LoweringError
    from ..frontend.lower import lower_to_hw

    bar, advance = progress(ctx, "lowering FINN nodes", len(ctx.model.graph.node))
    try:
        with bar:
            ctx.model = lower_to_hw(ctx.model, advance)
    except LoweringError as e:
        raise BuildError(f"the FINN graph cannot be lowered to hardware: {e}") from None
    return StepOutcome("done", f"{len(ctx.model.nodes)} hardware layers",
                       {"layers": ctx.model.count_kinds()})


def step_streamline(ctx: BuildContext) -> StepOutcome:
    """Thresholds into the MVTUs before them (matrix-vector-threshold units), requantizing
    clips into saturating adds, identity thresholds dropped."""
    from ..frontend.transforms import streamline

    streamline(ctx.model)
    return StepOutcome("done", "", {"layers": ctx.model.count_kinds()})


def step_insert_duplicates(ctx: BuildContext) -> StepOutcome:
    from ..frontend.transforms import InsertDuplicateStreams
    from ..hwgraph import apply_all

    apply_all(ctx.model, [InsertDuplicateStreams()])
    ctx.model.check()
    return StepOutcome("done", f"{ctx.model.count_kinds().get('duplicate', 0)} fan-outs")


def step_fold(ctx: BuildContext) -> StepOutcome:
    from ..planning.folding import FoldingError
    from ..planning.folding import choose_folding

    try:
        r = choose_folding(ctx.model, ctx.board, ctx.target_fps, f"model '{ctx.name}'")
    except FoldingError as e:
        raise BuildError(str(e)) from None
    fps = ctx.board.clock_mhz * 1e6 / r.cycles_per_frame
    how = (f"target {ctx.target_fps:g} FPS" if ctx.target_fps
           else f"fastest that fits, limited by: {r.limited_by}")
    latency = ("plain frame-rate folding" if r.slowdown is None else
               f"low-resolution layers at most {r.slowdown}x slower per pixel than the busiest")
    ctx.results["folding"] = {
        "mode": "target" if ctx.target_fps else "max", "target_fps": ctx.target_fps,
        "target_cycles": r.target_cycles, "limited_by": r.limited_by,
        "slowdown": r.slowdown, "latency_folding": latency,
        # check_fit refused anything else: there is no DDR weight streaming
        "weights": "on-chip (ROMs in the fabric); a model whose weights do not fit is "
                   "refused by check_fit, none are streamed from DDR"}
    return StepOutcome("done", f"{r.cycles_per_frame} cycles/frame = {fps:.1f} FPS ({how}; "
                       f"{latency})", {"limited_by": r.limited_by,
                                       "target_cycles": r.target_cycles,
                                       "slowdown": r.slowdown})


def step_fifo_depths(ctx: BuildContext) -> StepOutcome:
    from ..planning.fifo_depths import fifo_depths
    from ..planning.fifo_depths import InsertFIFOs
    from ..hwgraph import apply_all

    if ctx.model.count_kinds().get("fifo"):
        raise BuildError("the graph has FIFOs already; resume from an earlier step")
    depths, sched = fifo_depths(ctx.model)
    apply_all(ctx.model, [InsertFIFOs(depths)])
    ctx.model.check()
    deepest = max(depths.values(), default=0)
    return StepOutcome("done", f"{len(depths)} FIFOs, deepest {deepest} pixels",
                       {"fifos": len(depths), "deepest_fifo_pixels": deepest})


def step_verify_golden(ctx: BuildContext) -> StepOutcome:
    """The golden model checked on random frames of input codes: against FINN/qonnx
    execution of the convert_to_finn graph (every stream that holds a FINN tensor, code for
    code, and the outputs), then against the user's source: qonnx execution of the QONNX
    the build compiled (<name>.qonnx.onnx) and, when the build has it, the Brevitas module
    in PyTorch, every output code (flow/frontend/verify.py). A difference from the source
    fails the step, naming the first source node whose codes differ, unless
    --accept-rounding, which counts the differing codes in the report. Writes the frames and
    expected outputs to golden/vectors.npz for the backends."""
    import io

    import numpy as np
    from qonnx.core.modelwrapper import ModelWrapper

    from brevitas_models.files import write_bytes_atomic
    from ..frontend.convert import check_source
    from ..frontend.verify import compare_with_finn
    from ..frontend.verify import compare_with_module
    from ..frontend.verify import compare_with_source
    from ..frontend.verify import encoding_of
    from ..frontend.verify import golden_frames

    finn_path = ctx.intermediate_dir / "convert_to_finn.onnx"
    src_path = ctx.out_dir / f"{ctx.name}.qonnx.onnx"
    for p in (finn_path, src_path):
        if not p.is_file():
            raise BuildError(f"'{p}' is missing: run the build from export_qonnx")
    codes = golden_frames(ctx.model, VERIFY_FRAMES)
    bar, advance = progress(ctx, "FINN execution of random frames", VERIFY_FRAMES)
    with bar:
        res = compare_with_finn(ctx.model, ModelWrapper(str(finn_path)), codes, advance)
    if res.mismatches:
        raise BuildError("golden model differs from FINN execution: "
                         + "; ".join(res.mismatches[:3]))
    src, origins, _ = check_source(ModelWrapper(str(src_path)))
    diffs = [compare_with_source(ctx.model, src, codes, origins,
                                 f"the source QONNX {src_path.name} (qonnx execution)",
                                 res.contexts)]
    if ctx.torch_model is not None:
        diffs.append(compare_with_module(
            ctx.model, ctx.torch_model, codes, src, origins,
            f"the PyTorch module {type(ctx.torch_model).__name__}"))
    differing = [d for d in diffs if not d.equal]
    ctx.results["source_check"] = {
        "frames": VERIFY_FRAMES, "bit_exact": not differing,
        "accept_rounding": ctx.accept_rounding, "references": [d.to_dict() for d in diffs]}
    refused = [d for d in differing if not (ctx.accept_rounding and d.rounding_tie)]
    if refused:
        why = "; and from ".join(d.summary() for d in refused)
        if ctx.accept_rounding:
            why += (" (--accept-rounding accepts float-rounding ties only: this difference "
                    "is not one)")
        raise BuildError(f"the hardware's output codes differ from {why}")
    # the frames in the smallest integer type of the input quantizer's codes (uint8 pixels
    # for the presets: what the PYNQ driver takes)
    lo, hi = encoding_of(ctx.model).code_range
    store = next(t for t in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64)
                 if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max)
    buf = io.BytesIO()
    np.savez_compressed(buf, images=codes.astype(store),
                        **{f"out_{k}": v for k, v in res.outputs.items()})
    write_bytes_atomic(ctx.out_dir / "golden" / "vectors.npz", buf.getvalue())
    info = {"frames": VERIFY_FRAMES, "streams_checked": res.streams_checked,
            "source_bit_exact": not differing,
            "source_codes_compared": sum(d.compared for d in diffs),
            "source_codes_differing": sum(d.differing for d in diffs)}
    said = (f"{VERIFY_FRAMES} frames, {res.streams_checked} streams equal to FINN's code for "
            "code; " + "; ".join(d.summary() for d in diffs))
    warnings = []
    if differing:
        warnings.append(f"{info['source_codes_differing']} of {info['source_codes_compared']} "
                        "output codes differ from the source by float-rounding ties, accepted "
                        "by --accept-rounding: the hardware is NOT bit-exact to the source")
    return StepOutcome("done", said, info, warnings)


def write_folder(ctx: BuildContext, name: str, write, error: type, what: str,
                 replace: bool = False) -> dict:
    """`write(graph, folder)` into a temporary folder next to `out_dir/name`, then renamed into
    place (over the old one when `replace`): a failure leaves no partial folder. `error` (the
    generator's refusal) becomes a BuildError saying `what` could not be made."""
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=ctx.out_dir))
    try:
        manifest = write(ctx.model, tmp / name)
        if replace and (ctx.out_dir / name).exists():
            (ctx.out_dir / name).rename(tmp / f"{name}.old")
        (tmp / name).rename(ctx.out_dir / name)
    except error as e:
        raise BuildError(f"no {what} for this hardware graph: {e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def step_generate_rtl(ctx: BuildContext) -> StepOutcome:
    """rtl/: one hw/ module instance per layer, ROM files, the stitched top (flow/backends/rtlgen.py)."""
    from ..backends.rtlgen import RtlError
    from ..backends.rtlgen import write_rtl

    m = write_folder(ctx, "rtl", write_rtl, RtlError, "RTL")
    conv = sum(i["kind"] == "width_converter" for i in m["instances"])
    return StepOutcome("done", f"{len(m['instances'])} instances ({conv} width converters), "
                       f"{len(m['memories'])} ROM files in rtl/",
                       {"instances": len(m["instances"]), "width_converters": conv})


# The build synthesizes by default only designs Yosys is predicted to finish in this many
# seconds (flow/measure/synth.predict_seconds: the instances not in the cache, at the
# per-instance cost measured here, over the workers); --synth forces it, --no-synth skips it.
SYNTH_BUDGET_SECONDS = 120
# Rounds of register slices placed where paths across modules exceed the clock period, each
# followed by a resynthesis (of the slices and the top only: the rest is cached).
SLICE_ROUNDS = 3


def step_synthesize(ctx: BuildContext) -> StepOutcome:
    """Yosys synth_xilinx of rtl/, instance by instance, cached: LUT/FF/BRAM/DSP/CARRY per
    layer instance and for the top (synth/synth.json), the timing estimate against the clock
    (synth/timing.json); register slices into rtl/ where a path across modules is too long."""
    from ..backends.rtlgen import RtlError
    from ..backends.rtlgen import write_rtl
    from ..measure.synth import SynthError
    from ..measure.synth import predict_seconds
    from ..measure.synth import synthesize
    from ..measure.synth import yosys_missing
    from ..measure.timing import slices_for
    from ..measure.timing import timing_report
    from brevitas_models.files import write_json_atomic as write_json

    if ctx.synth == "no":
        return StepOutcome("skipped", "--no-synth was given")
    why = yosys_missing()
    if why:
        return StepOutcome("skipped", why)
    rtl, work = ctx.out_dir / "rtl", ctx.out_dir / "synth"
    if not (rtl / "accelerator.json").is_file():
        raise BuildError(f"'{rtl}' has no accelerator.json: run the build from generate_rtl")
    try:
        predicted = predict_seconds(rtl, ctx.board.family, work)
    except SynthError as e:
        raise BuildError(str(e)) from None
    if ctx.synth == "auto" and predicted > SYNTH_BUDGET_SECONDS:
        return StepOutcome(
            "skipped", f"Yosys would take about {predicted / 60:.0f} min on this design "
            f"(more than the default budget of {SYNTH_BUDGET_SECONDS} s); --synth runs it")
    log = ctx.console.print if ctx.console else None
    clock = ctx.board.clock_mhz
    slices: dict[str, float] = {s["wire"]: None for s in json.loads(
        (rtl / "accelerator.json").read_text()).get("register_slices", [])}
    seconds, rounds = 0.0, []
    try:
        for round_ in range(SLICE_ROUNDS + 1):
            r = synthesize(rtl, ctx.board.family, work, log=log)
            seconds += r["seconds"]
            rounds.append(r["cache"])
            manifest = json.loads((rtl / "accelerator.json").read_text())
            timing = timing_report(r, clock, manifest)
            new = {w: d for w, d in slices_for(timing, r, manifest).items() if w not in slices}
            if not new or round_ == SLICE_ROUNDS:
                break
            if log:
                log(f"    register slices on {len(new)} stream(s) whose paths across modules "
                    f"exceed {1000 / clock:.2f} ns: {', '.join(sorted(new))}")
            slices.update(new)
            write_folder(ctx, "rtl", lambda g, d: write_rtl(g, d, list(slices)), RtlError,
                         "RTL", replace=True)
    except SynthError as e:
        raise BuildError(str(e)) from None
    timing["register_slices"] = [{"wire": w, "path_ns": d} for w, d in slices.items()]
    timing["yosys_seconds"] = round(seconds, 2)
    write_json(work / "timing.json", timing)
    # the time is every round's, so are the syntheses: what this build synthesized, and what
    # came from an earlier build's cache (the first round's hits; later rounds hit this one's)
    t = r["top"]
    c = {**r["cache"], "misses": sum(x["misses"] for x in rounds), "hits": rounds[0]["hits"],
         "rounds": len(rounds)}
    return StepOutcome(
        "done", f"LUT {t['lut']}, FF {t['ff']}, BRAM36 {t['bram36']:g}, DSP {t['dsp']}, "
        f"CARRY {t['carry']} in {seconds:.0f} s ({c['misses']} of {c['jobs']} distinct "
        f"instances synthesized, {c['hits']} cached); fmax about {timing['fmax_mhz']:g} MHz "
        f"({len(timing['flagged'])} path(s) over {1000 / clock:.2f} ns"
        + (f", {len(slices)} register slice(s)" if slices else "") + ")",
        {"top": t, "yosys_seconds": round(seconds, 2), "cache": c,
         "fmax_mhz": timing["fmax_mhz"], "flagged": len(timing["flagged"]),
         "register_slices": sorted(slices)})


# Frames streamed through the RTL simulation: cycles per frame is the distance between the
# last two frames' ends; with three, the pipeline is full by then.
SIM_FRAMES = 3
# The full-rate Verilator bench (sim/fullrate.py) runs about 100k cycles/s on hg-hpm-tiny and
# 25-35k on hg-hpm-z2 here, after a compile of 1 to 4 minutes: by default the build simulates
# designs that need fewer cycles than this, and says so when it skips one.
SIM_BUDGET_CYCLES = 2_000_000
SIM_CYCLES_PER_SECOND = 30_000


def step_simulate_rtl(ctx: BuildContext) -> StepOutcome:
    """Verilator simulation of rtl/ at full rate on the golden frames (sim/fullrate.py):
    bit-exact outputs and the measured cycles per frame (sim/rtl_sim.json, read by the
    report)."""
    import numpy as np

    from brevitas_models.files import write_json_atomic as write_json

    from ..golden import images_to_stream
    from ..measure.simulate import SimulationError
    from ..measure.simulate import default_cache
    from ..measure.simulate import simulate_rtl
    from ..measure.simulate import simulator_missing

    if ctx.sim == "no":
        return StepOutcome("skipped", "--no-sim was given")
    from ..planning.fifo_depths import schedule

    sched = schedule(ctx.model)
    need = sched.latency + SIM_FRAMES * sched.period      # predicted, from the schedule
    if ctx.sim == "auto" and need > SIM_BUDGET_CYCLES:
        return StepOutcome(
            "skipped", f"the design needs about {need:,} cycles for {SIM_FRAMES} frames, "
            f"more than the default budget of {SIM_BUDGET_CYCLES:,} (about "
            f"{need / SIM_CYCLES_PER_SECOND / 60:.0f} min with the full-rate bench, plus its "
            "compile); --sim runs it anyway")
    why = simulator_missing()
    if why:
        return StepOutcome("skipped", why)
    vec = np.load(ctx.out_dir / "golden" / "vectors.npz")
    g = ctx.model
    reps = -(-SIM_FRAMES // len(vec["images"]))       # repeat the golden frames as needed
    images = np.concatenate([vec["images"]] * reps)[:SIM_FRAMES]
    expected = {k[4:]: np.concatenate([vec[k]] * reps)[:SIM_FRAMES]
                for k in vec.files if k.startswith("out_")}
    try:
        r = simulate_rtl(ctx.out_dir / "rtl", {g.inputs[0]: images_to_stream(images)},
                         expected, tag=ctx.name, cache=default_cache(ctx.out_dir))
    except SimulationError as e:
        raise BuildError(str(e)) from None
    from ..layers import layer_of
    from ..planning.fifo_depths import latency_estimate
    from ..planning.folding import frame_cycles
    from ..planning.folding import slowest_layer

    # The bench offers input as fast as it is taken, so it measures the rate the design
    # sustains: the slowest layer's, not an input pace the folding may have chosen.
    slow = slowest_layer(g)
    est = int(layer_of(slow).cycles(slow, g))
    lat = latency_estimate(g)
    sim = r.cycles_per_frame
    info = {"frames": r.frames, "bit_exact": True, "cycles_per_frame": sim,
            "latency_cycles": r.latency_cycles, "estimate_cycles_per_frame": est,
            "estimate_error": round((est - sim) / sim, 4),
            "estimate": f"the slowest layer's cycles per frame by the layer model "
                        f"({g.describe(slow)}): the rate the design sustains when "
                        "input comes as fast as it is taken, as in this bench",
            "latency_cycles_estimate": lat,
            "latency_estimate_error": round((lat - r.latency_cycles) / r.latency_cycles, 4),
            "bench": "sim/fullrate.py (Verilator, full rate)"}
    pace = int(frame_cycles(g))
    if pace > est:
        info["input_pace_cycles"] = pace
        info["input_pace"] = (f"the folding feeds a frame every {pace} cycles (its FIFOs are "
                              "sized for that pace); the bench does not pace its input")
    warnings = []
    if abs(sim - est) > ESTIMATE_TOLERANCE * sim:
        info["note"] = (
            f"the simulated frame period ({sim} cycles) and the estimate ({est}, the slowest "
            f"{g.describe(slow)}) differ by {(est - sim) / sim:+.1%}, more than "
            f"{ESTIMATE_TOLERANCE:.0%}: " + (
                "some stream stalls that the pixel schedule (flow/planning/fifo_depths.py) "
                "does not model" if sim > est else "the layer model overestimates the "
                "slowest layer") + "; the FPS estimate of this design does not hold")
        warnings.append(info["note"])
    write_json(ctx.out_dir / "sim" / "rtl_sim.json", info)
    return StepOutcome("done", f"{len(images)} frames bit-exact; {sim} cycles/frame simulated, "
                       f"{est} for the slowest layer ({info['estimate_error']:+.1%}); latency "
                       f"{r.latency_cycles} simulated, {lat} estimated "
                       f"({info['latency_estimate_error']:+.1%})", info, warnings)


def step_generate_hls(ctx: BuildContext) -> StepOutcome:
    """hls/: one hls/ kernel call per layer in a DATAFLOW top, weights and thresholds as
    headers, the C simulation testbench (flow/backends/hlsgen.py)."""
    from ..backends.hlsgen import HlsError
    from ..backends.hlsgen import write_hls

    m = write_folder(ctx, "hls", write_hls, HlsError, "HLS code")
    conv = sum(s["producer"] == "width converter" for s in m["streams"])
    return StepOutcome("done", f"{len(m['params'])} parameter headers, {len(m['streams'])} "
                       f"streams ({conv} width converters) in hls/",
                       {"streams": len(m["streams"]), "width_converters": conv})


def step_csim_hls(ctx: BuildContext) -> StepOutcome:
    """g++ C simulation of hls/ on the golden frames: bit-exact or the build fails."""
    import numpy as np

    from ..golden import compare_outputs
    from ..golden import images_to_stream
    from ..measure.hls_csim import CsimError
    from ..measure.hls_csim import compile_csim
    from ..measure.hls_csim import csim_missing
    from ..measure.hls_csim import run_csim
    from brevitas_models.files import write_json_atomic as write_json

    why = csim_missing()
    if why:
        return StepOutcome("skipped", why)
    hls = ctx.out_dir / "hls"
    manifest = json.loads((hls / "accelerator.json").read_text())
    vec = np.load(ctx.out_dir / "golden" / "vectors.npz")
    cache = os.environ.get("BINHG_SIM_CACHE")
    try:
        exe = compile_csim(hls, Path(cache) / "csim" if cache else ctx.out_dir / "csim")
        r = run_csim(exe, manifest, {ctx.model.inputs[0]: images_to_stream(vec["images"])})
    except CsimError as e:
        raise BuildError(str(e)) from None
    diff = compare_outputs(r.outputs, {k[4:]: vec[k] for k in vec.files
                                       if k.startswith("out_")}, "C simulation")
    if diff:
        raise BuildError(f"HLS C simulation: {diff}")
    info = {"frames": len(vec["images"]), "bit_exact": True,
            "csim_seconds": round(r.seconds, 3)}
    write_json(ctx.out_dir / "csim" / "hls_csim.json", info)
    return StepOutcome("done", f"{info['frames']} frames bit-exact in {r.seconds:.2f} s", info)


def step_xilinx_scripts(ctx: BuildContext) -> StepOutcome:
    """The Tcl a machine with the Xilinx tools runs: hls/hls_synth.tcl (Vitis HLS), and for
    the chosen backend the IP packaging and the PYNQ block design with the PS and an AXI DMA
    up to the bitstream (flow/backends/xilinx.py)."""
    from brevitas_models.files import write_text_atomic

    from ..backends.xilinx import hls_script
    from ..backends.xilinx import write_scripts

    why = board_refusal(ctx)
    if why:
        # the HLS top synthesizes whatever its streams; only the block design needs one each way
        path = ctx.out_dir / "hls" / "hls_synth.tcl"
        write_text_atomic(path, hls_script(ctx.board, ctx.board.clock_mhz))
        return StepOutcome("skipped", f"{why}; {path.relative_to(ctx.out_dir)} written",
                           {"backend": ctx.backend,
                            "scripts": [str(path.relative_to(ctx.out_dir))]})
    try:
        files = write_scripts(ctx.out_dir, ctx.board, ctx.backend, stream_ports(ctx),
                              ctx.board.clock_mhz)
    except ValueError as e:
        raise BuildError(f"no Vivado block design for this accelerator: {e}") from None
    names = [str(f.relative_to(ctx.out_dir)) for f in files]
    return StepOutcome("done", f"--backend {ctx.backend}: {', '.join(names)}",
                       {"backend": ctx.backend, "scripts": names})


def step_hls_synth(ctx: BuildContext) -> StepOutcome:
    """Vitis HLS: synthesis of hls/ and export as IP, where vitis_hls is on PATH."""
    from ..backends.xilinx import XilinxError
    from ..backends.xilinx import run_hls_synth
    from ..backends.xilinx import tool_missing

    if ctx.backend != "hls":
        return StepOutcome("skipped", "--backend rtl: the bitstream is built from rtl/ "
                           "(--backend hls synthesizes hls/ instead)")
    why = tool_missing("vitis_hls")
    if why:
        return StepOutcome("skipped", why)
    try:
        info = run_hls_synth(ctx.out_dir, log=ctx.console.print if ctx.console else None)
    except XilinxError as e:
        raise BuildError(str(e)) from None
    return StepOutcome("done", f"IP {info['vlnv']} in {info['ip_dir']}", info)


def step_bitstream(ctx: BuildContext) -> StepOutcome:
    """Vivado: (RTL IP packaging,) block design, bitstream, bitfile/accelerator.bit + .hwh,
    where vivado is on PATH. Success only when both files exist."""
    from ..backends.xilinx import XilinxError
    from ..backends.xilinx import run_bitstream
    from ..backends.xilinx import tool_missing

    why = board_refusal(ctx) or tool_missing("vivado")
    if why:
        return StepOutcome("skipped", why)
    try:
        info = run_bitstream(ctx.out_dir, ctx.backend,
                             log=ctx.console.print if ctx.console else None)
    except XilinxError as e:
        raise BuildError(str(e)) from None
    return StepOutcome("done", f"--backend {ctx.backend}: {', '.join(info['files'])}", info)


def step_deploy(ctx: BuildContext) -> StepOutcome:
    """deploy/: the PYNQ driver, its config and example, the board README and, when built,
    the bitstream (flow/deploy/)."""
    from brevitas_models.photos import landmarks_of

    from ..deploy import write_deploy

    why = board_refusal(ctx)
    if why:
        return StepOutcome("skipped", why)
    if ctx.cfg is not None:
        size, landmarks = ctx.cfg.input_size, ctx.cfg.num_landmarks
    else:
        why = deploy_refusal(ctx.model)
        if why:
            return StepOutcome("skipped", why)
        size = ctx.model.tensors[ctx.model.inputs[0]].shape[0]
        landmarks = ctx.model.tensors[ctx.model.outputs[0]].shape[2]
    fmt, names, lines = landmarks_of(landmarks)
    meta = {"model": ctx.name, "board": ctx.board.name, "part": ctx.board.part,
            "clock_mhz": ctx.board.clock_mhz, "backend": ctx.backend,
            "input_size": size, "num_landmarks": landmarks,
            # what the example and the notebook draw: names, and lines between them
            "landmarks": {"format": fmt.name, "names": list(names),
                          "lines": [list(l) for l in lines]}}
    cfg = write_folder(ctx, "deploy",
                       lambda g, d: write_deploy(g, d, ctx.out_dir, ctx.backend, meta),
                       (OSError, KeyError), "deploy folder")
    what = "with the bitstream" if cfg["bitstream_built"] else "without a bitstream"
    return StepOutcome("done", f"driver for build {cfg['build_id']} in deploy/, {what}",
                       {"build_id": cfg["build_id"], "bitstream": cfg["bitstream_built"]})


def stream_ports(ctx: BuildContext) -> dict:
    """The accelerator's stream ports, from the manifest of the chosen backend."""
    manifest = ctx.out_dir / ctx.backend / "accelerator.json"
    if not manifest.is_file():
        raise BuildError(f"'{manifest}' is missing: run the build from generate_rtl")
    return json.loads(manifest.read_text())


def board_refusal(ctx: BuildContext) -> str:
    """Why this accelerator cannot go on a board through the PYNQ block design, or "" (the
    rule is flow/backends/xilinx.py dma_refusal); the steps that need the board say it and
    skip, and everything before them stands."""
    from ..backends.xilinx import dma_refusal

    why = dma_refusal(stream_ports(ctx))
    if not why:
        return ""
    return (f"{why}: the RTL, HLS and reports are built, but no block design, bitstream or "
            "driver; for a board, export the network with the one output it reads (e.g. "
            "return only the last hourglass' heatmaps from forward)")


def deploy_refusal(g) -> str:
    """Why the PYNQ driver cannot run a user's network, or "": it sends square uint8 RGB or
    gray photos as the input codes and reads the first output as heatmaps."""
    import numpy as np

    from ..encoding import InputEncoding

    enc = InputEncoding.from_dict(g.meta["input_encoding"])
    c, h, w = enc.shape
    if h != w or c not in (1, 3):
        return (f"the driver takes square photos of 1 or 3 channels; the input is {c}x{h}x{w}"
                " (the RTL, HLS and reports are built)")
    p = np.arange(256)
    if enc.dtype != "UINT8" or not np.array_equal(enc.pixels_to_codes(p), p):
        return (f"the driver sends uint8 pixels p as the input codes, but the input "
                f"quantizer '{enc.quantizer}' ({enc.dtype}, scale {enc.scale:g}) maps p/255 "
                "to other codes; quantize the input as uint8 with scale 1/256 after x * "
                "255/256 (brevitas_models' Stem) for the driver (the RTL, HLS and reports "
                "are built)")
    return ""


def step_report(ctx: BuildContext) -> StepOutcome:
    from ..hwgraph import GraphError
    from ..measure.report import hardware_report

    synth_path = ctx.out_dir / "synth" / "synth.json"
    synth = json.loads(synth_path.read_text()) if synth_path.is_file() else None
    timing_path = ctx.out_dir / "synth" / "timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else None
    try:
        ctx.results.update(hardware_report(ctx.model, ctx.board, synth, timing))
    except GraphError as e:
        raise BuildError(f"the hardware graph is not valid: {e}") from None
    manifest = ctx.out_dir / "rtl" / "accelerator.json"
    if timing is None:
        ctx.results["timing"] = {"status": "not estimated",
                                 "reason": "no synthesis in this build (see the synthesize step)"}
    if manifest.is_file():
        from ..backends.stream_arcs import comb_chains

        chains = comb_chains(json.loads(manifest.read_text()))
        ctx.results["timing"]["comb_chains"] = {
            "longest_modules": len(chains[0]) if chains else 0, "chains": chains[:5],
            "source": "flow/backends/stream_arcs.py: each module's combinational stream arcs"}
    ctx.model.save(ctx.out_dir / "hw_graph.onnx")
    r = ctx.results
    sim = ctx.out_dir / "sim" / "rtl_sim.json"
    if sim.is_file():
        s = json.loads(sim.read_text())
        r["simulation"] = {**s, "source": "Verilator simulation of rtl/ (sim/fullrate.py)",
                           "fps_simulated": ctx.board.clock_mhz * 1e6 / s["cycles_per_frame"]}
    else:
        r["simulation"] = {"status": "not run", "reason": "see the simulate_rtl step"}
    return StepOutcome("done", f"{r['cycles_per_frame']} cycles/frame, "
                       f"{r['fps_estimate']:.1f} FPS at {ctx.board.clock_mhz:g} MHz (estimate)")


STEPS: list[Step] = chain_inputs([
    Step("check_fit", step_check_fit, saves_graph=False, inputs=("source", "board"),
         feeds_later=False, doc="weights vs the board's on-chip RAM"),
    Step("export_qonnx", step_export_qonnx, doc="Brevitas -> QONNX, cleaned (or the user's QONNX, copied)",
         artifacts=("*.qonnx.onnx",), inputs=("source", "packages", "code:model")),
    Step("convert_to_finn", step_convert_to_finn, inputs=("code:frontend",),
         doc="QONNX -> FINN-ONNX (MultiThreshold)"),
    Step("lower_to_hw", step_lower_to_hw, graph="hw", inputs=("code:core",),
         doc="FINN graph -> hardware layers, float chains -> exact integer thresholds"),
    Step("streamline", step_streamline, graph="hw",
         doc="thresholds into MVTUs and saturating adds"),
    Step("insert_duplicates", step_insert_duplicates, graph="hw", doc="fan-out of skip links"),
    Step("fold", step_fold, graph="hw", inputs=("board", "clock", "folding", "code:planning"),
         doc="PE/SIMD per layer for the board and target"),
    Step("fifo_depths", step_fifo_depths, graph="hw",
         doc="FIFO depths that keep the joins deadlock-free"),
    Step("verify_golden", step_verify_golden, saves_graph=False, artifacts=("golden",),
         inputs=("rounding",),
         doc="golden model == FINN execution code for code, and == the source's outputs"),
    Step("generate_rtl", step_generate_rtl, saves_graph=False, artifacts=("rtl",),
         inputs=("code:backends",), doc="RTL: hw/ instances, ROM files, stitched top"),
    Step("synthesize", step_synthesize, saves_graph=False, artifacts=("synth",),
         inputs=("synth", "tool:yosys", "code:measure"),
         doc="Yosys synth_xilinx: LUT/FF/BRAM/DSP/CARRY per layer and for the top"),
    Step("simulate_rtl", step_simulate_rtl, saves_graph=False, artifacts=("sim",),
         inputs=("sim", "tool:verilator"),
         doc="Verilator: bit-exact on the golden frames, cycles per frame"),
    Step("generate_hls", step_generate_hls, saves_graph=False, artifacts=("hls",),
         doc="HLS C++: hls/ kernel calls in a DATAFLOW top, parameter headers"),
    Step("csim_hls", step_csim_hls, saves_graph=False, artifacts=("csim",),
         inputs=("tool:g++",), doc="g++ C simulation: bit-exact on the golden frames"),
    Step("xilinx_scripts", step_xilinx_scripts, saves_graph=False,
         artifacts=("hls/hls_synth.tcl", "vivado"), inputs=("backend",),
         doc="Tcl for Vitis HLS and the Vivado block design / bitstream"),
    Step("hls_synth", step_hls_synth, saves_graph=False,
         artifacts=("hls/ip", "hls/hls_prj", "hls/vitis_hls*.log"), inputs=("tool:vitis_hls",),
         doc="Vitis HLS synthesis and IP export (needs vitis_hls; --backend hls)"),
    Step("bitstream", step_bitstream, saves_graph=False,
         artifacts=("bitfile", "vivado/ip", "vivado/pkg_prj", "vivado/prj", "vivado/*.log",
                    "vivado/.Xil"), inputs=("tool:vivado",),
         doc="Vivado: block design with the PS and DMA, bitstream + .hwh (needs vivado)"),
    Step("deploy", step_deploy, saves_graph=False, artifacts=("deploy",),
         inputs=("code:deploy",),
         doc="deploy/: PYNQ driver, config, example, README (+ bitstream when built)"),
    Step("report", step_report, saves_graph=False, artifacts=("hw_graph.onnx",),
         doc="cycles, FPS and resources per layer; hw_graph.onnx"),
])
