"""What each hw/ module passes on within the cycle: its combinational arcs from a stream input
port to a stream output port. Everything else a module drives on its stream ports comes from
its own registers (a skid buffer, a FIFO's registered ready, an output queue), so a chain of
combinational logic through the stitched top can only run along these arcs.

The one place this is written down (hw/README.md points here); tests/test_timing.py checks
it against the arcs Yosys' netlists show (flow/measure/timing.py extracts them), module by
module. Reset (`rst_n`, a registered global input) is left out: several modules gate their
tready/tvalid with it.
"""
from __future__ import annotations

from typing import Callable

Arc = tuple[str, str]        # (input port, output port)


COMBINATIONAL: dict[str, Callable[[dict], list[Arc]]] = {
    # a pair of beats moves only when both are there: each input's ready needs the other's valid
    "add_saturating": lambda p: [("s0_axis_tvalid", "s1_axis_tready"),
                                 ("s1_axis_tvalid", "s0_axis_tready")],
    # the compare pipeline advances on !m_axis_tvalid || m_axis_tready, and so takes input
    "threshold": lambda p: [("m_axis_tready", "s_axis_tready")],
    # credits: the sequencer's ready reads registers only (hw/mvtu_sequencer.sv)
    "xnor_popcount_mvtu": lambda p: [],
    "int_mvtu": lambda p: [],
    # registered both ways (skid buffers, FIFOs, output queues, counters)
    "axis_register_slice": lambda p: [],
    "axis_fifo": lambda p: [],
    "stream_width_converter": lambda p: [],
    "duplicate": lambda p: [],
    "concat": lambda p: [],
    "slice_channels": lambda p: [],
    "maxpool": lambda p: [],
    "upsample": lambda p: [],
    "sliding_window": lambda p: [],
    "sliding_window_parallel": lambda p: [],
}


def arcs(module: str, params: dict) -> list[Arc]:
    """The combinational stream arcs of an instance of `module` with `params`."""
    try:
        return COMBINATIONAL[module](params)
    except KeyError:
        raise KeyError(f"hw module '{module}' is not described in "
                       "flow/backends/stream_arcs.py COMBINATIONAL") from None


def comb_chains(manifest: dict) -> list[list[str]]:
    """The chains of combinational arcs through the stitched design of `manifest`
    (accelerator.json), longest first: each a list of "instance:in->out" hops, the longest
    path of valid/ready logic that crosses modules without meeting a register."""
    # signals: (wire, "tvalid" | "tready"); an arc of an instance links two of them
    succ: dict[tuple, list[tuple[tuple, str]]] = {}
    for inst in manifest["instances"]:
        ports = {}
        for prefix, wires in inst.get("inputs", []) + inst.get("outputs", []):
            ports[prefix] = wires
        for i, o in arcs(inst["module"], inst["params"]):
            ip, isig = i.rsplit("_", 1)
            op, osig = o.rsplit("_", 1)
            for wi in ports.get(ip, []):
                for wo in ports.get(op, []):
                    succ.setdefault((wi, isig), []).append(((wo, osig), f"{inst['name']}:{i}->{o}"))
    best: dict[tuple, list[str]] = {}

    def longest(node: tuple, stack: tuple = ()) -> list[str]:
        if node in best:
            return best[node]
        if node in stack:          # a loop would be a combinational loop in the design
            raise ValueError(f"combinational loop through {node[0]} {node[1]}")
        out: list[str] = []
        for nxt, hop in succ.get(node, []):
            cand = [hop] + longest(nxt, stack + (node,))
            if len(cand) > len(out):
                out = cand
        best[node] = out
        return out

    chains = [longest(n) for n in list(succ)]
    chains = [c for c in chains if c]
    chains.sort(key=len, reverse=True)
    # keep only maximal chains (not a tail of a longer one)
    out, seen = [], set()
    for c in chains:
        if tuple(c) not in seen:
            out.append(c)
            for k in range(len(c)):
                seen.add(tuple(c[k:]))
    return out
