"""RTL generator: a hardware graph -> `rtl/` (hw/ library + ROM files + stitched top).

Every hardware layer becomes one instance of its hw/ module (hw/README.md has the contracts),
its folding and integer parameters from the graph, weights/thresholds as `$readmemh` files.
Where a producer writes a different number of elements per beat than its consumer reads, a
stream width converter (a gearbox for any ratio) is inserted. The top,
`accelerator.sv`, has one AXI-Stream port per graph input/output (`s_axis`/`m_axis` when there
is one of each) with byte-padded `tdata` and `m_axis_tlast` on each frame's last beat.
`accelerator.json` describes the ports and every internal stream for drivers and benches.
"""
from __future__ import annotations

import json
import math
import re
import shutil
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path

import numpy as np
from qonnx.core.datatype import DataType

from ..hwgraph import HwGraph
from ..hwgraph import HwNode
from ..layers.thresholding import accumulator_bounds
from ..layers.thresholding import output_stage_x_bits
from .hwparams import output_stage
from ..layers import KINDS
from ..layers.base import bitwidth
from ..layers import layer_of
from ..layers.width_converter import conversions_by_reader
from ..layers.width_converter import stream_elems
from ..layers.width_converter import width_converter_cost
from ..layers import xnor_mvtu
from ..layers.requant import nf_address_bits
from ..layers.requant import seg_address
from ..layers.base import weight_rom
from ..layers.fifo import ram_style as fifo_ram_style
from ..layers.fifo import fifo_memory_words
from ..layers.sliding_window import line_buffer_pitch
from ..layers.fifo import uram_read_latency
from .stream_format import port_info
from .stream_format import port_name

HW_DIR = Path(__file__).resolve().parents[2] / "hw"
TOP = "accelerator"


class RtlError(ValueError):
    """A graph the RTL library cannot implement; the message names the node and why."""


# -- small helpers ---------------------------------------------------------------------------

class Raw(str):
    """A parameter value written as is (a sized Verilog literal)."""


def vlit(v) -> str:
    """A Verilog parameter value: ints (negative ones as 32-bit signed), strings quoted."""
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, str):
        return f'"{v}"'
    v = int(v)
    if v >= 0:
        return str(v)
    if v == -(1 << 31):
        return "32'sh80000000"
    return f"-{-v}"


def pack_fields(values: np.ndarray, bits: int) -> list[int]:
    """Rows of integer fields -> one int per row, field j at bits [j*bits, (j+1)*bits)."""
    mask = (1 << bits) - 1
    rows = np.asarray(values, dtype=np.int64).reshape(len(values), -1)
    return [sum((int(v) & mask) << (j * bits) for j, v in enumerate(r)) for r in rows]


def mem_text(words: list[int], width: int) -> str:
    digits = max(1, math.ceil(width / 4))
    return "\n".join(f"{w:0{digits}x}" for w in words) + "\n"


def is_signed(g: HwGraph, tensor: str) -> int:
    return int(DataType[g.tensors[tensor].dtype].signed())


@dataclass
class Instance:
    name: str
    module: str
    params: dict
    # port prefix -> stream names (several for packed multi-stream ports)
    inputs: list[tuple[str, list[str]]]
    outputs: list[tuple[str, list[str]]]
    node: str | None = None
    kind: str = ""
    mems: dict[str, str] = field(default_factory=dict)     # file name -> contents
    lut_estimate: int = 0     # the layer's estimated LUTs (how long synthesis takes scales)


# -- output stages ---------------------------------------------------------------------------

