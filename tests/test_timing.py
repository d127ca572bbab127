"""flow/measure/timing.py: the delay model on hand-made netlists (chains of LUTs, carry chains,
fan-out, DSP register configurations, a hierarchy against the same logic flat), the report's
flags and the register slices it asks for; and, with Yosys, every hw/ module's combinational
stream arcs against the table in flow/backends/stream_arcs.py, the XNOR popcount of a wide
SIMD meeting 100 MHz only when counted in groups, and an 8-bit lane's sum of 21 products
off the longest path on the UltraScale+ only in a registered adder tree."""
from __future__ import annotations

import math

import pytest

from flow.backends.stream_arcs import arcs
from flow.backends.stream_arcs import comb_chains
from flow.measure.timing import XC7
from flow.measure.timing import XCUP
from flow.measure.timing import ModuleTiming
from flow.measure.timing import analyze_module
from flow.measure.timing import analyze_netlist
from flow.measure.timing import fmax_mhz
from flow.measure.timing import port_groups
from flow.measure.timing import slices_for
from flow.measure.timing import timing_report

M = XC7

DIRS = {
    "FDRE": {"C": "input", "CE": "input", "D": "input", "R": "input", "Q": "output"},
    "LUT1": {"I0": "input", "O": "output"},
    "LUT2": {"I0": "input", "I1": "input", "O": "output"},
    "INV": {"I": "input", "O": "output"},
    "CARRY4": {"CI": "input", "CYINIT": "input", "DI": "input", "S": "input",
               "CO": "output", "O": "output"},
}


class Netlist:
    """A hand-made Yosys JSON module: cells connected by integer net bits."""

    def __init__(self):
        self.cells, self.ports, self.next = {}, {}, 10

    def net(self) -> int:
        self.next += 1
        return self.next

    def cell(self, name, ctype, dirs=None, params=None, **conns):
        self.cells[name] = {"type": ctype, "parameters": params or {},
                            "port_directions": dirs or DIRS[ctype],
                            "connections": {p: (v if isinstance(v, list) else [v])
                                            for p, v in conns.items()}}

    def port(self, name, direction, bits):
        self.ports[name] = {"direction": direction, "bits": bits}

    def ff(self, name, d, q, ce="1"):
        self.cell(name, "FDRE", C=[1], CE=[ce], D=[d], R=["0"], Q=[q])

    def json(self):
        return {"ports": self.ports, "cells": self.cells, "netnames": {}}


def lut_chain(n: int) -> Netlist:
    """FF -> n LUT1s -> FF."""
    nl = Netlist()
    a = nl.net()
    nl.ff("src", "0", a)
    for k in range(n):
        b = nl.net()
        nl.cell(f"lut{k}", "LUT1", I0=[a], O=[b])
        a = b
    nl.ff("dst", a, nl.net())
    return nl


@pytest.mark.parametrize("n", [1, 4, 9])
def test_lut_chain(n):
    mt = analyze_module("m", lut_chain(n).json(), {}, M)
    p = mt.internal
    want = M.ff_clk_q + n * (M.route(1) + M.lut) + M.route(1) + M.ff_setup_d
    assert p.delay == pytest.approx(want)
    assert p.levels == n and p.cells == {"FDRE": 2, "LUT1": n}
    assert p.start == "src/Q" and p.end == "dst/D"
    # with a clock margin the path allows this clock, no faster
    assert fmax_mhz(p.delay, M) == pytest.approx(1000 / (want + M.clock_margin))


def test_inverters_are_free_and_fanout_costs_routing():
    nl = Netlist()
    a, b, c = nl.net(), nl.net(), nl.net()
    nl.ff("src", "0", a)
    nl.cell("inv", "INV", I=[a], O=[b])            # folded into the LUT by Vivado
    nl.cell("lut", "LUT1", I0=[b], O=[c])
    for k in range(8):                              # fan-out 8 on the LUT's output
        nl.ff(f"dst{k}", c, nl.net())
    p = analyze_module("m", nl.json(), {}, M).internal
    want = M.ff_clk_q + M.route(1) + M.lut + M.route(8) + M.ff_setup_d
    assert p.delay == pytest.approx(want)
    assert M.route(8) == pytest.approx(M.route_base + 3 * M.route_per_log2_fanout)
    assert p.levels == 1


