"""flow/measure/synth.py: Yosys synth_xilinx figures of generated RTL, per instance and for the top.

The figure tables and compare() are checked without Yosys; the rest synthesizes small random
graphs (sim/graphs.py) and one built here with a large weight ROM and FIFOs of three depths,
and is skipped, saying why, where Yosys cannot run. Instance by instance with a cache: the
figures equal one run of the whole design, identical instances are synthesized once, a
second run synthesizes nothing and a changed instance alone is synthesized again."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from flow.hwgraph import HwGraph
from flow.hwgraph import HwNode
from flow.hwgraph import HwTensor
from flow.backends.rtlgen import instance_name
from flow.backends.rtlgen import write_rtl
from flow.measure.synth import FIGURES
from flow.measure.synth import SynthError
from flow.measure.synth import compare
from flow.measure.synth import figures
from flow.measure.synth import layer_comparison
from flow.measure.synth import synthesize
from flow.measure.synth import synthesize_whole
from flow.measure.synth import yosys_missing
from sim.graphs import random_graph

WHY = yosys_missing()
needs_yosys = pytest.mark.skipif(WHY is not None, reason=f"Yosys cannot run: {WHY}")


# -- without Yosys -----------------------------------------------------------------------------

def test_figures_count_lutram_at_its_luts():
    f = figures({"LUT6": 3, "LUT1": 1, "INV": 2, "RAM32M": 2, "RAM64X1D": 1, "SRLC32E": 5,
                 "MUXF7": 4, "MUXF8": 1, "FDRE": 7, "FDSE": 1, "RAMB36E1": 1, "RAMB18E1": 3,
                 "DSP48E1": 2, "CARRY4": 6, "IBUF": 9})
    assert f["lut"] == 3 + 1 + 2 * 4 + 2 + 5      # MUXF7/8 and INV are not LUTs
    assert f["inv"] == 2
    assert f["lutram"] == 2 * 4 + 2 + 5
    assert (f["ff"], f["bram36"], f["dsp"], f["carry"]) == (8, 2.5, 2, 6)
    assert f["cells"]["IBUF"] == 9 and f["cells"]["MUXF7"] == 4
    u = figures({"RAM64M8": 1, "RAM32M16": 2, "RAMB36E2": 2, "RAMB18E2": 1, "DSP48E2": 1,
                 "CARRY8": 3, "URAM288": 1})
    assert (u["lut"], u["bram36"], u["dsp"], u["carry"], u["uram"]) == (24, 2.5, 1, 3, 1)


def test_compare():
    e = compare({"lut": 120, "ff": 50, "bram36": 1.0, "dsp": 0},
                {"lut": 100, "ff": 100, "bram36": 0.0, "dsp": 0, "carry": 4})
    assert e["lut"] == pytest.approx(0.2) and e["ff"] == pytest.approx(-0.5)
    assert e["bram36"] is None and e["dsp"] is None
    assert e["carry"] is None            # no estimate of carries


# -- with Yosys --------------------------------------------------------------------------------

def _synth(g, tmp_path, **kw):
    write_rtl(g, tmp_path / "rtl")
    return synthesize(tmp_path / "rtl", "zynq-7000", tmp_path / "synth",
                      cache_dir=tmp_path / "cache", **kw)


def _check_sums(r: dict, manifest: dict) -> None:
    """Every instance of accelerator.json is there, and instances + the top's own cells add
    up to the top total, figure by figure and cell type by cell type."""
    assert set(r["instances"]) == {i["name"] for i in manifest["instances"]}
    for f in FIGURES:
        total = sum(i[f] for i in r["instances"].values()) + r["top_own"][f]
        assert total == pytest.approx(r["top"][f]), f
    cells = dict(r["top_own"]["cells"])
    for i in r["instances"].values():
        for t, n in i["cells"].items():
            cells[t] = cells.get(t, 0) + n
    assert cells == r["top"]["cells"]


@needs_yosys
def test_xnor_mvtu_figures_add_up(tmp_path):
    g, _ = random_graph("xnor_mvtu", seed=0)
    r = _synth(g, tmp_path)
    manifest = json.loads((tmp_path / "rtl" / "accelerator.json").read_text())
    assert r["top"]["lut"] > 0 and r["top"]["ff"] > 0
    assert r["family"] == "xc7" and r["yosys_version"].startswith("Yosys")
    assert r["seconds"] > 0 and (tmp_path / "synth" / "yosys.log").is_file()
    assert r["cache"]["jobs"] == r["cache"]["misses"] == 3 and r["cache"]["hits"] == 0
    _check_sums(r, manifest)
    for n in g.nodes:
        inst = r["instances"][instance_name(n)]
        assert inst["kind"] == "xnor_mvtu" and inst["node"] == n.name
        assert inst["module"].endswith("xnor_popcount_mvtu")
        assert inst["lut"] > 0 and inst["ff"] > 0
    # the requantizer lane's multiply is a DSP (hw/requant_unit.sv)
    rq = [n for n in g.nodes if "rq_mul" in n.arrays]
    assert rq and all(r["instances"][instance_name(n)]["dsp"] == int(n.attrs["pe"])
                      for n in rq)
    # the written result is the returned one
    assert json.loads((tmp_path / "synth" / "synth.json").read_text()) == \
        json.loads(json.dumps(r))
    cmp = layer_comparison(g, r)
    assert [x["name"] for x in cmp["layers"]] == [n.name for n in g.nodes]
    assert cmp["kinds"]["xnor_mvtu"]["instances"] == len(g.nodes)
    # the build's report sets Yosys' figures beside the estimates, per layer and in total
    from flow.boards import get_board
    from flow.planning.folding import estimate
    from flow.measure.report import hardware_report

    rep = hardware_report(g, get_board("pynq-z2"), r)
    syn = rep["synthesis"]
    assert syn["top"] == r["top"] and syn["estimate"] == estimate(g).to_dict()
    assert syn["estimate_error"]["lut"] == pytest.approx(
        (syn["estimate"]["lut"] - r["top"]["lut"]) / r["top"]["lut"])
    assert syn["utilization"]["lut"] == pytest.approx(r["top"]["lut"] / 53200, abs=1e-4)
    for layer in rep["layers"]:
        inst = r["instances"][instance_name(g.node(layer["name"]))]
        assert layer["synth"]["lut"] == inst["lut"] and layer["synth"]["dsp"] == inst["dsp"]
        assert set(layer["synth_error"]) >= {"lut", "ff", "bram36", "dsp"}
    assert "synthesis" not in hardware_report(g, get_board("pynq-z2"))


def _module_figures(netlist: dict, module: str) -> dict:
    """Figures of `module` with its submodules, from a cached job netlist."""
    cells: dict[str, int] = {}

    def add(m: str) -> None:
        for c in netlist[m].get("cells", {}).values():
            if c["type"] in netlist:
                add(c["type"])
            else:
                cells[c["type"]] = cells.get(c["type"], 0) + 1
    add(module)
    return figures(cells)


@needs_yosys
def test_requantizer_estimate_in_both_table_layouts(tmp_path):
    """hw/requant_unit.sv by Yosys against flow/layers/requant.output_stage_cost, in the MVTUs
    of sim/graphs.requant_layouts (both parameter table layouts, random tables): the same
    DSPs and flip-flops, LUTs within 20 % (here: Yosys 98, 322, 209, 270 against 101, 332,
    211, 233; the 8-bit unit's 19-bit compare and clip are the furthest off)."""
    import gzip

    from flow.layers.requant import output_stage_cost
    from flow.layers.requant import seg_address
    from flow.layers.thresholding import output_stage_x_bits
    from sim.graphs import requant_layouts

    g, _ = requant_layouts()
    r = _synth(g, tmp_path)
    layouts = set()
    for n in g.nodes:
        pe, cout = int(n.attrs["pe"]), g.tensors[n.outputs[0]].channels
        layouts.add(seg_address(cout // pe))
        inst = r["instances"][instance_name(n)]
        netlist = json.loads(gzip.decompress(
            (tmp_path / "cache" / f"{inst['job']}.netlist.json.gz").read_bytes()))
        (module,) = [m for m in netlist if m.endswith("requant_unit")]
        got = _module_figures(netlist, module)
        est = output_stage_cost(n, g, output_stage_x_bits(n, g), pe, cout)
        assert (got["dsp"], got["ff"]) == (est.dsp, est.ff), n.name
        assert abs(est.lut - got["lut"]) <= 0.2 * got["lut"], (n.name, est.lut, got["lut"])
    assert layouts == {True, False}


def _add_fifo(g: HwGraph, name: str, shape: tuple, depth: int, pe: int) -> None:
    """A FIFO layer `name` of `depth` pixels from input `<name>_in` to output `<name>_out`."""
    g.add_tensor(HwTensor(f"{name}_in", shape, "INT8"))
    g.add_tensor(HwTensor(f"{name}_out", shape, "INT8"))
    g.inputs.append(f"{name}_in")
    g.outputs.append(f"{name}_out")
    g.add_node(HwNode(name, "fifo", [f"{name}_in"], [f"{name}_out"], {"depth": depth, "pe": pe}))


def _memories_graph() -> HwGraph:
    """An XNOR MVTU with a 64 Kibit weight ROM (1024 words of 64 bits) and FIFOs of 2048,
    32 and 3 words of 16 bits (128, 2 and 1 pixels)."""
    rng = np.random.default_rng(0)
    g = HwGraph()
    g.add_tensor(HwTensor("x", (1, 1, 1024), "BINARY"))
    g.add_tensor(HwTensor("y", (1, 1, 64), "UINT11"))
    g.inputs.append("x")
    g.outputs.append("y")
    g.add_node(HwNode("mvtu", "xnor_mvtu", ["x"], ["y"], {"pe": 2, "simd": 32},
                      {"weights": rng.integers(0, 2, size=(64, 1024)).astype(np.uint8)}))
    for name, depth_px in (("deep", 128), ("mid", 2), ("shallow", 1)):
        _add_fifo(g, name, (4, 4, 32 if depth_px > 1 else 6), depth_px, 2)
    g.topo_sort()
    g.check()
    return g


@needs_yosys
def test_rom_and_fifo_memories(tmp_path):
    g = _memories_graph()
    r = _synth(g, tmp_path)
    manifest = json.loads((tmp_path / "rtl" / "accelerator.json").read_text())
    _check_sums(r, manifest)
    params = {i["name"]: i["params"] for i in manifest["instances"]}
    assert params["u_deep"]["DEPTH"] == 2048 and params["u_mid"]["DEPTH"] == 32
    mvtu, deep, mid, shallow = (r["instances"][f"u_{n}"]
                                for n in ("mvtu", "deep", "mid", "shallow"))
    # What Yosys 0.23 does: the 64 Kibit $readmemh weight ROM (1024 x 64) becomes block RAM,
    # two RAMB36 (1024 x 36 each), not logic; the MVTU's LUT-RAM is its small memories
    # (RAM32M: input vector buffer, read-ahead FIFO) and the control's delay lines, which
    # have no enable (credits) and so become shift registers (SRL16E). (hg-hpm-tiny's ROMs,
    # 4.6 Kibit and less per lane, all become logic.) A 2048 x 16 FIFO takes one RAMB36;
    # FIFOs of 32 and 3 words distributed RAM: three RAM32M (6 bits each) for 16 bits, 12 LUTs.
    assert mvtu["cells"].get("RAMB36E1") == 2 and mvtu["bram36"] == 2.0
    assert mvtu["cells"].get("RAM32M", 0) * 4 + mvtu["cells"].get("SRL16E", 0) \
        == mvtu["lutram"] > 0
    assert deep["cells"].get("RAMB36E1") == 1 and deep["lutram"] == 0
    for fifo in (mid, shallow):
        assert fifo["bram36"] == 0 and fifo["cells"].get("RAM32M") == 3 and fifo["lutram"] == 12
    assert r["top"]["bram36"] == 3.0


@needs_yosys
def test_ultrascale_primitives(tmp_path):
    write_rtl(_memories_graph(), tmp_path / "rtl")
    r = synthesize(tmp_path / "rtl", "zynq-ultrascale+", tmp_path / "synth")
    assert r["family"] == "xcup"
    mvtu, deep, mid = (r["instances"][f"u_{n}"] for n in ("mvtu", "deep", "mid"))
    assert mvtu["cells"].get("RAMB36E2") == 2 and deep["cells"].get("RAMB36E2") == 1
    # UltraScale's 8-LUT distributed RAM: two RAM32M16 (14 bits each) for 16 bits
    assert mid["cells"].get("RAM32M16") == 2 and mid["lutram"] == 16
    assert r["top"]["bram36"] == 3.0 and r["top"]["carry"] > 0


def _uram_graph() -> HwGraph:
    """FIFOs that the folding would put in UltraRAM (ram_style "ultra"): 3 x 4096 + 1 words of
    64 bits, 2048 words of 96 bits, and a shallow one that stays a skid buffer."""
    g = HwGraph()
    for name, shape, pe, depth_px in (("tall", (1, 1, 8 * (3 * 4096 + 1)), 8, 1),
                                      ("wide", (16, 16, 96), 12, 8),
                                      ("skid", (4, 4, 8), 8, 2)):
        g.add_tensor(HwTensor(f"{name}_in", shape, "INT8"))
        g.add_tensor(HwTensor(f"{name}_out", shape, "INT8"))
        g.inputs.append(f"{name}_in")
        g.outputs.append(f"{name}_out")
        g.add_node(HwNode(name, "fifo", [f"{name}_in"], [f"{name}_out"],
                          {"depth": depth_px, "pe": pe, "ram_style": "ultra"}))
    g.topo_sort()
    g.check()
    return g


def _twin_fifos(depth_b: int) -> HwGraph:
    """Two FIFOs of the same shape (the same instance when `depth_b` is 8) and a third."""
    g = HwGraph()
    for name, depth in (("a", 8), ("b", depth_b), ("c", 3)):
        _add_fifo(g, name, (4, 4, 16), depth, 4)
    g.topo_sort()
    g.check()
    return g


@needs_yosys
def test_ultraram_fifos_map_to_uram288(tmp_path):
    """What the estimate counts (flow/layers/fifo.py) is what Yosys 0.23's synth_xilinx
    -family xcup makes of a FIFO with ram_style "ultra": URAM288 blocks of 4096 x 72, none
    of block RAM."""
    from flow.layers import layer_of

    g = _uram_graph()
    write_rtl(g, tmp_path / "rtl")
    r = synthesize(tmp_path / "rtl", "zynq-ultrascale+", tmp_path / "synth")
    manifest = json.loads((tmp_path / "rtl" / "accelerator.json").read_text())
    params = {i["name"]: i["params"] for i in manifest["instances"]}
    assert params["u_tall"]["ULTRA"] == 1 and params["u_tall"]["DEPTH"] == 3 * 4096 + 1
    tall, wide = r["instances"]["u_tall"], r["instances"]["u_wide"]
    assert tall["cells"].get("URAM288") == 4 and tall["uram"] == 4     # 4 deep, 64 of 72 bits
    assert wide["cells"].get("URAM288") == 2 and wide["uram"] == 2     # 96 bits: 2 wide
    for inst in (tall, wide):
        assert inst["bram36"] == 0
    for n in g.nodes:
        assert layer_of(n).estimate(n, g).uram == r["instances"][f"u_{n.name}"]["uram"]
    assert r["top"]["uram"] == 6


@needs_yosys
def test_yosys_maps_no_initialised_rom_to_ultraram(tmp_path):
    """Why weight ROMs never go to UltraRAM: UltraScale+ URAM contents cannot come from the
    bitstream, and Yosys 0.23 maps only zero-initialised memories there: a 4096 x 64 ROM
    marked ram_style "ultra" is refused ("no valid mapping found"); the same memory as a RAM
    becomes one URAM288."""
    words = np.random.default_rng(0).integers(0, 2**63, size=4096)
    (tmp_path / "rom.mem").write_text("".join(f"{int(w):016x}\n" for w in words))
    (tmp_path / "mem.sv").write_text("""
module rom_ultra (input logic clk, input logic [11:0] a, output logic [63:0] q);
  (* ram_style = "ultra" *) logic [63:0] mem [0:4095];
  initial $readmemh("rom.mem", mem);
  always_ff @(posedge clk) q <= mem[a];
endmodule
module ram_ultra (input logic clk, input logic we, input logic [11:0] wa, a,
                  input logic [63:0] d, output logic [63:0] q);
  (* ram_style = "ultra" *) logic [63:0] mem [0:4095];
  always_ff @(posedge clk) begin
    if (we) mem[wa] <= d;
    q <= mem[a];
  end
endmodule
""")
    runs = {}
    for top in ("rom_ultra", "ram_ultra"):
        runs[top] = subprocess.run(
            ["yosys", "-q", "-p", f"read_verilog -sv mem.sv; synth_xilinx -top {top} "
             f"-family xcup -noiopad; tee -o {top}.txt stat"],
            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    rom = runs["rom_ultra"]
    assert rom.returncode != 0 and "no valid mapping found for memory" in rom.stdout + rom.stderr
    assert runs["ram_ultra"].returncode == 0, runs["ram_ultra"].stderr[-2000:]
    stat = (tmp_path / "ram_ultra.txt").read_text()
    assert re.search(r"URAM288\s+1\b", stat) and "RAMB" not in stat


@needs_yosys
def test_instances_cached_and_composed_as_the_whole_design(tmp_path):
    rtl, cache = tmp_path / "rtl", tmp_path / "cache"
    write_rtl(_twin_fifos(8), rtl)
    r = synthesize(rtl, "zynq-7000", tmp_path / "synth", cache_dir=cache, workers=2)
    # identical instances once: u_a and u_b share a job
    assert r["cache"]["instances"] == 3 and r["cache"]["jobs"] == 2
    assert (r["cache"]["hits"], r["cache"]["misses"]) == (0, 2)
    assert r["instances"]["u_a"]["job"] == r["instances"]["u_b"]["job"]
    assert r["instances"]["u_a"]["cells"] == r["instances"]["u_b"]["cells"]
    manifest = json.loads((rtl / "accelerator.json").read_text())
    _check_sums(r, manifest)
    # the same figures as one run of the whole design, instance by instance: flip-flops,
    # memories, DSPs and carries exactly; LUTs up to ABC's mapping, which depends on the
    # order of the cells it is given (hg-hpm-tiny: 22,288 LUTs this way, 22,272 in one run)
    whole = synthesize_whole(rtl, "zynq-7000", tmp_path / "whole")
    assert set(whole["instances"]) == set(r["instances"])
    for name, f in list(whole["instances"].items()) + [("top", whole["top"])]:
        mine = r["top"] if name == "top" else r["instances"][name]
        assert {k: f[k] for k in ("ff", "bram36", "dsp", "carry", "lutram")} == \
            {k: mine[k] for k in ("ff", "bram36", "dsp", "carry", "lutram")}, name
        assert mine["lut"] == pytest.approx(f["lut"], rel=0.05, abs=3), name
    # a second run synthesizes nothing
    again = synthesize(rtl, "zynq-7000", tmp_path / "synth", cache_dir=cache)
    assert (again["cache"]["hits"], again["cache"]["misses"]) == (2, 0)
    assert again["cache"]["processes"] == 0 and again["top"] == r["top"]
    assert all(i["cached"] for i in again["instances"].values())
    # another folding (here a deeper FIFO b): only the instance that changed is synthesized
    write_rtl(_twin_fifos(32), rtl)
    changed = synthesize(rtl, "zynq-7000", tmp_path / "synth", cache_dir=cache)
    assert (changed["cache"]["hits"], changed["cache"]["misses"]) == (2, 1)
    assert [n for n, i in changed["instances"].items() if not i["cached"]] == ["u_b"]
    assert changed["instances"]["u_a"] == again["instances"]["u_a"]
    # and the timing of every instance and of the top comes with it
    t = changed["timing"]
    assert set(t["instances"]) == {"u_a", "u_b", "u_c"} and t["top"]
    assert all(i["worst"]["delay_ns"] > 0 for i in t["instances"].values())


@needs_yosys
def test_broken_rtl_raises_naming_the_log(tmp_path):
    g, _ = random_graph("fifo", seed=0)
    rtl = tmp_path / "rtl"
    write_rtl(g, rtl)
    work = tmp_path / "synth"
    work.mkdir()
    (work / "synth.json").write_text('{"top": "an older result"}')
    with open(rtl / "accelerator.sv", "a") as f:
        f.write("\nmodule broken (input wire a;\nendmodule\n")
    with pytest.raises(SynthError) as e:
        synthesize(rtl, "zynq-7000", work, cache_dir=tmp_path / "cache")
    assert str(e.value.log) in str(e.value)
    assert "ERROR" in str(e.value) and "accelerator.sv" in str(e.value)
    assert not (work / "synth.json").exists()       # no older result left looking current
    assert all(json.loads(p.read_text())["module"] != "accelerator"   # no broken top cached
               for p in (tmp_path / "cache").glob("*.json"))


@needs_yosys
def test_timeout_kills_yosys(tmp_path):
    g, _ = random_graph("xnor_mvtu", seed=0)
    with pytest.raises(SynthError, match="timed out after 1 s"):
        _synth(g, tmp_path, timeout=1)
    assert not (tmp_path / "synth" / "synth.json").exists()
    assert not list((tmp_path / "cache").glob("*.json"))      # nothing half-made cached
    # neither yosys nor its ABC child is left running on this work folder
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp_path / "synth") not in ps


def test_unknown_family_and_missing_rtl(tmp_path):
    with pytest.raises(ValueError, match="unknown family"):
        synthesize(tmp_path, "spartan", tmp_path / "w")
    if WHY is None:
        with pytest.raises(SynthError, match="filelist.f nor accelerator.json"):
            synthesize(tmp_path, "zynq-ultrascale+", tmp_path / "w")


def test_yosys_missing_names_the_reason(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda exe: None)
    assert "not on PATH" in yosys_missing()
