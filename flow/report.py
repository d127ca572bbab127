"""Per-layer and total cycles, frame rate and resources of a folded hardware graph."""
from __future__ import annotations

from .boards import Board
from .fifo_depths import schedule
from .folding import UTILIZATION_BUDGET
from .folding import bottleneck
from .folding import estimate
from .folding import frame_cycles
from .hwgraph import HwGraph
from .layers import layer_of
from .layers.base import check_fold


def hardware_report(g: HwGraph, board: Board) -> dict:
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
        if "source" in n.attrs:
            rec["source"] = n.attrs["source"]
        layers.append(rec)
    cycles = frame_cycles(g)
    res = estimate(g)
    util = {"lut": res.lut / board.lut, "ff": res.ff / board.ff,
            "bram36": res.bram36 / board.bram36, "dsp": res.dsp / board.dsp}
    b = bottleneck(g)
    return {
        "cycles_per_frame": int(cycles),
        "fps_estimate": board.clock_mhz * 1e6 / cycles,
        "latency_cycles_estimate": schedule(g).latency,
        "bottleneck": {"name": b.name, "op": b.kind, "cycles": int(cycles)},
        "resources": {**res.to_dict(), "source": "estimate",
                      "note": "analytical per-layer model (flow/layers/); not synthesized"},
        "utilization": {k: round(v, 4) for k, v in util.items()},
        "utilization_budget": UTILIZATION_BUDGET,
        "layer_counts": g.count_kinds(),
        "layers": layers,
    }