def test_carry_chain_ripple_and_length():
    nl = Netlist()
    q, s = nl.net(), nl.net()
    nl.ff("src", "0", q)
    nl.cell("lut", "LUT1", I0=[q], O=[s])
    ci = "0"
    outs = []
    for k in range(5):
        co = [nl.net() for _ in range(4)]
        o = [nl.net() for _ in range(4)]
        nl.cell(f"c{k}", "CARRY4", CI=[ci], CYINIT=["0"], DI=["0"] * 4,
                S=[s, "0", "0", "0"] if k == 0 else ["0"] * 4, CO=co, O=o)
        ci = co[3]
        outs = o
    nl.ff("dst", outs[3], nl.net())
    mt = analyze_module("m", nl.json(), {}, M)
    p = mt.internal
    want = (M.ff_clk_q + M.route(1) + M.lut + M.route(1) + M.carry_in_co
            + 3 * M.carry_ci_co + M.carry_ci_o + M.route(1) + M.ff_setup_d)
    assert p.delay == pytest.approx(want)        # CI is a dedicated wire: no routing
    assert mt.carry_chain == 5 and p.to_dict()["carry4"] == 5 and p.levels == 6


def dsp(regs: dict, mult=True):
    nl = Netlist()
    a, p = nl.net(), nl.net()
    nl.ff("src", "0", a)
    dirs = {"CLK": "input", "A": "input", "B": "input", "C": "input", "P": "output"}
    params = {k: format(v, "032b") for k, v in regs.items()}
    params["USE_MULT"] = "MULTIPLY" if mult else "NONE"
    nl.cell("dsp", "DSP48E1", dirs, params, CLK=[1], A=[a], B=["0"], C=["0"], P=[p])
    nl.ff("dst", p, nl.net())
    return analyze_module("m", nl.json(), {}, M)


def test_dsp_register_configurations():
    r0 = {"AREG": 0, "BREG": 0, "CREG": 0, "DREG": 0, "MREG": 0, "PREG": 0}
    # fully combinational: A through the multiplier to P, then to the fabric
    mt = dsp(r0)
    want = (M.ff_clk_q + M.route(1) + M.dsp_in_p_mult - M.ff_setup_d + M.route(1)
            + M.ff_setup_d)
    assert mt.internal.delay == pytest.approx(want) and mt.dsp_stages == 0
    assert mt.internal.to_dict()["dsp"] == 1
    # PREG only: the path into the DSP ends at its P register
    mt = dsp({**r0, "PREG": 1})
    assert mt.dsp_stages == 1
    ends = {mt.internal.end: mt.internal.delay}
    assert max(ends.values()) == pytest.approx(M.ff_clk_q + M.route(1) + M.dsp_in_p_mult)
    # all registers: A setup into AREG, and P leaves at the PREG's clock-to-out
    mt = dsp({**r0, "AREG": 1, "MREG": 1, "PREG": 1})
    assert mt.dsp_stages == 3
    assert mt.internal.delay == pytest.approx(max(
        M.ff_clk_q + M.route(1) + M.dsp_setup_reg,
        M.dsp_clk_p + M.route(1) + M.ff_setup_d))


