"""Per-layer and total cycles, frame rate and resources of a folded hardware graph."""
from __future__ import annotations

from ..boards import Board
from ..planning.fifo_depths import latency_estimate
from ..planning.folding import UTILIZATION_BUDGET
from ..planning.folding import bottleneck
from ..planning.folding import estimate
from ..planning.folding import frame_cycles
from ..hwgraph import HwGraph
from ..layers import layer_of
from ..layers.base import bitwidth
from ..layers.base import check_fold
from ..layers.width_converter import converters_cost
from ..layers.width_converter import width_conversions


# What each estimate of the report is (report.json "estimates"); none is a measurement.
ESTIMATES = {
    "cycles_per_frame": "the frame period the folding chose: the slowest layer's cycles per "
                        "frame by the layer model (flow/layers/), or the input pace the "
                        "folding feeds frames at, where that is slower (bottleneck)",
    "fps_estimate": "the board clock over cycles_per_frame",
    "latency_cycles_estimate": "cycles from a frame's first input beat to its last output, the "
                               "pipeline idle before: a pixel-level schedule with the input "
                               "as fast as the port takes it and every layer at its own speed "
                               "(flow/planning/fifo_depths.py, latency_estimate)",
    "resources": "the analytical per-layer model of flow/layers/, FIFOs and width converters "
                 "included; Yosys' figures are under synthesis, when it ran",
}


def synthesis_report(g: HwGraph, board: Board, synth: dict, estimated: dict) -> dict:
    """Yosys' figures for the top and per layer kind beside the estimates, with the error of
    the estimate, (estimate - synth) / synth; and per layer, keyed by node name."""
    from .synth import FIGURES
    from .synth import compare
    from .synth import layer_comparison

    cmp = layer_comparison(g, synth)
    top = synth["top"]
    util = {k: top[k] / getattr(board, k) if getattr(board, k) else float(top[k] > 0)
            for k in ("lut", "ff", "bram36", "uram", "dsp")}
    return {
        "top": top, "estimate": estimated, "estimate_error": compare(estimated, top),
        "utilization": {k: round(v, 4) for k, v in util.items()},
        "kinds": cmp["kinds"], "yosys_seconds": synth["seconds"],
        "yosys_version": synth["yosys_version"], "family": synth["family"],
        "options": synth["options"], "figures": list(FIGURES),
        "source": "Yosys synth_xilinx of rtl/ (flow/measure/synth.py), hierarchy kept",
    }, {r["name"]: r for r in cmp["layers"]}


def fifo_levels(g: HwGraph) -> list[dict]:
    """The FIFOs by resolution (an hourglass level each), largest first: how many, the bits
    they hold and the memories they take, beside the least an ideal schedule holds there
    (flow/planning/fit.py: what no folding goes below)."""
    from ..planning.fit import ideal_fifo_bits

    levels: dict[tuple, dict] = {}

    def level(shape):
        return levels.setdefault(tuple(shape[:2]), {
            "shape": list(shape[:2]), "fifos": 0, "bits": 0, "ideal_bits": 0, "bram36": 0.0,
            "uram": 0, "lut": 0, "deepest_pixels": 0})

    for n in g.nodes:
        if n.kind != "fifo":
            continue
        t = g.tensors[n.inputs[0]]
        rec, res = level(t.shape), layer_of(n).estimate(n, g)
        rec["fifos"] += 1
        rec["bits"] += int(n.attrs["depth"]) * t.channels * bitwidth(g, n.inputs[0])
        rec["bram36"] += res.bram36
        rec["uram"] += res.uram
        rec["lut"] += res.lut
        rec["deepest_pixels"] = max(rec["deepest_pixels"], int(n.attrs["depth"]))
    for name, bits in ideal_fifo_bits(g).items():
        level(g.tensors[name].shape)["ideal_bits"] += bits
    return sorted(levels.values(), key=lambda r: -r["bits"])


def hardware_report(g: HwGraph, board: Board, synth: dict | None = None,
                    timing: dict | None = None) -> dict:
    """Cycles, frame rate and resources; `synth` (flow/measure/synth.synthesize's result)
    adds the synthesized figures beside the estimates, `timing` (flow/measure/timing.
    timing_report's) the timing estimate and each layer's longest path."""
    res = estimate(g)
    out = {}
    per_layer = {}
    if synth is not None:
        out["synthesis"], per_layer = synthesis_report(g, board, synth, res.to_dict())
    if timing is not None:
        out["timing"] = timing
    timed = {r["node"]: {k: r[k] for k in ("delay_ns", "levels", "carry4", "dsp", "over")
                         if k in r}
             for r in (timing or {}).get("instances", []) if r.get("node")}
    layers = []
    for n in g.nodes:
        layer = layer_of(n)
        check_fold(layer, n, g)
        est = layer.estimate(n, g)
        rec = {"name": n.name, "op": n.kind, "pe": int(n.attrs.get("pe", 1)),
               "simd": int(n.attrs.get("simd", 1)), "cycles": int(layer.cycles(n, g)),
               **est.to_dict()}
        if n.kind == "fifo":
            rec["depth"] = int(n.attrs["depth"])
            rec["ram_style"] = n.attrs.get("ram_style", "auto")
        if "source" in n.attrs:
            rec["source"] = n.attrs["source"]
        origin = g.origin(n)
        if origin:
            rec["origin"] = origin
        if n.name in per_layer:
            rec["synth"] = per_layer[n.name]["synth"]
            rec["synth_error"] = per_layer[n.name]["error"]
        if n.name in timed:
            rec["timing"] = timed[n.name]
        layers.append(rec)
    cycles = frame_cycles(g)
    util = {"lut": res.lut / board.lut, "ff": res.ff / board.ff,
            "bram36": res.bram36 / board.bram36, "dsp": res.dsp / board.dsp,
            "uram": res.uram / board.uram if board.uram else float(res.uram > 0)}

    return {
        "cycles_per_frame": int(cycles),
        "fps_estimate": board.clock_mhz * 1e6 / cycles,
        "latency_cycles_estimate": latency_estimate(g),
        "estimates": ESTIMATES,
        "bottleneck": bottleneck(g),
        "resources": {**res.to_dict(), "source": "estimate",
                      "note": "analytical per-layer model (flow/layers/); not synthesized"},
        "utilization": {k: round(v, 4) for k, v in util.items()},
        "utilization_budget": UTILIZATION_BUDGET,
        "layer_counts": g.count_kinds(),
        "fifo_levels": fifo_levels(g),
        "layers": layers,
        # not graph nodes, but in the totals above: rtlgen/hlsgen put one wherever a
        # producer's beat width differs from its reader's
        "width_converters": {"count": len(width_conversions(g)),
                             **converters_cost(g).to_dict()},
        **out,
    }