def _output_stage(node: HwNode, g: HwGraph, prefix: str) -> tuple[dict, dict]:
    """OUT_STAGE parameters and ROM files of an MVTU / threshold node
    (hw/README.md, "Output stages")."""
    out = node.outputs[0]
    p = {"OUT_STAGE": 0, "OUT_BITS": bitwidth(g, out), "OUT_SIGNED": is_signed(g, out),
         "LEVELS": 1, "T_BITS": 2, "BASE": 0, "THRESH_FILE": "",
         "MUL_BITS": 2, "ADD_BITS": 2, "SPLIT_BITS": 2, "SHIFT": 0, "OUT_MIN": 0,
         "OUT_MAX": 0, "RQ_FILE": "", "SEG_ADDRESS": 1}
    mems = {}
    pe = int(node.attrs.get("pe", 1))
    cout = g.tensors[out].channels
    st = output_stage(node, *accumulator_bounds(node, g))
    if st.kind == "requant":
        mb, ab, sb = st.mul_bits, st.add_bits, st.split_bits
        nf_groups = cout // pe
        seg_in_address = seg_address(nf_groups)
        cb = mb + ab                                      # one segment's mul, add

        def coef(c: int, seg: int) -> int:
            return (pack_fields(st.mul[c, seg][None], mb)[0]
                    | pack_fields(st.add[c, seg][None], ab)[0] << mb)

        def split(c: int) -> int:
            return int(st.split[c]) & ((1 << sb) - 1)

        # hw/requant_unit.sv: lane p's field holds channel nf*PE+p's parameters
        if seg_in_address:
            # word {seg, nf} (seg = 1 from 2**NF_W): mul[seg], add[seg], split
            rw = cb + sb
            nf_w = nf_address_bits(nf_groups)

            def lane(c: int, seg: int) -> int:
                return coef(c, seg) | split(c) << cb

            half = [[sum(lane(nf * pe + q, seg) << (q * rw) for q in range(pe))
                     for nf in range(nf_groups)] for seg in (0, 1)]
            pad = [0] * ((1 << nf_w) - nf_groups)
            words = half[0] + pad + half[1] + pad
        else:
            # word nf: mul[0], add[0], mul[1], add[1], split
            rw = 2 * cb + sb
            words = [sum((coef(c, 0) | coef(c, 1) << cb | split(c) << (2 * cb)) << (q * rw)
                         for q, c in enumerate(range(nf * pe, nf * pe + pe)))
                     for nf in range(nf_groups)]
        f = f"{prefix}_requant.mem"
        mems[f] = mem_text(words, rw * pe)
        p.update(OUT_STAGE=2, MUL_BITS=mb, ADD_BITS=ab, SPLIT_BITS=sb, SHIFT=st.shift,
                 OUT_MIN=st.out_min, OUT_MAX=st.out_max, RQ_FILE=f,
                 SEG_ADDRESS=int(seg_in_address))
    elif st.kind == "thresholds":
        tb, levels = st.t_bits, st.levels
        lw = levels * tb + 1
        lane = [pack_fields(st.thresholds[c][None], tb)[0] | int(st.flip[c]) << (levels * tb)
                for c in range(cout)]
        words = [sum(lane[nf * pe + q] << (q * lw) for q in range(pe))
                 for nf in range(cout // pe)]
        f = f"{prefix}_thresholds.mem"
        mems[f] = mem_text(words, lw * pe)
        p.update(OUT_STAGE=1, LEVELS=levels, T_BITS=tb, BASE=st.base, THRESH_FILE=f)
    return p, mems


# -- one emitter per layer kind --------------------------------------------------------------

def _weights_rom(node: HwNode, bits: int, prefix: str) -> tuple[str, str]:
    """WEIGHT_FILE: word nf*(K/SIMD)+sf holds w[nf*PE+p, sf*SIMD+i] at element p*SIMD+i."""
    w = node.arrays["weights"].astype(np.int64)
    cout, k = w.shape
    pe, simd = int(node.attrs.get("pe", 1)), int(node.attrs.get("simd", 1))
    blocks = w.reshape(cout // pe, pe, k // simd, simd).transpose(0, 2, 1, 3)
    words = pack_fields(blocks.reshape(-1, pe * simd), bits)
    f = f"{prefix}_weights.mem"
    return f, mem_text(words, pe * simd * bits)


def _read_ahead(node: HwNode, g: HwGraph, in_bits: int) -> dict:
    """READ_AHEAD_MEM_WORDS of an MVTU: its read-ahead FIFO's memory, by the FIFO layer's
    rule (fifo_memory_words); 0 (the FIFO's depth) where it is a skid buffer or absent."""
    words = layer_of(node).read_ahead_words(node, g)
    if words <= 2:
        return {}
    simd = int(node.attrs.get("simd", 1))
    return {"READ_AHEAD_MEM_WORDS": fifo_memory_words(simd * in_bits, words)}


def _mvtu_pipeline(node: HwNode, g: HwGraph) -> dict:
    """SUM_STAGES and OUT_QUEUE of an MVTU, by its layer description's rules."""
    layer = layer_of(node)
    return {"SUM_STAGES": layer.sum_stages(node, g),
            "OUT_QUEUE": layer.output_queue_depth(node, g)}


def emit_xnor_mvtu(node, g, name):
    cout, k = node.arrays["weights"].shape
    wf, wtext = _weights_rom(node, 1, name)
    stage, mems = _output_stage(node, g, name)
    params = {"PE": node.attrs.get("pe", 1), "SIMD": node.attrs.get("simd", 1), "K": k,
              "COUT": cout, "X_BITS": output_stage_x_bits(node, g), "WEIGHT_FILE": wf,
              "LUT_ROM": int(weight_rom(node, g, 1)[0] == "distributed"),
              **_read_ahead(node, g, 1), "POPCOUNT_GROUP": xnor_mvtu.POPCOUNT_GROUP,
              **_mvtu_pipeline(node, g), **stage}
    return "xnor_popcount_mvtu", params, {wf: wtext, **mems}


def emit_int_mvtu(node, g, name):
    cout, k = node.arrays["weights"].shape
    wf, wtext = _weights_rom(node, 8, name)
    stage, mems = _output_stage(node, g, name)
    params = {"PE": node.attrs.get("pe", 1), "SIMD": node.attrs.get("simd", 1), "K": k,
              "COUT": cout, "IN_BITS": bitwidth(g, node.inputs[0]),
              "IN_SIGNED": is_signed(g, node.inputs[0]),
              "ACC_BITS": output_stage_x_bits(node, g),
              "PRODUCT_BITS": layer_of(node).product_bits(node, g), "WEIGHT_FILE": wf,
              "LUT_ROM": int(weight_rom(node, g, 8)[0] == "distributed"),
              **_read_ahead(node, g, bitwidth(g, node.inputs[0])),
              **_mvtu_pipeline(node, g), **stage}
    return "int_mvtu", params, {wf: wtext, **mems}


def emit_threshold(node, g, name):
    i = node.inputs[0]
    stage, mems = _output_stage(node, g, name)
    params = {"PE": node.attrs.get("pe", 1), "IN_BITS": bitwidth(g, i),
              "IN_SIGNED": is_signed(g, i), "CHANNELS": g.tensors[i].channels,
              "OUT_BITS": stage["OUT_BITS"], "LEVELS": stage["LEVELS"],
              "T_BITS": stage["T_BITS"], "BASE": stage["BASE"],
              "THRESH_FILE": stage["THRESH_FILE"]}
    return "threshold", params, mems


def emit_sliding_window(node, g, name):
    h, w, c = g.tensors[node.inputs[0]].shape
    t, l, b, r = (int(v) for v in node.attrs["pad"])
    simd = int(node.attrs.get("simd", 1))
    params = {"BITS": bitwidth(g, node.inputs[0]), "CHANNELS": c, "IN_H": h, "IN_W": w,
              "K": node.attrs["kernel"], "STRIDE": node.attrs["stride"], "PAD_T": t,
              "PAD_L": l, "PAD_B": b, "PAD_R": r, "PAD_CODE": node.attrs["pad_code"]}
    if simd > c:     # the parallel form: a pixel in, simd / c window pixels out per beat
        return "sliding_window_parallel", {**params, "PIXELS": simd // c}, {}
    pitch = line_buffer_pitch(simd, params["BITS"], c, w, int(node.attrs["kernel"]),
                              int(node.attrs["stride"]))
    return "sliding_window", {"SIMD": simd, **params, "ROW_PITCH": pitch}, {}


def emit_maxpool(node, g, name):
    h, w, c = g.tensors[node.inputs[0]].shape
    return "maxpool", {"PE": node.attrs.get("pe", 1), "BITS": bitwidth(g, node.inputs[0]),
                       "SIGNED": is_signed(g, node.inputs[0]), "CHANNELS": c, "IN_H": h,
                       "IN_W": w, "K": node.attrs["kernel"]}, {}


def emit_upsample(node, g, name):
    h, w, c = g.tensors[node.inputs[0]].shape
    return "upsample", {"PE": node.attrs.get("pe", 1), "BITS": bitwidth(g, node.inputs[0]),
                        "CHANNELS": c, "IN_H": h, "IN_W": w,
                        "FACTOR": node.attrs["factor"]}, {}


def emit_add(node, g, name):
    a, b = node.inputs
    return "add_saturating", {
        "PE": node.attrs.get("pe", 1), "A_BITS": bitwidth(g, a), "A_SIGNED": is_signed(g, a),
        "B_BITS": bitwidth(g, b), "B_SIGNED": is_signed(g, b),
        "OUT_BITS": bitwidth(g, node.outputs[0]), "OUT_MIN": node.attrs["out_min"],
        "OUT_MAX": node.attrs["out_max"]}, {}


def _width(g, tensor, elems):
    return bitwidth(g, tensor) * elems


def emit_concat(node, g, name):
    pe = int(node.attrs.get("pe", 1))
    beats = [g.tensors[i].channels // pe for i in node.inputs]
    packed = sum(b << (16 * j) for j, b in enumerate(beats))
    return "concat", {"WIDTH": _width(g, node.outputs[0], pe), "N_IN": len(beats),
                      "BEATS": Raw(f"{16 * len(beats)}'h{packed:x}")}, {}


def emit_slice_channels(node, g, name):
    pe = int(node.attrs.get("pe", 1))
    start, stop = int(node.attrs["start"]), int(node.attrs["stop"])
    if start % pe or stop % pe:
        raise RtlError(f"node '{node.name}' (slice_channels): channels [{start}, {stop}) "
                       f"do not fall on beats of pe={pe}")
    return "slice_channels", {"WIDTH": _width(g, node.inputs[0], pe),
                              "IN_BEATS": g.tensors[node.inputs[0]].channels // pe,
                              "START_BEAT": start // pe, "STOP_BEAT": stop // pe}, {}


def emit_duplicate(node, g, name):
    pe = int(node.attrs.get("pe", 1))
    return "duplicate", {"WIDTH": _width(g, node.inputs[0], pe),
                         "N_OUT": len(node.outputs)}, {}


def emit_fifo(node, g, name):
    pe = int(node.attrs.get("pe", 1))
    words = KINDS["fifo"].words(node, g)
    params = {"WIDTH": _width(g, node.inputs[0], pe), "DEPTH": words}
    if fifo_ram_style(node) == "ultra":
        params.update(ULTRA=1, READ_LATENCY=uram_read_latency(words))
    elif words > 2:
        params["MEM_WORDS"] = fifo_memory_words(params["WIDTH"], words)
    return "axis_fifo", params, {}


EMITTERS = {
    "xnor_mvtu": emit_xnor_mvtu, "int_mvtu": emit_int_mvtu, "threshold": emit_threshold,
    "sliding_window": emit_sliding_window, "maxpool": emit_maxpool, "upsample": emit_upsample,
    "add": emit_add, "concat": emit_concat, "slice_channels": emit_slice_channels,
    "duplicate": emit_duplicate, "fifo": emit_fifo,
}


# -- the stitched design ---------------------------------------------------------------------

@dataclass
class Design:
    """The generated accelerator: instances, streams and ports, ready to be written."""
    instances: list[Instance]
    wires: dict[str, dict]            # wire prefix -> {tensor, width, producer, consumer}
    ports_in: list[dict]
    ports_out: list[dict]


def wire_name(tensor: str) -> str:
    return "w_" + re.sub(r"\W", "_", tensor)


def instance_name(node: HwNode) -> str:
    # u_ prefix: a node may be called like a Verilog keyword ("join", "begin")
    return "u_" + re.sub(r"\W", "_", node.name)


def build_design(g: HwGraph) -> Design:
    g.check()
    instances: list[Instance] = []
    wires: dict[str, dict] = {}
    n_in, n_out = len(g.inputs), len(g.outputs)

    def new_wire(tensor: str, elems: int, suffix: str = "") -> str:
        w = wire_name(tensor) + suffix
        if w in wires:
            raise RtlError(f"two streams map to the wire name '{w}'; rename tensor '{tensor}'")
        wires[w] = {"tensor": tensor, "width": _width(g, tensor, elems), "elems": elems,
                    "producer": None, "consumer": None}
        return w

    # every stream: the wire its producer drives (at the producer's width)
    prod_wire, prod_elems = {}, {}
    for k, name in enumerate(g.inputs):
        e = stream_elems(g, name)
        prod_wire[name], prod_elems[name] = new_wire(name, e), e
        wires[prod_wire[name]]["producer"] = port_name("s", k, n_in)
    for node in g.nodes:
        for o in node.outputs:
            e = stream_elems(g, o)
            prod_wire[o], prod_elems[o] = new_wire(o, e), e
            wires[prod_wire[o]]["producer"] = instance_name(node)
    conversions = conversions_by_reader(g)

    def reader_wire(node: HwNode, j: int) -> str:
        """The wire `node` reads its input `j` from (through the converter
        flow/layers/width_converter.py lists for it, if any)."""
        tensor = node.inputs[j]
        w = prod_wire[tensor]
        c = conversions.get((node.name, j))
        if c is not None:       # one converter regroups any ratio
            nw = new_wire(tensor, c.out_elems, "_wc0")
            inst = Instance(f"u_wc_{re.sub(r'[^0-9A-Za-z_]', '_', tensor)}_0",
                            "stream_width_converter",
                            {"ELEM_BITS": c.bits, "IN_ELEMS": c.in_elems,
                             "OUT_ELEMS": c.out_elems}, [("s_axis", [w])], [("m_axis", [nw])],
                            kind="width_converter",
                            lut_estimate=width_converter_cost(c.bits, c.in_elems,
                                                              c.out_elems).lut)
            wires[w]["consumer"], wires[nw]["producer"] = inst.name, inst.name
            instances.append(inst)
            w = nw
        wires[w]["consumer"] = instance_name(node)
        return w

    for node in g.nodes:
        emit = EMITTERS.get(node.kind)
        if emit is None:
            raise RtlError(f"node '{node.name}': no RTL for layer kind '{node.kind}'")
        name = instance_name(node)
        module, params, mems = emit(node, g, name)
        ins = [reader_wire(node, j) for j in range(len(node.inputs))]
        # add has two ports; concat (and duplicate's outputs) pack several streams in one
        inputs = ([("s0_axis", [ins[0]]), ("s1_axis", [ins[1]])] if node.kind == "add"
                  else [("s_axis", ins)])
        outputs = [("m_axis", [prod_wire[o] for o in node.outputs])]
        instances.append(Instance(name, module, params, inputs, outputs, node.name,
                                  node.kind, mems, layer_of(node).estimate(node, g).lut))

    ports_in, ports_out = [], []
    for k, name in enumerate(g.inputs):
        ports_in.append({**port_info(g, port_name("s", k, n_in), name, prod_elems[name]),
                         "wire": prod_wire[name]})
    for k, name in enumerate(g.outputs):
        port = port_name("m", k, n_out)
        w = prod_wire[name]
        wires[w]["consumer"] = port
        ports_out.append({**port_info(g, port, name, prod_elems[name]), "wire": w})
    return Design(instances, wires, ports_in, ports_out)


def top_verilog(d: Design) -> str:
    L = ["// Generated by flow/backends/rtlgen.py from the hardware graph: do not edit.",
         "// One instance per hardware layer (hw/README.md has each module's contract).",
         "`default_nettype none", "", f"module {TOP} (",
         "    input  wire ap_clk,", "    input  wire ap_rst_n,"]
    ports = []
    for p in d.ports_in:
        ports += [f"    input  wire [{p['tdata_width'] - 1}:0] {p['port']}_tdata",
                  f"    input  wire {p['port']}_tvalid", f"    output wire {p['port']}_tready"]
    for p in d.ports_out:
        ports += [f"    output wire [{p['tdata_width'] - 1}:0] {p['port']}_tdata",
                  f"    output wire {p['port']}_tvalid", f"    input  wire {p['port']}_tready",
                  f"    output wire {p['port']}_tlast"]
    L.append(",\n".join(ports))
    L += [");", ""]
    for w, info in d.wires.items():
        L += [f"  wire [{info['width'] - 1}:0] {w}_tdata;  // {info['tensor']}",
              f"  wire {w}_tvalid;", f"  wire {w}_tready;"]
    L.append("")
    for p in d.ports_in:
        w, width = p["wire"], d.wires[p["wire"]]["width"]
        L += [f"  assign {w}_tdata = {p['port']}_tdata[{width - 1}:0];",
              f"  assign {w}_tvalid = {p['port']}_tvalid;",
              f"  assign {p['port']}_tready = {w}_tready;"]
        if p["tdata_width"] > width:
            L.append(f"  wire unused_{p['port']} = &{{1'b0, {p['port']}_tdata"
                     f"[{p['tdata_width'] - 1}:{width}]}};")
    for p in d.ports_out:
        w, width = p["wire"], d.wires[p["wire"]]["width"]
        pad = p["tdata_width"] - width
        data = f"{{{pad}'d0, {w}_tdata}}" if pad else f"{w}_tdata"
        n = p["beats_per_frame"]
        cb = max(1, math.ceil(math.log2(n)))
        L += [f"  assign {p['port']}_tdata = {data};",
              f"  assign {p['port']}_tvalid = {w}_tvalid;",
              f"  assign {w}_tready = {p['port']}_tready;",
              f"  // TLAST on the last beat of every frame ({n} beats), for the DMA",
              f"  reg [{cb - 1}:0] {p['port']}_beat;",
              "  always @(posedge ap_clk)",
              f"    if (!ap_rst_n) {p['port']}_beat <= '0;",
              f"    else if ({p['port']}_tvalid && {p['port']}_tready)",
              f"      {p['port']}_beat <= ({p['port']}_beat == {cb}'d{n - 1}) ? '0 : "
              f"{p['port']}_beat + 1'b1;",
              f"  assign {p['port']}_tlast = ({p['port']}_beat == {cb}'d{n - 1});"]
    beats = " | ".join(f"({w}_tvalid & {w}_tready)" for w in d.wires) or "1'b0"
    L += ["  // A beat moves somewhere this cycle: the simulation watchdog's sign of life (nothing",
          "  // reads it in hardware, so synthesis removes it).",
          "  /* verilator lint_off UNUSEDSIGNAL */",
          f"  wire dbg_any_beat = {beats};",
          "  /* verilator lint_on UNUSEDSIGNAL */", ""]
    for inst in d.instances:
        params = ",\n".join(f"    .{k}({vlit(v)})" for k, v in inst.params.items())
        conns = ["    .clk(ap_clk)", "    .rst_n(ap_rst_n)"]
        for prefix, ws in inst.inputs:
            conns += _conn(prefix, ws, "in")
        for prefix, ws in inst.outputs:
            conns += _conn(prefix, ws, "out")
        L += [f"  // {inst.kind} {inst.node or ''}".rstrip(),
              f"  {inst.module} #(\n{params}\n  ) {inst.name} (", ",\n".join(conns), "  );", ""]
    L += ["endmodule", "", "`default_nettype wire", ""]
    return "\n".join(L)


def _conn(prefix: str, ws: list[str], direction: str) -> list[str]:
    def cat(sig):
        if len(ws) == 1:
            return f"{ws[0]}_{sig}"
        return "{" + ", ".join(f"{w}_{sig}" for w in reversed(ws)) + "}"
    return [f"    .{prefix}_tdata({cat('tdata')})", f"    .{prefix}_tvalid({cat('tvalid')})",
            f"    .{prefix}_tready({cat('tready')})"]


def module_closure(modules: set[str], library: dict[str, Path]) -> list[Path]:
    """The files of `library` (module name -> file) that `modules` need: their own and, as
    their texts instantiate others (`name #(` or `name (` at a line's start), those's."""
    need, todo = set(), list(modules)
    while todo:
        m = todo.pop()
        if m in need:
            continue
        if m not in library:
            raise RtlError(f"the RTL library has no module '{m}' ({HW_DIR / (m + '.sv')} "
                           "is missing)")
        need.add(m)
        text = library[m].read_text()
        todo += [o for o in library if o != m and re.search(rf"^\s*{o}\s*#?\s*\(", text, re.M)]
    return [library[m] for m in sorted(need)]


def library_sources(modules: set[str]) -> list[Path]:
    """The hw/ files an accelerator needs: its layers' modules and what they instantiate."""
    return module_closure(modules, {f.stem: f for f in HW_DIR.glob("*.sv")})


# -- register slices -------------------------------------------------------------------------

REGISTER_SLICE = "axis_register_slice"


def add_register_slices(d: Design, wires: list[str]) -> Design:
    """`d` with a register slice (hw/axis_register_slice.sv: tdata, tvalid and tready all
    registered, a beat per cycle, one cycle of latency) cutting each stream of `wires`
    between its producer and its consumer: no combinational path crosses it, and the stream
    carries the same beats in the same order."""
    d = Design([replace(i, inputs=list(i.inputs)) for i in d.instances],
               {w: dict(i) for w, i in d.wires.items()}, d.ports_in,
               [dict(p) for p in d.ports_out])
    for w in wires:
        if w not in d.wires:
            raise RtlError(f"no stream wire '{w}' to put a register slice on")
        info = d.wires[w]
        if info["producer"] is None or info["consumer"] is None:
            raise RtlError(f"stream wire '{w}' has no producer or consumer")
        nw = w + "_rs"
        if nw in d.wires:
            raise RtlError(f"stream wire '{w}' has a register slice already")
        name = "u_rs_" + w[2:] if w.startswith("w_") else "u_rs_" + w
        if any(i.name == name for i in d.instances):
            raise RtlError(f"instance name '{name}' of the register slice on '{w}' is taken")
        consumer = info["consumer"]
        d.wires[nw] = {**info, "producer": name}
        info["consumer"] = name
        inst = Instance(name, REGISTER_SLICE, {"WIDTH": info["width"]}, [("s_axis", [w])],
                        [("m_axis", [nw])], kind="register_slice")
        for i in d.instances:        # the consumer now reads the slice's output
            if i.name == consumer:
                i.inputs = [(prefix, [nw if x == w else x for x in ws])
                            for prefix, ws in i.inputs]
        for p in d.ports_out:
            if p["wire"] == w:
                p["wire"] = nw
        at = [k for k, i in enumerate(d.instances) if i.name == consumer]
        d.instances.insert(at[0] if at else len(d.instances), inst)
    return d


def write_rtl(g: HwGraph, out_dir: str | Path, register_slices: list[str] = ()) -> dict:
    """Write `out_dir`: the library files used, the ROM files, `accelerator.sv`,
    `filelist.f` and `accelerator.json`; `register_slices`: stream wires to cut with a
    register slice (add_register_slices). Returns the manifest."""
    out = Path(out_dir)
    d = build_design(g)
    if register_slices:
        d = add_register_slices(d, list(register_slices))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sources = []
    for f in library_sources({i.module for i in d.instances}):
        shutil.copy2(f, out / f.name)
        sources.append(f.name)
    mems = []
    for inst in d.instances:
        for fname, text in inst.mems.items():
            (out / fname).write_text(text)
            mems.append(fname)
    (out / f"{TOP}.sv").write_text(top_verilog(d))
    sources.append(f"{TOP}.sv")
    (out / "filelist.f").write_text("\n".join(sources) + "\n")
    manifest = {
        "top": TOP, "sources": sources, "memories": mems,
        "inputs": d.ports_in, "outputs": d.ports_out,
        "streams": [{"wire": w, **info} for w, info in d.wires.items()],
        "instances": [{"name": i.name, "module": i.module, "kind": i.kind, "node": i.node,
                       "params": {k: v for k, v in i.params.items()},
                       # as written in accelerator.sv (a Raw sized literal is not a string)
                       "param_literals": {k: vlit(v) for k, v in i.params.items()},
                       "lut_estimate": int(i.lut_estimate),
                       "inputs": [[p, ws] for p, ws in i.inputs],
                       "outputs": [[p, ws] for p, ws in i.outputs]}
                      for i in d.instances],
        "register_slices": [{"wire": w, "instance": next(
            i.name for i in d.instances if i.kind == "register_slice"
            and i.inputs == [("s_axis", [w])])} for w in register_slices],
    }
    (out / f"{TOP}.json").write_text(json.dumps(manifest, indent=1))
    return manifest