def child_and_flat():
    """A child module (a register -> LUT -> out port; an in port -> LUT -> out port; an in
    port -> LUT -> register), two of them chained in a parent, and the same logic flat."""
    c = Netlist()
    i0, i1 = c.net(), c.net()
    c.port("a", "input", [i0])
    c.port("b", "input", [i1])
    q, x, y, z = c.net(), c.net(), c.net(), c.net()
    c.ff("r_out", "0", q)
    c.cell("l_out", "LUT1", I0=[q], O=[x])
    c.cell("l_comb", "LUT2", I0=[i0], I1=["0"], O=[y])
    c.cell("l_in", "LUT1", I0=[i1], O=[z])
    c.ff("r_in", z, c.net())
    c.port("x", "output", [x])
    c.port("y", "output", [y])
    dirs = {"a": "input", "b": "input", "x": "output", "y": "output"}
    p = Netlist()
    n1, n2 = p.net(), p.net()
    p.cell("u0", "child", dirs, a=["0"], b=["0"], x=[n1], y=[p.net()])
    p.cell("u1", "child", dirs, a=[n1], b=["0"], x=[p.net()], y=[n2])
    p.cell("u2", "child", dirs, a=["0"], b=[n2], x=[p.net()], y=[p.net()])
    # flat: u0's register -> LUT -> u1's comb LUT -> u2's input LUT -> register
    f = Netlist()
    a, b, cc, d = f.net(), f.net(), f.net(), f.net()
    f.ff("r", "0", a)
    f.cell("l1", "LUT1", I0=[a], O=[b])
    f.cell("l2", "LUT2", I0=[b], I1=["0"], O=[cc])
    f.cell("l3", "LUT1", I0=[cc], O=[d])
    f.ff("e", d, f.net())
    return c, p, f


def test_hierarchy_composes_like_the_flat_netlist():
    c, p, f = child_and_flat()
    models = analyze_netlist({"child": c.json(), "parent": p.json()}, M)
    child = models["child"]
    assert set(child.in_to_out) == {"a"} and set(child.in_to_out["a"]) == {"y"}
    assert set(child.reg_to_out) == {"x"} and set(child.in_to_reg) == {"b"}
    # one routing delay per connection: the output port is charged none
    assert child.reg_to_out["x"].delay == pytest.approx(M.ff_clk_q + M.route(1) + M.lut)
    parent = models["parent"].internal
    flat = analyze_module("flat", f.json(), {}, M).internal
    assert parent.delay == pytest.approx(flat.delay)
    assert parent.cells == flat.cells
    assert parent.start == "u0/r_out/Q" and parent.end == "u2/r_in/D"
    assert parent.through == ["u0:x", "u1:a->y", "u2:b"]
    # the model survives its JSON form
    again = ModuleTiming.from_dict(models["child"].to_dict())
    assert again.to_dict() == models["child"].to_dict()


def test_packed_stream_ports_split_per_stream():
    assert port_groups({"s_axis_tdata": 24, "s_axis_tvalid": 3, "s_axis_tready": 3,
                        "m_axis_tdata": 8, "m_axis_tvalid": 1, "clk": 1}) == {
        "s_axis_tdata": 3, "s_axis_tvalid": 3, "s_axis_tready": 3, "m_axis_tdata": 1,
        "m_axis_tvalid": 1, "clk": 1}


def test_unknown_cells_are_counted_not_ignored():
    nl = lut_chain(1)
    nl.cell("odd", "MYSTERY", {"X": "output"}, X=[nl.net()])
    assert analyze_module("m", nl.json(), {}, M).unknown_cells == {"MYSTERY": 1}


def test_ultrascale_is_faster():
    slow = analyze_module("m", lut_chain(6).json(), {}, XC7).internal.delay
    fast = analyze_module("m", lut_chain(6).json(), {}, XCUP).internal.delay
    assert fast < slow


def _fake_synth(top_paths, inst_delay):
    def path(d, through=(), nets=()):
        return {"delay_ns": d, "from": "a", "to": "b", "levels": 3, "luts": 3, "carry4": 0,
                "dsp": 0, "cells": {}, "through": list(through), "nets": list(nets)}
    return {"instances": {"u_a": {"kind": "threshold", "node": "a"},
                          "u_b": {"kind": "xnor_mvtu", "node": "b"}},
            "timing": {"model": M.name, "family": "xc7",
                       "instances": {"u_a": {"worst": path(inst_delay), "carry_chain": 1,
                                             "dsp_stages": 0},
                                     "u_b": {"worst": path(2.0), "carry_chain": 0,
                                             "dsp_stages": 0}},
                       "top": [path(*p) for p in top_paths], "ports": {},
                       "unknown_cells": {}}}


