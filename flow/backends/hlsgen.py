"""HLS generator: a hardware graph -> `hls/` (the hls/ kernel library, parameter headers and
one DATAFLOW top function).

Every hardware layer becomes one call of its hls/ kernel template (hls/README.md), its folding
and integer parameters as template arguments, its weights and output-stage tables as `static
const` arrays in `params/<layer>.h`. A FIFO node becomes the depth of its stream (what a FIFO is
in HLS). Where a producer writes a different number of elements per word than its consumer
reads, a stream width converter is called in between. The top, `accelerator()`, has one AXI-
Stream argument per graph input and output, named like the RTL top's ports (`s_axis`/`m_axis`
when there is one of each; byte-padded tdata, TLAST on each frame's last word), `ap_ctrl_none`,
and processes one frame per call. `csim_tb.cpp` is its C simulation testbench and
`accelerator.json` describes its ports in the same form as the RTL backend's.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..hwgraph import HwGraph
from ..hwgraph import HwNode
from ..layers.thresholding import accumulator_bounds
from ..layers.thresholding import output_stage_x_bits
from .hwparams import output_stage
from ..layers import KINDS
from ..layers.base import bitwidth
from ..layers.fifo import ram_style as fifo_ram_style
from ..layers.width_converter import conversions_by_reader
from ..layers.width_converter import stream_elems
from .stream_format import port_info
from .stream_format import port_name

HLS_DIR = Path(__file__).resolve().parents[2] / "hls"
TOP = "accelerator"
# Library files every generated project carries besides the layers' own headers.
COMMON = ("binhg.hpp", "output_stage.hpp", "axis_ports.hpp", "stream_width_converter.hpp",
          "csim_io.hpp", "mvtu.hpp")
# Depth of a stream that has no FIFO node: a ping-pong pair of words.
DEFAULT_DEPTH = 2


class HlsError(ValueError):
    """A graph the HLS library cannot implement; the message names the node and why."""


def is_signed(g: HwGraph, tensor: str) -> bool:
    from qonnx.core.datatype import DataType

    return DataType[g.tensors[tensor].dtype].signed()


def c_ident(name: str) -> str:
    return re.sub(r"\W", "_", name)


def c_array(a: np.ndarray, fmt=str) -> str:
    """A nested brace initializer of an n-d array."""
    if a.ndim == 1:
        return "{" + ", ".join(fmt(v) for v in a) + "}"
    return "{" + ", ".join(c_array(x, fmt) for x in a) + "}"


def c_word(value: int, width: int) -> str:
    """A binhg::rom_word<width> constant: a plain literal up to 64 bits, else the hex-string
    form of ap_uint."""
    if width <= 64:
        return f"0x{value:x}"
    return f'ap_uint<{width}>("{value:x}", 16)'


def c_bool(v) -> str:
    return "true" if v else "false"


def _lanes(values: np.ndarray, pe: int) -> np.ndarray:
    """Per-channel rows [C, ...] -> [PE, C/PE, ...]: lane p of group nf is channel nf*PE + p."""
    c = values.shape[0]
    return np.moveaxis(values.reshape((c // pe, pe) + values.shape[1:]), 1, 0)


# -- parameter headers -----------------------------------------------------------------------

def weights_decl(node: HwNode, bits: int, name: str) -> str:
    """weights[p][nf*SF + sf] holds w[nf*PE + p, sf*SIMD + i] at element i."""
    w = node.arrays["weights"].astype(np.int64)
    cout, k = w.shape
    pe, simd = int(node.attrs.get("pe", 1)), int(node.attrs.get("simd", 1))
    mask = (1 << bits) - 1
    blocks = w.reshape(cout // pe, pe, k // simd, simd).transpose(1, 0, 2, 3)
    blocks = blocks.reshape(pe, -1, simd)
    width = simd * bits
    rows = []
    for lane in blocks:
        words = [sum((int(v) & mask) << (i * bits) for i, v in enumerate(tile)) for tile in lane]
        rows.append("  {" + ", ".join(c_word(x, width) for x in words) + "}")
    return (f"static const binhg::rom_word<{width}>::type {name}_weights[{pe}]"
            f"[{blocks.shape[1]}] = {{\n"
            + ",\n".join(rows) + "};\n")


def stage_decl(node: HwNode, g: HwGraph, name: str) -> str:
    """The output stage object `<name>_stage` (hls/output_stage.hpp)."""
    st = output_stage(node, *accumulator_bounds(node, g))
    pe = int(node.attrs.get("pe", 1))
    nf = g.tensors[node.outputs[0]].channels // pe
    if st.kind == "thresholds":
        t = c_array(_lanes(st.thresholds.astype(np.int64), pe))
        f = c_array(_lanes(st.flip.astype(np.int64), pe))
        return (f"static const binhg::Thresholds<{pe}, {nf}, {st.levels}, {st.t_bits}> "
                f"{name}_stage = {{\n  {t},\n  {f},\n  {st.base}}};\n")
    if st.kind == "requant":
        mul = c_array(_lanes(st.mul.astype(np.int64), pe))
        add = c_array(_lanes(st.add.astype(np.int64), pe))
        split = c_array(_lanes(st.split.astype(np.int64), pe))
        return (f"static const binhg::Requant<{pe}, {nf}, {st.mul_bits}, {st.add_bits}, "
                f"{st.split_bits}> {name}_stage = {{\n  {mul},\n  {add},\n  {split},\n  "
                f"{st.shift}, {st.out_min}, {st.out_max}}};\n")
    return f"static const binhg::PassThrough {name}_stage = {{}};\n"


# -- one emitter per layer kind: (kernel header, template arguments, parameter declarations) -

@dataclass
class Call:
    header: str
    kernel: str
    targs: list
    params: str = ""            # declarations for params/<name>.h
    args: tuple[str, ...] = ()  # extra arguments after the streams


def emit_xnor_mvtu(node, g, name):
    cout, k = node.arrays["weights"].shape
    return Call("xnor_popcount_mvtu.hpp", "xnor_popcount_mvtu",
                [node.attrs.get("pe", 1), node.attrs.get("simd", 1), k, cout,
                 g.tensors[node.outputs[0]].pixels, bitwidth(g, node.outputs[0])],
                weights_decl(node, 1, name) + stage_decl(node, g, name),
                (f"{name}_weights", f"{name}_stage"))


def emit_int_mvtu(node, g, name):
    cout, k = node.arrays["weights"].shape
    i = node.inputs[0]
    return Call("int_mvtu.hpp", "int_mvtu",
                [node.attrs.get("pe", 1), node.attrs.get("simd", 1), k, cout,
                 g.tensors[node.outputs[0]].pixels, bitwidth(g, i), c_bool(is_signed(g, i)),
                 output_stage_x_bits(node, g), bitwidth(g, node.outputs[0])],
                weights_decl(node, 8, name) + stage_decl(node, g, name),
                (f"{name}_weights", f"{name}_stage"))


def emit_threshold(node, g, name):
    i = node.inputs[0]
    t = g.tensors[i]
    return Call("threshold.hpp", "threshold",
                [node.attrs.get("pe", 1), bitwidth(g, i), c_bool(is_signed(g, i)), t.channels,
                 t.pixels, bitwidth(g, node.outputs[0])],
                stage_decl(node, g, name), (f"{name}_stage",))


def emit_sliding_window(node, g, name):
    h, w, c = g.tensors[node.inputs[0]].shape
    simd = int(node.attrs.get("simd", 1))
    rest = [bitwidth(g, node.inputs[0]), c, h, w, node.attrs["kernel"], node.attrs["stride"],
            *(int(v) for v in node.attrs["pad"]), node.attrs["pad_code"]]
    if simd > c:     # the parallel form: a pixel in, simd / c window pixels out per word
        return Call("sliding_window.hpp", "sliding_window_parallel", [simd // c, *rest])
    return Call("sliding_window.hpp", "sliding_window", [simd, *rest])


def emit_maxpool(node, g, name):
    h, w, c = g.tensors[node.inputs[0]].shape
    return Call("maxpool.hpp", "maxpool",
                [node.attrs.get("pe", 1), bitwidth(g, node.inputs[0]),
                 c_bool(is_signed(g, node.inputs[0])), c, h, w, node.attrs["kernel"]])


def emit_upsample(node, g, name):
    h, w, c = g.tensors[node.inputs[0]].shape
    return Call("upsample.hpp", "upsample",
                [node.attrs.get("pe", 1), bitwidth(g, node.inputs[0]), c, h, w,
                 node.attrs["factor"]])


def _words(g, tensor, pe):
    t = g.tensors[tensor]
    return t.pixels * t.channels // pe


def emit_add(node, g, name):
    a, b = node.inputs
    pe = int(node.attrs.get("pe", 1))
    return Call("add_saturating.hpp", "add_saturating",
                [pe, bitwidth(g, a), c_bool(is_signed(g, a)), bitwidth(g, b),
                 c_bool(is_signed(g, b)), bitwidth(g, node.outputs[0]), node.attrs["out_min"],
                 node.attrs["out_max"], _words(g, node.outputs[0], pe)])


def emit_concat(node, g, name):
    if not 2 <= len(node.inputs) <= 4:
        raise HlsError(f"node '{node.name}' (concat): {len(node.inputs)} inputs; the HLS "
                       "kernel joins 2 to 4")
    pe = int(node.attrs.get("pe", 1))
    return Call("concat.hpp", "concat",
                [pe * bitwidth(g, node.outputs[0]), g.tensors[node.outputs[0]].pixels,
                 *(g.tensors[i].channels // pe for i in node.inputs)])


def emit_slice_channels(node, g, name):
    pe = int(node.attrs.get("pe", 1))
    start, stop = int(node.attrs["start"]), int(node.attrs["stop"])
    if start % pe or stop % pe:
        raise HlsError(f"node '{node.name}' (slice_channels): channels [{start}, {stop}) "
                       f"do not fall on words of pe={pe}")
    t = g.tensors[node.inputs[0]]
    return Call("slice_channels.hpp", "slice_channels",
                [pe * bitwidth(g, node.inputs[0]), t.pixels, t.channels // pe, start // pe,
                 stop // pe])


def emit_duplicate(node, g, name):
    if not 2 <= len(node.outputs) <= 4:
        raise HlsError(f"node '{node.name}' (duplicate): {len(node.outputs)} outputs; the HLS "
                       "kernel feeds 2 to 4")
    pe = int(node.attrs.get("pe", 1))
    return Call("duplicate.hpp", "duplicate",
                [pe * bitwidth(g, node.inputs[0]), _words(g, node.inputs[0], pe)])


EMITTERS = {
    "xnor_mvtu": emit_xnor_mvtu, "int_mvtu": emit_int_mvtu, "threshold": emit_threshold,
    "sliding_window": emit_sliding_window, "maxpool": emit_maxpool, "upsample": emit_upsample,
    "add": emit_add, "concat": emit_concat, "slice_channels": emit_slice_channels,
    "duplicate": emit_duplicate,
}


# -- the dataflow top ------------------------------------------------------------------------

@dataclass
class Stream:
    name: str          # C++ variable
    tensor: str
    width: int
    elems: int
    depth: int = DEFAULT_DEPTH
    producer: str = ""
    consumer: str = ""
    impl: str = ""     # BIND_STORAGE implementation of a FIFO node's stream ("uram")


def build_top(g: HwGraph) -> tuple[str, dict[str, str], set[str], dict]:
    """-> (accelerator.cpp text, {params header name: text}, kernel headers used, manifest)."""
    g.check()
    streams: dict[str, Stream] = {}
    calls: list[str] = []
    params: dict[str, str] = {}
    headers: set[str] = set()

    def new_stream(tensor: str, elems: int, suffix: str = "") -> Stream:
        s = Stream("s_" + c_ident(tensor) + suffix, tensor, bitwidth(g, tensor) * elems, elems)
        if s.name in streams:
            raise HlsError(f"two streams map to the C++ name '{s.name}'; rename tensor "
                           f"'{tensor}'")
        streams[s.name] = s
        return s

    # the stream each tensor's producer writes; a FIFO's output is its input's stream (at the
    # FIFO's word width), deeper
    prod: dict[str, Stream] = {}
    ports_in, ports_out = [], []
    for k, x in enumerate(g.inputs):
        elems = stream_elems(g, x)
        prod[x] = new_stream(x, elems)
        prod[x].producer = port_name("s", k, len(g.inputs))
        ports_in.append(port_info(g, prod[x].producer, x, elems))
    for node in g.nodes:
        if node.kind == "fifo":
            continue
        for o in node.outputs:
            prod[o] = new_stream(o, stream_elems(g, o))
            prod[o].producer = node.name
    conversions = conversions_by_reader(g)

    def reader_stream(node: HwNode, j: int) -> Stream:
        """The stream `node` reads its input `j` from (through the converter
        flow/layers/width_converter.py lists for it, if any)."""
        tensor = node.inputs[j]
        s = prod[tensor]
        cv = conversions.get((node.name, j))
        if cv is not None:     # one converter regroups any ratio
            c = new_stream(tensor, cv.out_elems, "_wc")
            t = g.tensors[tensor]
            calls.append(f"    binhg::stream_width_converter<{cv.bits}, {cv.in_elems}, "
                         f"{cv.out_elems}, {t.pixels * t.channels}>({s.name}, {c.name});")
            s.consumer, c.producer = f"width converter to {c.name}", "width converter"
            s = c
        s.consumer = node.name
        return s

    for node in g.nodes:
        if node.kind == "fifo":
            s = reader_stream(node, 0)     # at the FIFO's word width
            s.depth = max(s.depth, KINDS["fifo"].words(node, g))
            if fifo_ram_style(node) == "ultra":
                s.impl = "uram"
            prod[node.outputs[0]] = s
            continue
        emit = EMITTERS.get(node.kind)
        if emit is None:
            raise HlsError(f"node '{node.name}': no HLS kernel for layer kind '{node.kind}'")
        name = c_ident(node.name)
        call = emit(node, g, name)
        headers.add(call.header)
        if call.params:
            params[f"{name}.h"] = call.params
        ins = [reader_stream(node, j).name for j in range(len(node.inputs))]
        outs = [prod[o].name for o in node.outputs]
        targs = ", ".join(str(int(a)) if isinstance(a, (int, np.integer)) else str(a)
                          for a in call.targs)
        args = ", ".join(ins + outs + list(call.args))
        calls.append(f"    // {node.kind} {node.name}\n"
                     f"    binhg::{call.kernel}<{targs}>({args});")

    for k, y in enumerate(g.outputs):
        prod[y].consumer = port_name("m", k, len(g.outputs))
        ports_out.append(port_info(g, prod[y].consumer, y, prod[y].elems))
    text = _top_text(streams, calls, params, ports_in, ports_out,
                     [prod[x] for x in g.inputs], [prod[y] for y in g.outputs])
    manifest = {"top": TOP, "inputs": ports_in, "outputs": ports_out,
                "streams": [{"name": s.name, "tensor": s.tensor, "width": s.width,
                             "elems": s.elems, "depth": s.depth, "impl": s.impl or "auto",
                             "producer": s.producer,
                             "consumer": s.consumer} for s in streams.values()]}
    return text, params, headers, manifest


def _signature(ports_in: list[dict], ports_out: list[dict]) -> str:
    return ", ".join(f"hls::stream<{TOP}_{p['port']}_t> &{p['port']}"
                     for p in ports_in + ports_out)


def _top_text(streams, calls, params, ports_in, ports_out, in_s, out_s) -> str:
    L = ["// Generated by flow/backends/hlsgen.py from the hardware graph: do not edit.",
         "// One call of an hls/ kernel per hardware layer (hls/README.md has the contracts).",
         f'#include "{TOP}.hpp"', ""]
    L += [f'#include "params/{h}"' for h in sorted(params)]
    L += ["", f"void {TOP}({_signature(ports_in, ports_out)}) {{"]
    L += [f"#pragma HLS INTERFACE axis port={p['port']}" for p in ports_in + ports_out]
    L += ["#pragma HLS INTERFACE ap_ctrl_none port=return", "#pragma HLS DATAFLOW", ""]
    for s in streams.values():
        L += [f'    hls::stream<ap_uint<{s.width}>> {s.name}("{s.tensor}");',
              f"#pragma HLS STREAM variable={s.name} depth={s.depth}"]
        if s.impl:
            L.append(f"#pragma HLS BIND_STORAGE variable={s.name} type=fifo impl={s.impl}")
    L.append("")
    for p, s in zip(ports_in, in_s):
        L.append(f"    binhg::axis_in<{p['tdata_width']}, {s.width}, {p['beats_per_frame']}>"
                 f"({p['port']}, {s.name});")
    L += calls
    for p, s in zip(ports_out, out_s):
        L.append(f"    binhg::axis_out<{s.width}, {p['tdata_width']}, {p['beats_per_frame']}>"
                 f"({s.name}, {p['port']});")
    L += ["", "#ifndef __SYNTHESIS__"]
    L += [f'    binhg::expect_drained({s.name}, "{s.tensor} ({s.producer} -> {s.consumer})");'
          for s in streams.values()]
    L += ["#endif", "}", ""]
    return "\n".join(L)


def _top_header(headers: set[str], ports_in: list[dict], ports_out: list[dict]) -> str:
    inc = [f'#include "{h}"' for h in ("binhg.hpp", "output_stage.hpp", "axis_ports.hpp",
                                       "stream_width_converter.hpp", *sorted(headers))]
    L = ["// Generated by flow/backends/hlsgen.py: the top function and its ports.",
         f"#ifndef {TOP.upper()}_HPP", f"#define {TOP.upper()}_HPP", "", *inc, ""]
    for p in ports_in + ports_out:
        last = ", TLAST on each frame's last word" if p in ports_out else ""
        L += [f"// {p['port']}: {p['tensor']} {p['shape']} {p['dtype']}, {p['elems']} per "
              f"word, {p['beats_per_frame']} words per frame{last}",
              f"typedef ap_axiu<{p['tdata_width']}, 0, 0, 0> {TOP}_{p['port']}_t;",
              f"constexpr int {TOP}_{p['port']}_tdata = {p['tdata_width']};",
              f"constexpr int {TOP}_{p['port']}_words = {p['beats_per_frame']};"]
    L += ["", f"void {TOP}({_signature(ports_in, ports_out)});", "", "#endif", ""]
    return "\n".join(L)


def _testbench(ports_in: list[dict], ports_out: list[dict]) -> str:
    """csim_tb.cpp: `csim <one hex file per input port> <one per output port>`."""
    n_in, n_out = len(ports_in), len(ports_out)
    L = ["// Generated by flow/backends/hlsgen.py: the C simulation testbench (flow/measure/hls_csim.py runs it).",
         f"//   csim {' '.join(p['port'] + '.hex' for p in ports_in + ports_out)}",
         "// Calls the top once per frame; hls/csim_io.hpp has the checks.",
         f'#include "{TOP}.hpp"', '#include "csim_io.hpp"', "",
         "int main(int argc, char **argv) {",
         f"    if (argc != {1 + n_in + n_out}) {{",
         f'        std::cerr << "usage: " << argv[0] << " '
         f'{" ".join(p["port"] + ".hex" for p in ports_in + ports_out)}\\n";',
         "        return 2;", "    }", "    size_t frames = 0, n = 0;"]
    for k, p in enumerate(ports_in):
        q = p["port"]
        L += [f'    const auto in_{q} = binhg::read_words(argv[{1 + k}], "{q}", '
              f"{TOP}_{q}_words, n);"]
        L += ["    frames = n;"] if k == 0 else [
              f'    if (n != frames) binhg::csim_fail("{q}", n, "not as many frames as '
              f'{ports_in[0]["port"]}");']
    L += [f"    std::ofstream out_{p['port']}(argv[{1 + n_in + k}]);"
          for k, p in enumerate(ports_out)]
    L += ["    for (size_t f = 0; f < frames; f++) {"]
    L += [f'        hls::stream<{TOP}_{p["port"]}_t> {p["port"]}("{p["port"]}");'
          for p in ports_in + ports_out]
    L += [f"        binhg::feed_frame({p['port']}, in_{p['port']}, f, {TOP}_{p['port']}_words);"
          for p in ports_in]
    L.append(f"        {TOP}({', '.join(p['port'] for p in ports_in + ports_out)});")
    L += [f'        binhg::check_consumed({p["port"]}, "{p["port"]}", f);' for p in ports_in]
    L += [f'        binhg::drain_frame({p["port"]}, out_{p["port"]}, "{p["port"]}", f, '
          f"{TOP}_{p['port']}_words);" for p in ports_out]
    L += ["    }", "    return 0;", "}", ""]
    return "\n".join(L)


def write_hls(g: HwGraph, out_dir: str | Path) -> dict:
    """Write `out_dir`: the kernel headers used, `params/*.h`, `accelerator.hpp/.cpp`, the C
    simulation testbench `csim_tb.cpp` and `accelerator.json`. Returns the manifest."""
    out = Path(out_dir)
    text, params, headers, manifest = build_top(g)
    if out.exists():
        shutil.rmtree(out)
    (out / "params").mkdir(parents=True)
    sources = sorted(set(COMMON) | headers)
    for f in sources:
        if not (HLS_DIR / f).is_file():
            raise HlsError(f"the HLS library has no '{f}' ({HLS_DIR / f} is missing)")
        shutil.copy2(HLS_DIR / f, out / f)
    for fname, decl in params.items():
        guard = "PARAMS_" + c_ident(fname).upper()
        (out / "params" / fname).write_text(
            "// Generated by flow/backends/hlsgen.py: weights and output-stage tables of one layer.\n"
            f"#ifndef {guard}\n#define {guard}\n\n#include \"../binhg.hpp\"\n"
            f"#include \"../output_stage.hpp\"\n\n{decl}\n#endif\n")
    (out / f"{TOP}.hpp").write_text(_top_header(headers, manifest["inputs"],
                                                manifest["outputs"]))
    (out / f"{TOP}.cpp").write_text(text)
    (out / "csim_tb.cpp").write_text(_testbench(manifest["inputs"], manifest["outputs"]))
    manifest["sources"] = [f"{TOP}.hpp", f"{TOP}.cpp"] + sources
    manifest["testbench"] = "csim_tb.cpp"
    manifest["params"] = sorted(f"params/{f}" for f in params)
    (out / f"{TOP}.json").write_text(json.dumps(manifest, indent=1))
    return manifest