def test_report_flags_paths_over_the_period_and_follows_the_clock():
    synth = _fake_synth([(6.0, ["u_a:m_axis_tready->s_axis_tready"],
                          [["w_x_tready", 1.0], ["w_y_tready", 3.5]])], 4.0)
    rep = timing_report(synth, 100.0)
    assert rep["meets_clock"] and rep["worst_ns"] == 6.0 and not rep["flagged"]
    assert rep["fmax_mhz"] == pytest.approx(1000 / (6.0 + M.clock_margin), abs=0.1)
    assert rep["limited_by"] == "across modules"
    rep = timing_report(synth, 200.0)             # 5 ns: the path across modules is over
    assert not rep["meets_clock"] and len(rep["flagged"]) == 1
    assert rep["across_modules"][0]["comb_modules"] == 1
    rep = timing_report(synth, 250.0)             # 4 ns: the instance too
    assert [r["instance"] for r in rep["instances"] if r["over"]] == ["u_a"]


def test_slices_cut_the_path_where_it_halves_best():
    nets = [["w_x_tready", 0.4], ["w_y_tready", 3.0], ["w_z_tready", 5.5]]
    synth = _fake_synth([(6.0, ["u_a:m_axis_tready->s_axis_tready"], nets)], 1.0)
    manifest = {"streams": [{"wire": w} for w in ("w_x", "w_y", "w_z")]}
    rep = timing_report(synth, 200.0, manifest)
    assert rep["across_modules"][0]["wires"] == ["w_x", "w_y", "w_z"]
    assert slices_for(rep, synth, manifest) == {"w_y": 6.0}
    # a wire already cut is not cut again; a path within the period asks for nothing
    manifest["register_slices"] = [{"wire": "w_y"}]
    assert set(slices_for(rep, synth, manifest)) <= {"w_x", "w_z"}
    assert slices_for(timing_report(synth, 100.0, manifest), synth, manifest) == {}


def test_static_chains_follow_the_arcs_table():
    def inst(name, module, params, ins, outs):
        return {"name": name, "module": module, "params": params, "inputs": ins,
                "outputs": outs}
    # threshold -> threshold -> MVTU: a ready chain through both thresholds, none through the
    # MVTU, whose credits make its ready a register's (one output group or several)
    m = {"instances": [
        inst("u_t0", "threshold", {}, [["s_axis", ["w0"]]], [["m_axis", ["w1"]]]),
        inst("u_t1", "threshold", {}, [["s_axis", ["w1"]]], [["m_axis", ["w2"]]]),
        inst("u_m", "xnor_popcount_mvtu", {"COUT": 8, "PE": 8}, [["s_axis", ["w2"]]],
             [["m_axis", ["w3"]]]),
        inst("u_t2", "threshold", {}, [["s_axis", ["w3"]]], [["m_axis", ["w4"]]])]}
    chains = comb_chains(m)
    assert chains[0] == ["u_t1:m_axis_tready->s_axis_tready",
                         "u_t0:m_axis_tready->s_axis_tready"]
    assert ["u_t2:m_axis_tready->s_axis_tready"] in chains
    assert not any("u_m:" in hop for c in chains for hop in c)
    with pytest.raises(KeyError, match="stream_arcs.py"):
        arcs("no_such_module", {})


def test_models_are_plausible_against_the_data_sheets():
    # a 32-bit counter (a LUT and 8 CARRY4s between two flip-flops) runs near 300 MHz on a
    # 7-series -1 (Vivado reaches 300-350 MHz there) and clearly faster on UltraScale+ -2
    def counter(m):
        return (m.ff_clk_q + m.route(1) + m.lut + m.route(1) + m.carry_in_co
                + 6 * m.carry_ci_co + m.carry_ci_o + m.route(1) + m.ff_setup_d)
    assert 250 < fmax_mhz(counter(XC7), XC7) < 400
    assert fmax_mhz(counter(XCUP), XCUP) > 1.5 * fmax_mhz(counter(XC7), XC7)
    # DSP48E2 AREG -> multiplier -> PREG (a register's clock-to-out, then the unregistered
    # multiply) at DS925's FMAX_MULT_NOMREG (-2: 544 MHz)
    assert 1000 / (XCUP.dsp_clk_p + XCUP.dsp_in_p_mult) == pytest.approx(544, rel=0.05)
    assert math.isinf(fmax_mhz(0.0, XC7))


# -- with Yosys: the arcs table against the netlists ------------------------------------------

def _converter_chains(g):
    """Streams regrouped 2 -> 4 elements (a gather) and 4 -> 6 (a gearbox): width
    converters in the RTL."""
    from flow.hwgraph import HwNode
    from flow.hwgraph import HwTensor

    for name, c, pe_a, pe_b in (("g", 8, 2, 4), ("h", 12, 4, 6)):
        for t in ("in", "mid", "out"):
            g.add_tensor(HwTensor(f"{name}_{t}", (2, 3, c), "UINT4"))
        g.inputs.append(f"{name}_in")
        g.outputs.append(f"{name}_out")
        g.add_node(HwNode(f"{name}0", "fifo", [f"{name}_in"], [f"{name}_mid"],
                          {"depth": 2, "pe": pe_a}))
        g.add_node(HwNode(f"{name}1", "fifo", [f"{name}_mid"], [f"{name}_out"],
                          {"depth": 2, "pe": pe_b}))
    g.topo_sort()
    g.check()
    return g


def test_arcs_table_matches_the_netlists(tmp_path):
    from flow.backends.rtlgen import write_rtl
    from flow.measure.synth import synthesize
    from flow.measure.synth import yosys_missing
    from sim.graphs import mixed_graph

    why = yosys_missing()
    if why:
        pytest.skip(f"Yosys cannot run: {why}")
    g, _ = mixed_graph(copies=2, seed=0)        # MVTUs with one and with several groups
    g = _converter_chains(g)
    rtl = tmp_path / "rtl"
    manifest = write_rtl(g, rtl)
    one = next(s["wire"] for s in manifest["streams"] if s["consumer"] == "u_thr16")
    manifest = write_rtl(g, rtl, register_slices=[one])
    # UltraScale+: the random graph puts some FIFOs in UltraRAM (sim/graphs.py), which a
    # 7-series part has not; their arcs are checked with the others
    r = synthesize(rtl, "zynq-ultrascale+", tmp_path / "synth", cache_dir=tmp_path / "cache")
    modules = {i["module"] for i in manifest["instances"]}
    assert {"stream_width_converter", "axis_register_slice", "threshold",
            "xnor_popcount_mvtu", "int_mvtu", "add_saturating"} <= modules
    for inst in manifest["instances"]:
        got = {tuple(a) for a in r["timing"]["instances"][inst["name"]]["arcs"]}
        assert got == set(arcs(inst["module"], inst["params"])), (inst["name"], inst["params"])
    assert any(i["params"].get("ULTRA") for i in manifest["instances"])
    # the MVTUs, with one output group or several, have none (credits); thresholds have one
    mvtus = [i for i in manifest["instances"] if i["kind"] in ("xnor_mvtu", "int_mvtu")]
    assert {int(i["params"]["COUT"]) == int(i["params"]["PE"]) for i in mvtus} == {True, False}
    assert not any(arcs(i["module"], i["params"]) for i in mvtus)
    assert any(arcs(i["module"], i["params"]) for i in manifest["instances"]
               if i["kind"] == "threshold")


def test_synthesize_step_slices_paths_across_modules_that_exceed_the_clock(tmp_path):
    """The build's synthesize step on a skip-link graph: at 100 MHz nothing is over and no
    slice is put in; at 300 MHz some paths across modules are over, and register slices go into
    rtl/ on the streams that cut them (the other instances from the cache)."""
    import dataclasses
    import json

    from flow.backends.rtlgen import write_rtl
    from flow.boards import get_board
    from flow.measure.synth import yosys_missing
    from flow.pipeline.runner import BuildContext
    from flow.pipeline.steps import step_synthesize
    from sim.test_watchdog import skip_link_graph

    why = yosys_missing()
    if why:
        pytest.skip(f"Yosys cannot run: {why}")
    g = skip_link_graph()
    write_rtl(g, tmp_path / "rtl")

    def run(clock):
        board = dataclasses.replace(get_board("pynq-z2"), clock_mhz=clock)
        ctx = BuildContext(cfg=None, board=board, out_dir=tmp_path, weights="", model=g,
                           synth="yes")
        out = step_synthesize(ctx)
        return (out, json.loads((tmp_path / "synth" / "timing.json").read_text()),
                json.loads((tmp_path / "rtl" / "accelerator.json").read_text()))

    out, timing, manifest = run(100.0)
    assert out.status == "done" and timing["meets_clock"] and not timing["register_slices"]
    assert out.info["fmax_mhz"] == timing["fmax_mhz"] > 100
    assert not manifest["register_slices"]
    out, timing, manifest = run(300.0)
    cut = {s["wire"] for s in manifest["register_slices"]}
    assert cut and cut == {s["wire"] for s in timing["register_slices"]}
    assert out.info["register_slices"] == sorted(cut)
    assert any(i["kind"] == "register_slice" for i in manifest["instances"])
    synth = json.loads((tmp_path / "synth" / "synth.json").read_text())
    assert all(i["cached"] for i in synth["instances"].values()       # layers: from the cache
               if i["kind"] != "register_slice")
    assert not timing["meets_clock"]            # what slices cannot fix stays flagged


def _wide_xnor_mvtu():
    """hg-hpm-z2's widest binary conv: 3x3 over 96 channels (K 864) into 48, PE 2 x SIMD 48,
    its weights (41 Kibit) in block RAM."""
    import numpy as np

    from flow.hwgraph import HwGraph
    from flow.hwgraph import HwNode
    from flow.hwgraph import HwTensor

    g = HwGraph()
    g.add_tensor(HwTensor("x", (2, 2, 864), "BINARY"))
    g.add_tensor(HwTensor("y", (2, 2, 48), "UINT10"))
    g.inputs.append("x")
    g.outputs.append("y")
    w = np.random.default_rng(0).integers(0, 2, size=(48, 864)).astype(np.uint8)
    g.add_node(HwNode("conv", "xnor_mvtu", ["x"], ["y"], {"pe": 2, "simd": 48},
                      {"weights": w}))
    g.topo_sort()
    g.check()
    return g


def _worst_path(g, tmp_path, tag: str, family: str, clock_mhz: float, kind: str) -> dict:
    """The timing report's row of the one `kind` instance of `g`, synthesized by Yosys alone
    (skips without Yosys)."""
    from flow.backends.rtlgen import write_rtl
    from flow.measure.synth import synthesize
    from flow.measure.synth import yosys_missing

    why = yosys_missing()
    if why:
        pytest.skip(f"Yosys cannot run: {why}")
    manifest = write_rtl(g, tmp_path / tag / "rtl")
    r = synthesize(tmp_path / tag / "rtl", family, tmp_path / tag / "synth",
                   cache_dir=tmp_path / "cache")
    rep = timing_report(r, clock_mhz, manifest)
    (inst,) = [i for i in rep["instances"] if i["kind"] == kind]
    return inst


def test_wide_xnor_popcount_meets_100_mhz_only_in_groups(tmp_path, monkeypatch):
    """A popcount over 48 XNORs after a block RAM read is 12 logic levels, over 10 ns on the
    7-series -1; counted in registered groups (POPCOUNT_GROUP) it meets 100 MHz."""
    import flow.layers.xnor_mvtu as xnor_mvtu

    g = _wide_xnor_mvtu()

    def worst(tag):
        return _worst_path(g, tmp_path, tag, "xc7", 100.0, "xnor_mvtu")["delay_ns"]

    assert xnor_mvtu.POPCOUNT_GROUP < 48
    grouped = worst("grouped")
    # the one home of the group size: the generator and the adder tree's stages read it
    monkeypatch.setattr(xnor_mvtu, "POPCOUNT_GROUP", 48)
    whole = worst("whole")
    print(f"popcount paths: grouped {grouped} ns, whole {whole} ns")
    assert grouped < 10.0 - XC7.clock_margin < whole, (grouped, whole)


def _stem_int_mvtu():
    """hg-hpm-paper's stem on the ZCU104: 7x7x3 (K 147) into 64, uint8 pixels, PE 2 (of its
    16) x SIMD 21, a 21-bit accumulator: 21 products per lane and cycle."""
    import numpy as np

    from flow.hwgraph import HwGraph
    from flow.hwgraph import HwNode
    from flow.hwgraph import HwTensor

    g = HwGraph()
    g.add_tensor(HwTensor("x", (2, 2, 147), "UINT8"))
    g.add_tensor(HwTensor("y", (2, 2, 4), "INT21"))
    g.inputs.append("x")
    g.outputs.append("y")
    w = np.random.default_rng(0).integers(-128, 128, size=(4, 147)).astype(np.int8)
    g.add_node(HwNode("stem", "int_mvtu", ["x"], ["y"], {"pe": 2, "simd": 21},
                      {"weights": w}))
    g.topo_sort()
    g.check()
    return g


def test_lane_sums_leave_the_worst_path_only_in_a_registered_tree(tmp_path, monkeypatch):
    """21 products summed into the accumulator in one cycle (five adder levels and the
    accumulator's) are the unit's longest path and miss 200 MHz on the UltraScale+ -2 model;
    the same tree registered every second level (flow/layers/base.sum_stages) is no longer
    the longest path (the unit's stall enable is: see flow/README.md)."""
    import flow.layers.base as base

    g = _stem_int_mvtu()

    def worst(tag):
        return _worst_path(g, tmp_path, tag, "xcup", 200.0, "int_mvtu")

    def in_lane_sum(path):
        return "prod" in path["from"] or "u_sum" in path["from"] or path["to"].startswith("acc")

    assert base.sum_stages(21) == 2
    staged = worst("staged")
    monkeypatch.setattr(base, "sum_stages", lambda operands: 0)
    flat = worst("flat")
    print(f"worst paths: registered tree {staged['delay_ns']} ns ({staged['from']} -> "
          f"{staged['to']}), in one cycle {flat['delay_ns']} ns ({flat['from']} -> {flat['to']})")
    assert in_lane_sum(flat) and flat["delay_ns"] > 5.0 - XCUP.clock_margin, flat
    assert not in_lane_sum(staged) and staged["delay_ns"] < flat["delay_ns"], staged


def test_sum_stages_leave_the_accumulator_one_adder_at_most():
    """The rule the RTL's SUM_STAGES, the latency and the estimate read: a register after every
    second adder level, at most one level left in the accumulator's cycle; the tree's cost is
    one LUT per sum bit, one FF per registered sum bit."""
    from flow.layers.base import adder_tree_cost
    from flow.layers.base import sum_stages

    for n in range(1, 200):
        levels = math.ceil(math.log2(n)) if n > 1 else 0
        assert levels - 2 * sum_stages(n) in (0, 1), n
    assert [sum_stages(n) for n in (1, 2, 3, 4, 5, 8, 9, 16, 17, 21, 32, 33)] == \
        [0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3]
    # 4 operands of 4 bits: two 5-bit adders, one 6-bit adder registered at level 2
    cost = adder_tree_cost(4, 4, 12, 1)
    assert (cost.lut, cost.ff) == (2 * 5 + 6, 6)
    # widths stop at the sum's: 3 operands of 8 bits into 9
    cost = adder_tree_cost(3, 8, 9, 0)
    assert (cost.lut, cost.ff) == (9 + 9, 0)
